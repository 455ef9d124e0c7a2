"""plenexp.summary decisions on a sweep-sized table: no-ops, stalls, clipping, advice.

The synthetic table has what broke the summaries of the 2024 sweeps: a
variable that changes nothing (``history``), stalled high-lr groups (final
loss identical across every max_iter x max_eval setting), one diverged
configuration at 1e16, MSE-scaled losses, two hardware batches (lr 0.3 ran
at half speed) and 2000+ rows. Column names are this test's own: nothing in
``plenexp.summary`` may assume them.
"""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from plenexp.summary import decisions, facet_grid, facets, overview, timing_report
from tests import figure_checks as checks

IMAGES = {"img_a": 2e-6, "img_b": 5e-6}  # MSE-scaled final losses
SEEDS = (0, 1, 2)
LRS = (0.1, 0.3, 1, 2, 3)
HISTORIES = (3, 10, 100)
MAX_ITERS = (5, 10, 20, 40)
FRACTIONS = (0.5, 1.0, "None")
SEARCHES = ("strong_wolfe", "None")
VARIABLES = ["line_search", "lr", "history", "max_iter", "max_eval"]
BUDGET = ["max_iter", "max_eval"]
COST = ["max_iter", "max_eval", "history", "line_search"]
DIVERGED = dict(img="img_a", line_search="None", lr=1, max_iter=40, max_eval="None")
STALLED_LRS = (2, 3)
SLOW_LR = 0.3  # the second hardware batch: twice the seconds per iteration


def sweep_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    noise = {}
    for img, seed, lr, history, max_iter, fraction, search in itertools.product(
            IMAGES, SEEDS, LRS, HISTORIES, MAX_ITERS, FRACTIONS, SEARCHES):
        evals = max_iter * (1.25 if fraction == "None" else fraction)
        # the same for every history: history changes nothing
        key = (img, seed, lr, max_iter, fraction, search)
        noise.setdefault(key, (rng.uniform(0.95, 1.05), rng.uniform(0.9, 1.1)))
        n_loss, n_time = noise[key]
        if lr in STALLED_LRS:  # stuck near the start, whatever the budget
            loss = 50 * IMAGES[img] * (1 + 0.1 * seed)
            iterations = 60
        else:
            loss = (IMAGES[img] * 40 / evals * (1.3 if search == "None" else 1.0)
                    * (1 + abs(np.log10(lr))) * n_loss)
            iterations = int(200 + 20 * max_iter)
        config = dict(img=img, line_search=search, lr=lr, max_iter=max_iter,
                      max_eval=str(fraction))
        if config == DIVERGED:
            loss = 1e16 * (1 + seed)
        per_iteration = 0.05 * evals * (2 if search == "strong_wolfe" else 1)
        seconds = iterations * per_iteration * n_time * (2 if lr == SLOW_LR else 1)
        rows.append({**config, "seed": seed, "history": history,
                     "final_loss": loss, "steps": iterations,
                     "seconds": seconds + rng.uniform(0, 0.5)})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def table():
    frame = sweep_table()
    assert len(frame) >= 2000
    return frame


@pytest.fixture(scope="module")
def decided(table):
    """The whole decision chain, as an experiment's summary runs it."""
    no_ops = decisions.no_op_variables(table, VARIABLES, loss="final_loss",
                                       image="img", iterations="steps", seed="seed")
    frame = decisions.collapse(table, no_ops)
    status = decisions.classify_runs(frame, loss="final_loss", image="img",
                                     variables=VARIABLES, budget_variables=BUDGET,
                                     seed="seed")
    config = ["img", *facets.varying(frame, VARIABLES)]
    agg = decisions.aggregate(frame, config, ["final_loss", "seconds", "steps"],
                              status)
    return dict(no_ops=no_ops, frame=frame, status=status, agg=agg, config=config)


def test_no_op_variable_is_named_and_collapsed(decided):
    no_ops = decided["no_ops"]
    assert [op.variable for op in no_ops] == ["history"]
    groups = len(IMAGES) * len(SEEDS) * len(LRS) * len(MAX_ITERS) * len(
        FRACTIONS) * len(SEARCHES)
    assert no_ops[0].statement.startswith(
        f"history 3/10/100 gave identical results (final final_loss and steps) "
        f"in all {groups} group(s)")
    assert "collapsed" in no_ops[0].statement
    assert "history" not in facets.varying(decided["frame"], VARIABLES)
    assert set(decided["agg"]["n"]) <= {len(SEEDS) * len(HISTORIES)}


def test_stalled_and_diverged_runs_are_found_and_kept_off_the_front(decided):
    frame, status, agg = decided["frame"], decided["status"], decided["agg"]
    stalled = status["status"] == decisions.STALLED
    assert set(frame.loc[stalled, "lr"]) == set(STALLED_LRS)
    assert stalled.sum() == (frame["lr"].isin(STALLED_LRS)).sum()
    diverged = frame[status["status"] == decisions.DIVERGED]
    assert len(diverged) == len(SEEDS) * len(HISTORIES)
    assert (diverged["final_loss"] >= 1e16).all()
    on = decisions.front(agg, "seconds", "final_loss", by=["img"])
    assert on.any()
    assert not agg.loc[on, "lr"].isin(STALLED_LRS).any()
    assert (agg.loc[on, "status"] == "ok").all()
    # the stalled runs are the fastest: without the status they lead the front
    plain = facets.pareto_front(agg, "seconds", "final_loss", by=["img"])
    first = agg[plain].sort_values("seconds").groupby("img").head(1)
    assert first["lr"].isin(STALLED_LRS).all()
    lines = decisions.status_text(status, frame, VARIABLES, "img")
    assert lines[0].startswith(f"{int(stalled.sum())} of {len(frame)} run(s) stalled")
    assert "identical across every max_iter/max_eval setting" in lines[0]
    assert any("diverged" in line for line in lines)


def test_recommendation_per_image_in_words(decided):
    agg = decided["agg"]
    recs = decisions.recommend(agg, variables=VARIABLES, loss="final_loss",
                               time="seconds", image="img")
    images = {r.image for r in recs}
    assert images == set(IMAGES)
    for rec in recs:
        assert rec.best["lr"] not in STALLED_LRS
        within = agg[(agg["img"] == rec.image) & (agg["seconds"] <= rec.budget)
                     & (agg["status"] == "ok")]
        assert rec.loss == within["final_loss"].min()
        assert rec.loss_min <= rec.loss <= rec.loss_max
    text = decisions.recommendation_text(recs)
    assert text[0] == "img_a: what to use"
    assert any(line.startswith("  within ") and " s: " in line for line in text)
    assert any(f"over {len(SEEDS) * len(HISTORIES)} seeds" in line for line in text)
    # the largest budget: lr 0.3 and 1 reach the same loss band -> a tie
    budgets = decisions.time_budgets(agg, time="seconds", loss="final_loss",
                                     image="img")
    assert all(1 <= len(b) <= 3 for b in budgets.values())


def test_ties_are_said_as_ties():
    agg = pd.DataFrame({"img": ["x"] * 3, "a": [1, 2, 3], "loss": [1.0, 1.05, 2.0],
                        "loss_min": [0.9, 0.95, 1.9], "loss_max": [1.1, 1.2, 2.1],
                        "t": [10.0, 10.0, 10.0], "n": [3, 3, 3], "status": "ok"})
    (rec,) = decisions.recommend(agg, variables=["a"], loss="loss", time="t",
                                 image="img", budgets={"x": [10]})
    assert rec.best == {"a": 1} and [t["a"] for t in rec.ties] == [2]
    (line,) = decisions.recommendation_text([rec])[1:]
    assert "a=1" in line and "tied with a=2" in line and "a=3" not in line


def test_guidance_against_the_front(decided):
    guidance = {"line_search": "strong_wolfe", "lr": 1, "max_iter": 10,
                "max_eval": 1.0, "history": 100, "highpass_weight": 100}
    results = decisions.guidance_comparison(
        decided["agg"], guidance, loss="final_loss", time="seconds", image="img",
        variables=VARIABLES, frame=decided["frame"])
    assert [r.image for r in results] == list(IMAGES)
    for result in results:
        assert result.found and result.ratio >= 1.0
        assert "highpass_weight" in result.statement  # not in the table: said
        assert ("x the time of the front at equal loss" in result.statement
                or "on the front" in result.statement)
    missing = decisions.guidance_comparison(
        decided["agg"], {"lr": 7}, loss="final_loss", time="seconds", image="img",
        variables=VARIABLES)
    assert not missing[0].found and "lr=7 never ran" in missing[0].statement


def test_success_without_representation_error_is_loss_criterion_only(decided):
    table, lines = decisions.success_ranking(
        decided["frame"], decided["config"], loss="final_loss", time="seconds",
        status=decided["status"])
    assert lines[0].startswith("success: loss criterion only")
    assert table["n_success"].sum() > 0
    assert any("not ranked: no trajectories" in line for line in lines)
    assert table["ranked"].isna().all()
    # nothing reaches it: said so, not blamed on missing trajectories
    failed = decided["frame"].assign(final_loss=1.0)
    _, lines = decisions.success_ranking(
        failed, decided["config"], loss="final_loss", time="seconds",
        status=decided["status"])
    assert "  not ranked: no run reaches it" in lines
    # with trajectories' times to reach it, the ranking is by them
    frame = decided["frame"]
    frame = frame.assign(seconds_to_success_loss=frame["seconds"] / 2)
    table, lines = decisions.success_ranking(
        frame, decided["config"], loss="final_loss", time="seconds",
        status=decided["status"])
    assert table["ranked"].notna().any()
    assert any("fastest to reach it" in line for line in lines)
    ranked = table.dropna(subset=["ranked"])
    assert not ranked["lr"].isin(STALLED_LRS).any()


def test_two_hardware_batches_are_reported(table):
    differences = timing_report.speed_differences(
        table, time="seconds", variables=VARIABLES, config_columns=COST,
        iterations="steps", image="img")
    assert [d.column for d in differences] == ["lr"]
    (diff,) = differences
    assert 1.7 < diff.ratio < 2.3
    assert diff.factors["0.3"] == max(diff.factors.values())
    text = timing_report.report(table, COST, variables=VARIABLES, time="seconds",
                                iterations="steps", image="img")
    assert "differ" in text and "between levels of lr" in text
    assert "lr" in timing_report.speed_note(differences)
    normalized = timing_report.normalized_time(table, diff, "seconds")
    again = timing_report.speed_differences(
        table.assign(seconds=normalized), time="seconds", variables=VARIABLES,
        config_columns=COST, iterations="steps", image="img")
    assert again == []


# ------------------------------------------------------------------ figures


def text_px_at(fig, text, shown_px: float = 1400.0) -> float:
    """Font height of ``text`` in pixels when the saved PNG is ``shown_px`` wide."""
    return text.get_fontsize() / 72 * shown_px / fig.get_figwidth()


def all_texts(fig):
    return checks._texts(fig)


def check_readable(fig, max_panels: int = facet_grid.MAX_PANELS) -> None:
    axes = checks.data_axes(fig)
    assert 0 < len(axes) <= max_panels, len(axes)
    small = [(t.get_text(), round(text_px_at(fig, t), 1)) for t in all_texts(fig)
             if text_px_at(fig, t) < 8.0]
    assert not small, small
    checks.check_no_text_overlap(fig)
    checks.check_legends_outside(fig)
    checks.check_one_image_per_panel(fig)
    checks.check_aspect(fig)


def test_big_table_splits_into_readable_figures(decided, table, tmp_path):
    # without collapsing: 2 images x 5 lr x 2 line searches x 3 histories
    agg = decisions.aggregate(table, ["img", *VARIABLES], ["final_loss", "seconds"])
    enc = facets.choose_encoding(agg, ["max_eval", "max_iter", "lr", "line_search",
                                       "history"], image="img")
    assert facet_grid.n_panels(agg, enc) > facet_grid.MAX_PANELS
    parts = facet_grid.split_for_reading(agg, enc)
    assert len(parts) > 1
    assert all(facet_grid.n_panels(p, enc) <= facet_grid.MAX_PANELS
               for _, _, p in parts)
    assert parts[0][0].startswith("_img_a_lr-")
    written = facet_grid.write_figures(agg, "seconds", "final_loss", enc,
                                       tmp_path / "loss_vs_cost", title="sweep",
                                       front=True)
    stems = {p.stem for p in written}
    assert {p.suffix for p in written} == {".png", ".svg"}
    assert len(written) == 2 * len(parts) and len(stems) == len(parts)


def test_clipped_points_never_set_the_axis(decided):
    agg = decided["agg"]
    enc = facets.choose_encoding(agg, ["max_eval", "max_iter", "lr", "line_search"],
                                 image="img")
    part = agg[agg["img"] == "img_a"]
    fig = facet_grid.scatter_grid(part, "seconds", "final_loss", enc, front=True,
                                  title="img_a")
    check_readable(fig)
    checks.check_tick_labels(fig)
    bulk = part.loc[part["status"] == "ok", "final_loss"]
    for ax in checks.data_axes(fig):
        low, high = ax.get_ylim()
        assert high < 100 * bulk.max() and low > bulk.min() / 100
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    runs = len(SEEDS) * len(HISTORIES)
    assert any("diverged" in n and n.startswith(f"{runs} runs > ") for n in notes), \
        notes
    legend = sum(checks.legend_sections(fig).values(), [])
    assert any("stalled or diverged" in e for e in legend)
    assert any("beyond the axis" in e for e in legend)
    plt.close(fig)


def test_overview_front_and_effects(decided, tmp_path):
    agg = decided["agg"]
    fig = overview.overview_figure(agg, variables=VARIABLES, loss="final_loss",
                                   time="seconds", image="img", title="sweep",
                                   note="a note")
    n_vars = len([v for v in facets.varying(agg, VARIABLES) if v != "img"])
    assert len(checks.data_axes(fig)) == len(IMAGES) * (1 + n_vars)
    check_readable(fig)
    titles = checks.panel_titles(fig)
    assert "img_a | front" in titles and "img_b | effect of lr" in titles
    for ax in checks.data_axes(fig):
        high = ax.get_ylim()[1]
        assert high < 1e-2  # never stretched to the diverged 1e16
    plt.close(fig)
    written = overview.write_overview(agg, tmp_path / "overview",
                                      variables=VARIABLES, loss="final_loss",
                                      time="seconds", image="img")
    assert sorted(p.name for p in written) == ["overview.png", "overview.svg"]


def test_bulk_limits_ignore_outliers():
    from plenexp.summary import axis_ticks

    values = np.concatenate([np.geomspace(1e-5, 1e-1, 50), [1e16]])
    low, high = axis_ticks.bulk_limits(values, log=True)
    assert low < 1e-5 and 1e-1 < high < 1
    assert axis_ticks.bulk_fence(values[:3], log=True) == (-np.inf, np.inf)


def test_decide_runs_the_whole_chain(table):
    result = decisions.decide(table, variables=VARIABLES, loss="final_loss",
                              time="seconds", image="img", seed="seed",
                              iterations="steps", budget_variables=BUDGET,
                              guidance={"lr": 1, "line_search": "strong_wolfe"})
    text = "\n".join(result.lines)
    assert text.startswith("history 3/10/100 gave identical results")
    assert "stalled" in text and "img_a: what to use" in text
    assert "the published guidance (lr=1, line_search=strong_wolfe)" in text
    assert not result.agg.loc[result.on_front, "lr"].isin(STALLED_LRS).any()


def test_host_spreads_of_identical_configurations():
    """Seconds per step on several hosts: one row per configuration seen on two
    or more, the largest spread first; a run without a host is no host."""
    from plenexp.summary import timing_report

    runs = pd.DataFrame({
        "img": ["a", "a", "a", "b", "b", "c"],
        "host": ["fast", "slow", "slow", "fast", None, "fast"],
        "seconds_per_step": [1.0, 2.0, 4.0, 1.0, 9.0, 1.0]})
    spreads = timing_report.host_spreads(runs, ["img"])
    assert spreads.to_dict("records") == [
        {"configuration": "img=a", "hosts": 2, "fastest": 1.0, "slowest": 3.0,
         "spread": 3.0}]
    # no configuration column at all: every run is one configuration
    alone = timing_report.host_spreads(runs.drop(columns="img"))
    assert list(alone["configuration"]) == ["all runs"]
    assert alone["spread"].iloc[0] == 3.0  # medians: fast 1.0, slow 3.0
