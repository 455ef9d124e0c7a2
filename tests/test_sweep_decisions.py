"""``ps_lbfgs/summarize.py --from-csv`` on a sweep-sized table of the 2024 form.

The table has what broke the summaries of the published sweeps: a variable
that changes nothing (history 3/10/100), stalled high-lr groups (final loss
identical across every max_iter x max_eval setting), one diverged
configuration at 1e16, MSE values, two hardware batches (lr 0.3 ran at half
speed) and 2000+ rows. The script runs as a script (``runpy``, its
``__main__``) so that the figures it draws can be checked as objects.
"""

from __future__ import annotations

import itertools
import runpy
import sys

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from plenexp.summary import figure_files
from ps_lbfgs import summarize
from tests import figure_checks as checks
from tests.test_summary_decisions import check_readable

REPO_SCRIPT = "ps_lbfgs/summarize.py"
IMAGES = {"fig4a": 2e-6, "fig16b": 5e-6}  # MSE-scaled final losses
SEEDS = (0, 1, 2)
LRS = (0.1, 0.3, 1, 2, 3)
HISTORIES = (3, 10, 100)
MAX_ITERS = (5, 10, 20, 40)
FRACTIONS = (0.5, 1.0, None)
SEARCHES = ("strong_wolfe", "")
STALLED_LRS = (2, 3)
SLOW_LR = 0.3
DIVERGED = dict(filename="fig4a", search_func="", learning_rate=1,
                LBFGS_max_iter=40, LBFGS_max_eval="")


def sweep_table() -> pd.DataFrame:
    """The table in the earlier study's column names."""
    rng = np.random.default_rng(0)
    rows, noise = [], {}
    for img, seed, lr, history, max_iter, fraction, search in itertools.product(
            IMAGES, SEEDS, LRS, HISTORIES, MAX_ITERS, FRACTIONS, SEARCHES):
        evals = max_iter * (1.25 if fraction is None else fraction)
        key = (img, seed, lr, max_iter, fraction, search)  # history: no effect
        noise.setdefault(key, (rng.uniform(0.95, 1.05), rng.uniform(0.9, 1.1)))
        n_loss, n_time = noise[key]
        if lr in STALLED_LRS:
            loss, iterations = 50 * IMAGES[img] * (1 + 0.1 * seed), 60
        else:
            loss = (IMAGES[img] * 40 / evals * (1.3 if not search else 1.0)
                    * (1 + abs(np.log10(lr))) * n_loss)
            iterations = int(200 + 20 * max_iter)
        row = dict(filename=img, search_func=search, learning_rate=lr,
                   LBFGS_max_iter=max_iter,
                   LBFGS_max_eval="" if fraction is None
                   else str(float(max(1, int(fraction * max_iter)))))
        if row == DIVERGED:
            loss = 1e16 * (1 + seed)
        per_iteration = 0.05 * evals * (2 if search else 1)
        seconds = iterations * per_iteration * n_time * (2 if lr == SLOW_LR else 1)
        rows.append({"index": 0, **row, "coarse_to_fine": False, "seed": seed,
                     "init_reduced": False, "LBFGS_history_size": history,
                     "synth_iter": iterations, "loss": loss,
                     "synth_duration": seconds + rng.uniform(0, 0.5)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    """Run the script once; keep its figures (as objects) and its text."""
    out = tmp_path_factory.mktemp("sweep")
    table = sweep_table()
    assert len(table) >= 2000
    csv = out / "all_loss_2024.csv"
    table.to_csv(csv, index=False)
    figures = {}
    real_save = figure_files.save

    def keep(fig, stem, *args, **kwargs):
        figures[str(stem)] = fig
        written = real_save(fig, stem, *args, **kwargs)
        FigureCanvasAgg(fig)  # saving closed it: a canvas to measure text on
        return written

    patch = pytest.MonkeyPatch()
    from plenexp import errors

    patch.setattr(errors, "_problems", 0)  # skips counted by earlier tests
    patch.setattr(figure_files, "save", keep)
    # drawn in this process, where the figures are kept for measuring
    patch.setattr(figure_files.FigureJobs, "side_by_side", False)
    patch.setattr(sys, "argv", [REPO_SCRIPT, "--from-csv", str(csv), "--loss",
                                "mse", "--output-dir", str(out / "summary")])
    try:
        runpy.run_path(REPO_SCRIPT, run_name="__main__")
    except SystemExit as exit_:
        assert exit_.code in (None, 0)
    finally:
        patch.undo()
    return dict(out=out / "summary", figures=figures,
                text=(out / "summary" / "summary.txt").read_text(),
                conclusion=(out / "summary" / "conclusion.txt").read_text())


def test_figures_are_split_readable_and_never_stretched(summary):
    figures = summary["figures"]
    cost = {k: f for k, f in figures.items() if "loss_vs_cost" in k}
    # history collapsed (not 3 x 20 = 60 panels): 2 images x 5 lr x 2 line
    # searches, one figure (the split itself: test_summary_decisions)
    (fig,) = cost.values()
    assert len(checks.data_axes(fig)) == len(IMAGES) * len(LRS) * len(SEARCHES)
    assert "history" not in " ".join(checks.panel_titles(fig))
    for stem, fig in figures.items():
        check_readable(fig)
        assert (summary["out"] / f"{stem.rsplit('/', 1)[-1]}.svg").exists()
    for stem, fig in cost.items():
        for ax in checks.data_axes(fig):
            low, high = ax.get_ylim()
            assert high < 1e-2, (stem, ax.get_title(), high)  # not the 1e16
        assert "(MSE)" in " ".join(ax.get_ylabel() for ax in fig.axes)
        for ax in checks.data_axes(fig):  # stalled: at the edge and counted
            if any(f"lr={lr}," in ax.get_title() for lr in STALLED_LRS):
                assert any("stalled" in t.get_text() for t in ax.texts), ax.get_title()
    notes = [t.get_text() for fig in cost.values() for ax in fig.axes
             for t in ax.texts]
    # the diverged configuration: its 9 runs (3 seeds x 3 histories) at the edge
    assert any("diverged" in n and n.startswith("9 runs > ") for n in notes), notes
    assert any(k.endswith("overview") for k in figures)


def test_text_names_the_no_op_the_stalls_and_the_recommendation(summary):
    text, conclusion = summary["text"], summary["conclusion"]
    for part in (text, conclusion):
        assert "history 3/10/100 gave identical results" in part
        assert "stalled" in part and "fig4a: what to use" in part
        assert "within " in part and "over 9 seeds" in part
        assert "plenoptic's published guidance" in part
        assert "highpass_weight not recorded" in part
    assert "loss read as mse (--loss mse)" in text
    assert "L2 = sqrt(n x MSE)" in text and "n=710" in text
    assert "loss criterion only" in text and "not ranked" in text
    assert "differ" in text and "between levels of lr" in text
    assert "normalized to the typical speed" in text
    assert "diverged" in text


def test_stalled_and_diverged_are_off_the_front_and_success(summary):
    out = summary["out"]
    front = pd.read_csv(out / "pareto.csv")
    assert set(front["img"]) == set(IMAGES)
    assert not front["lr"].isin(STALLED_LRS).any()
    assert (front["status"] == "ok").all() and (front["loss"] < 1).all()
    configs = pd.read_csv(out / "configurations.csv")
    stuck = configs[configs["lr"].isin(STALLED_LRS)]
    assert len(stuck) and (stuck["status"] == "stalled").all()
    success = pd.read_csv(out / "success.csv")
    assert not success["lr"].isin(STALLED_LRS).any()
    # success on the L2 scale: sqrt(710 x MSE) <= 0.1 for these small MSEs
    assert (success["share"] == 1).any()
    timing = (out / "timing.txt").read_text()
    assert "between levels of lr" in timing


def test_l2_conversion_matches_plenoptic():
    """MSE = L2^2 / n with n the values of plenoptic's PS representation."""
    torch = pytest.importorskip("torch")
    import plenoptic as po

    from plenexp.synth import synthesis

    image = torch.rand(1, 1, 128, 128)
    other = torch.rand(1, 1, 128, 128)
    for scales, n in summarize.PS_STATISTICS.items():
        model = synthesis.make_model(image, scales)
        a, b = model(image), model(other)
        assert a.numel() == n
        mse, l2 = float(po.loss.mse(a, b)), float(po.loss.l2_norm(a, b))
        assert l2 == pytest.approx((n * mse) ** 0.5, rel=1e-4)
