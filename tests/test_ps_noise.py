"""ps_noise: weight parsing, initial images, grids, one run end to end."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch

from plenexp.cli import UsageError
from plenexp.runs import rundir
from plenexp.runs.record import RunRecord
from ps_noise import options, plot, run, summarize, write_disbatch
from tests import figure_checks
from tests.conftest import REPO, process_duration


def test_parse_weights_reads_seven_numbers():
    assert options.parse_weights("1,1,1,1,0,0,100") == (1, 1, 1, 1, 0, 0, 100)
    assert options.parse_weights(" 10, 10,10,1, 0,0 ,1e2") == (
        10, 10, 10, 1, 0, 0, 100)
    assert options.parse_weights("0.5,1,1,1,1,1,10")[0] == 0.5
    assert options.format_weights(options.parse_weights("10,10,10,1,0,0,100")) \
        == "10,10,10,1,0,0,100"


@pytest.mark.parametrize("text, message", [
    ("1,1,1,1,0,0", "expected 7 comma-separated weights"),
    ("1,1,1,1,0,0,100,3", "got 8"),
    ("", "got 1"),
    ("1,1,one,1,0,0,100", "weight of skew is not a number: 'one'"),
    ("1,1,1,1,0,0,", "weight of var_highpass_residual is not a number"),
    ("1,1,1,-1,0,0,100", "weight of kurtosis must be a finite number >= 0"),
    ("1,1,1,1,nan,0,100", "weight of min must be a finite number"),
    ("0,0,0,0,0,0,0", "all seven weights are 0"),
])
def test_parse_weights_errors(text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        options.parse_weights(text)


@pytest.mark.parametrize("weights, message", [
    ("1,2,3", "expected 7 comma-separated weights"),
    ("1,1,1,1,0,0,x", "weight of var_highpass_residual is not a number: 'x'"),
])
def test_bad_weights_exit_2_with_one_line(run_script, tmp_path, weights, message):
    out = tmp_path / "run"
    proc = run_script("ps_noise/synthesize.py", "--weights", weights, "-f", out,
                      check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "argument --weights" in proc.stderr and message in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_bad_noise_and_image_exit_2(run_script, tmp_path):
    proc = run_script("ps_noise/synthesize.py", "--init_noise_type", "poisson",
                      check=False)
    assert proc.returncode == 2 and "invalid choice: 'poisson'" in proc.stderr
    proc = run_script("ps_noise/synthesize.py", "-n", "-1", check=False)
    assert proc.returncode == 2 and "noise amplitude > 0" in proc.stderr
    proc = run_script("ps_noise/synthesize.py", "--img", "no_such_image", "-f",
                      tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert "unknown image 'no_such_image'" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_reweighting_weights_the_right_statistics():
    image = torch.rand(1, 1, 128, 128, dtype=torch.float64)
    weights = (1, 2, 3, 4, 0, 0, 100)
    args = {"img": "einstein", "weights": weights}
    init = torch.zeros_like(image)
    model, loss, _ = run.build(args, image, init)
    rep = model.convert_to_dict(torch.zeros_like(model(image)))
    # one unit of error in each pixel statistic, then in the highpass variance
    for i, weight in enumerate(weights[:6]):
        error = {k: v.clone() for k, v in rep.items()}
        error["pixel_statistics"][..., i] = 1
        value = loss(model.convert_to_tensor(error), model.convert_to_tensor(rep))
        assert float(value) == pytest.approx(weight)
    error = {k: v.clone() for k, v in rep.items()}
    error["var_highpass_residual"][...] = 1
    value = loss(model.convert_to_tensor(error), model.convert_to_tensor(rep))
    assert float(value) == pytest.approx(100)
    # other groups keep weight 1
    error = {k: v.clone() for k, v in rep.items()}
    error["magnitude_std"].view(-1)[0] = 1
    value = loss(model.convert_to_tensor(error), model.convert_to_tensor(rep))
    assert float(value) == pytest.approx(1)


def test_initial_images():
    image = torch.full((1, 1, 64, 64), 0.5, dtype=torch.float64)
    normal = run.make_initial_image(image, "normal", 2.0, 3)
    assert torch.equal(normal, run.make_initial_image(image, "normal", 2.0, 3))
    assert not torch.equal(normal, run.make_initial_image(image, "normal",
                                                               2.0, 4))
    assert (normal - 0.5).std().item() == pytest.approx(2.0, rel=0.05)
    assert (normal - 0.5).mean().item() == pytest.approx(0.0, abs=0.1)
    uniform = run.make_initial_image(image, "uniform", 3.0, 0)
    assert 0 <= uniform.min() and uniform.max() <= 3 and uniform.max() > 2.9
    assert uniform.mean().item() == pytest.approx(1.5, abs=0.05)
    # the allowed range covers the initial image and [0, 1]
    low, high = run.allowed_range(normal)
    assert low == normal.min().item() < 0 and high == normal.max().item() > 1
    assert run.allowed_range(uniform * 0.1) == (0.0, 1.0)


def test_full_grid_is_the_published_sweep():
    tasks = write_disbatch.full_grid()
    assert len(tasks) == 24
    assert len({t.name for t in tasks}) == 24
    args = [dict(zip(t.argv[::2], t.argv[1::2], strict=True)) for t in tasks]
    assert {a["--img"] for a in args} == {"curie", "einstein"}
    assert {a["--seed"] for a in args} == {"0", "1"}
    assert {a["--init_noise_type"] for a in args} == {"normal"}
    assert {a["--init_noise"] for a in args} == {"1", "2"}
    assert {a["--weights"] for a in args} == {
        "1,1,1,1,0,0,100", "10,10,10,1,0,0,100", "10,10,10,10,0,0,100"}
    assert {a["--history_size"] for a in args} == {"100"}
    assert {a["--synth_max_iter"] for a in args} == {"200"}
    assert all("--crop" not in a for a in args)


def test_quick_grid_asks_the_same_questions_small():
    tasks = write_disbatch.quick_grid()
    args = [dict(zip(t.argv[::2], t.argv[1::2], strict=True)) for t in tasks]
    assert 6 <= len(tasks) <= 12 and len({t.name for t in tasks}) == len(tasks)
    normal = [a for a in args if a["--init_noise_type"] == "normal"]
    assert {a["--init_noise"] for a in normal} == {"1", "2"}
    assert len({a["--weights"] for a in normal}) >= 2
    assert all(a["--crop"] == "128" and int(a["--synth_max_iter"]) <= 50
               for a in args)


def test_write_disbatch_full(run_script, tmp_path):
    proc = run_script("ps_noise/write_disbatch.py", "--grid", "full",
                      "--output-root", tmp_path, "--device", "1")
    assert "wrote 24 task(s)" in proc.stdout
    lines = (tmp_path / "ps_noise/full/disbatch-cuda-1.txt").read_text().splitlines()
    assert len(lines) == 24
    assert all("--device cuda:1 --output_dir" in line for line in lines)
    assert all("ps_noise/time_synthesize.sh" in line for line in lines)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """One 3-iteration run from strong normal noise, through time_synthesize.sh.

    Written with the earlier version's flags (``--weighted``, ``--init_seed``,
    ``-f run.pt``), which keep their meaning.
    """
    import os

    out = tmp_path_factory.mktemp("ps_noise") / "run.pt"
    env = dict(os.environ, TQDM_DISABLE="1", OMP_NUM_THREADS="1",
               PYTHON=sys.executable,
               MPLCONFIGDIR=str(tmp_path_factory.mktemp("mpl")))
    proc = subprocess.run(
        ["bash", str(REPO / "ps_noise/time_synthesize.sh"), "--img", "einstein",
         "--crop", "128", "-n", "2", "--init_noise_type", "normal",
         "--init_seed", "3", "--weighted", "10,10,10,1,0,0,100",
         "--history_size", "10", "--synth_max_iter", "3", "-f", str(out)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out.with_suffix("")


def test_tiny_run_saves_what_it_should(tiny_run):
    assert rundir.is_done(tiny_run)
    saved = torch.load(tiny_run / "metamer.pt", weights_only=True)
    losses = [float(v) for v in saved["_losses"]] + [saved["_current_loss"]]
    assert len(losses) == 4 and losses[-1] < 0.5 * losses[0]
    record = run.load_run(tiny_run)
    assert isinstance(record, RunRecord) and record.experiment == "ps_noise"
    assert record.args["seed"] == 3 and record.args["weights"] == (
        10, 10, 10, 1, 0, 0, 100)
    # the metamer reloads through the run's own build, weights_only
    assert [float(v) for v in record.metamer.losses] == pytest.approx(losses)
    assert torch.equal(record.metamer.metamer, record.images["metamer"])
    init = torch.load(tiny_run / "init.pt", weights_only=True)
    assert torch.equal(record.images["init"], init)
    assert init.shape == (1, 1, 128, 128) and init.min() < -4 and init.max() > 5
    row = pd.read_csv(tiny_run / "loss.csv").iloc[0]
    assert row["loss"] == pytest.approx(losses[-1]) and row["synth_iter"] == 3
    assert record.row["loss"] == pytest.approx(losses[-1])
    assert (row["noise_type"], row["noise_amplitude"], row["seed"]) == (
        "normal", 2.0, 3)
    assert row["weights"] == "10,10,10,1,0,0,100"
    assert row["init_min"] == pytest.approx(float(init.min()))
    assert 0 < row["l2_no_minmax"] <= row["l2_norm"]
    assert row["max_abs_rep_error"] > 0
    assert row["synth_duration"] > 0 and row["init_duration"] > 0
    assert process_duration(tiny_run) > row["synth_duration"]
    assert (tiny_run / "ps_noise.png").stat().st_size > 20_000


def test_tiny_run_records_its_trajectory(tiny_run):
    record = run.load_run(tiny_run, metamer=False)
    steps = record.trajectory
    assert [r["step"] for r in steps] == [0, 1, 2, 3]
    saved = run.saved_losses(record)
    # the trajectory's losses are the losses plenoptic kept, step by step
    assert [r["loss"] for r in steps] == pytest.approx(saved)
    seconds = [r["seconds"] for r in steps]
    evaluations = [r["evaluations"] for r in steps]
    assert seconds == sorted(seconds) and evaluations == sorted(evaluations)
    # LBFGS max_eval 10: at most 10 model evaluations per step, plus the final
    # loss pass of each synthesize call
    assert 3 < evaluations[-1] <= 3 * 10 + 4
    assert record.row["evaluations"] == evaluations[-1]
    assert record.row["steps"] == 3
    assert record.row["synth_duration"] >= seconds[-1] * 0.99


def test_plot_regenerates_the_initial_image(tiny_run, run_script, tmp_path):
    record = run.load_run(tiny_run, metamer=False)
    assert torch.equal(run.regenerate_init(record), record.images["init"])
    out = tmp_path / "fig"
    proc = run_script("ps_noise/plot.py", tiny_run, "-o", out)
    assert (out / "ps_noise.png").stat().st_size > 20_000
    assert "figure of run" in proc.stdout
    # a tampered init.pt is caught, not silently redrawn
    copy = tmp_path / "copy"
    shutil.copytree(tiny_run, copy)
    torch.save(record.images["init"] + 1e-9, copy / "init.pt")
    with pytest.raises(UsageError, match="differs from the saved init.pt"):
        plot.plot_run(copy, tmp_path / "x")
    assert not (tmp_path / "x").exists()
    plot.plot_run(copy, tmp_path / "y", check_init=False)
    assert (tmp_path / "y" / "ps_noise.png").exists()


def test_analyze_rebuilds_the_table(tiny_run, run_script, tmp_path):
    copy = tmp_path / "grid" / "run"
    shutil.copytree(tiny_run, copy)
    first = pd.read_csv(copy / "loss.csv").iloc[0]
    (copy / "loss.csv").unlink()
    (copy / "ps_noise.png").unlink()
    proc = run_script("ps_noise/analyze.py", tmp_path / "grid")
    assert "1 of 1 run(s) analyzed" in proc.stdout
    again = pd.read_csv(copy / "loss.csv").iloc[0]
    for column in ("loss", "synth_iter", "l2_norm", "l2_no_minmax",
                   "max_abs_rep_error", "synth_duration", "pixel_max_error",
                   "evaluations", "steps"):
        assert again[column] == pytest.approx(first[column]), column
    assert again["process_duration"] > 0
    assert (copy / "ps_noise.png").stat().st_size > 20_000
    # nothing missing: nothing rewritten, unless --force
    proc = run_script("ps_noise/analyze.py", tmp_path / "grid")
    assert "0 of 1 run(s) analyzed" in proc.stdout


def test_the_run_records_its_whole_process_time(tiny_run):
    """Known before the run published: its table and the index have it at once."""
    from plenexp import report
    from plenexp.runs import results as tables

    elapsed = process_duration(tiny_run)
    assert elapsed > 0
    row = tables.read_rows(tiny_run / "loss.csv")[0]
    assert float(row["process_duration"]) == pytest.approx(elapsed)
    assert float(report._read_run(tiny_run, []).row["process_duration"]) == \
        pytest.approx(elapsed)


def test_flags_keep_their_meaning(run_script, tmp_path):
    """No -t; a single number for the seven weights fails loudly."""
    proc = run_script("ps_noise/synthesize.py", "-t", "normal", "-f",
                      tmp_path / "run", check=False)
    assert proc.returncode == 2 and "unrecognized arguments: -t" in proc.stderr
    proc = run_script("ps_noise/synthesize.py", "--weighted", "100", "-f",
                      tmp_path / "run", check=False)
    assert proc.returncode == 2
    assert "expected 7 comma-separated weights" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    help_text = run_script("ps_noise/synthesize.py", "--help").stdout
    for flag in ("--output_dir", "--output_path", "--seed", "--init_seed",
                 "--weights", "--weighted"):
        assert flag in help_text, flag


def test_adhoc_names_differ_by_every_result_argument(tmp_path):
    from plenexp.runs import harness

    args = {"img": "einstein", "crop": 128, "init_noise_type": "normal",
            "init_noise": 2.0, "weights": (1, 1, 1, 1, 0, 0, 100), "seed": 0,
            "history_size": 10, "synth_max_iter": 3, "device": "cpu",
            "output_dir": None, "output_root": None, "no_plots": False}
    first = harness.run_dir_for(None, tmp_path, "ps_noise", run.run_name(args),
                                args=args)
    for key, value in (("device", "cuda"), ("crop", 256),
                       ("synth_max_iter", 4), ("history_size", 100)):
        other = dict(args, **{key: value})
        assert harness.run_dir_for(None, tmp_path, "ps_noise",
                                   run.run_name(other), args=other) != first, key
    assert harness.run_dir_for(None, tmp_path, "ps_noise", run.run_name(args),
                               args=dict(args, no_plots=True)) == first


@pytest.mark.slow
def test_smoke_grid_end_to_end(smoke_grid):
    """The README's steps on the smoke grid (the session's, see conftest)."""
    made = smoke_grid.run("ps_noise")
    root = made.root
    assert len(list(rundir.done_runs(root))) == 2
    proc = made.step("ps_noise/summarize.py")
    summary = root / "ps_noise" / "smoke" / "summary"
    table = pd.read_csv(summary / "all_loss.csv")
    assert len(table) == 2
    assert set(table["noise_type"]) == {"normal", "uniform"}
    assert table["process_duration"].gt(table["synth_duration"]).all()
    assert table["l2_no_minmax"].gt(0).all()
    for stem in ("loss_by_noise_and_weights", "contact_sheet_einstein"):
        assert (summary / f"{stem}.png").stat().st_size > 10_000
        assert (summary / f"{stem}.svg").exists()
    assert "2 run(s) summarized" in proc.stdout
    conclusion = (summary / "conclusion.txt").read_text()
    assert conclusion.startswith("0 of 2 run(s) meet plenoptic's success")
    assert "On einstein, the lowest unweighted L2 without pixel min/max" in conclusion
    assert "Against the uniform start" in conclusion
    assert "Runs per host" in (summary / "timing.txt").read_text()


@pytest.mark.slow
def test_analyze_force_reproduces_the_loss_of_a_three_scale_image(
        run_script, tmp_path):
    """``analyze --force`` rebuilds the model the run used (fig12b: 3 scales)."""
    from plenexp.synth import images

    target = tmp_path / "fig12b.png"
    images.save_grayscale_png(images.load_image("reptile_skin", crop=128), target)
    assert images.n_scales_for(str(target)) == 3
    run = tmp_path / "grid" / "run"
    run_script("ps_noise/synthesize.py", "--img", target, "--history_size", "10",
               "--synth_max_iter", "3", "--no_plots", "-f", run)
    written = pd.read_csv(run / "loss.csv").iloc[0]
    run_script("ps_noise/analyze.py", "--force", run)
    again = pd.read_csv(run / "loss.csv").iloc[0]
    for column in ("loss", "l2_norm", "l2_no_minmax"):
        assert again[column] == pytest.approx(written[column], rel=1e-9), column


# ------------------------------------------------------ summary figures ---

def _made_up_table(images=("einstein", "curie"), seeds=(0, 1, 2),
                   iterations=(25, 200), amplitudes=(1.0, 2.0, 4.0)):
    """A summary table of the shape the full grid gives, and more."""
    import itertools

    import numpy as np

    rng = np.random.default_rng(1)
    weights = ("10,10,10,10,0,0,100", "1,1,1,1,0,0,100", "10,10,10,1,0,0,100")
    rows = []
    starts = [("uniform", 1.0)] + [("normal", a) for a in amplitudes]
    for image, seed, n_iter, (kind, amp), wt in itertools.product(
            images, seeds, iterations, starts, weights):
        base = 0.02 * amp * (25 / n_iter) ** 0.5 * (1 + 0.2 * rng.random())
        rows.append({"image": image, "crop": 128, "noise_type": kind,
                     "noise_amplitude": amp, "weights": wt, "seed": seed,
                     "history_size": 100, "synth_iter": n_iter,
                     "synth_max_iter": n_iter, "device": "cpu",
                     "loss": base * 1.001, "l2_no_minmax": base,
                     "l2_norm": base * 3, "max_abs_rep_error": base * 2,
                     "out_of_range": 0.01 * rng.random() * (seed > 0),
                     "synth_duration": 1.1 * n_iter, "evaluations": 10 * n_iter})
    return pd.DataFrame(rows)


def _check_summary_figure(fig, frame):
    figure_checks.check_figure(fig)
    panels = figure_checks.images_per_panel(fig)
    assert all(len(p) == 1 for p in panels)
    assert {next(iter(p)) for p in panels} == set(frame["image"])
    weights = figure_checks.legend_sections(fig)["weights"]
    assert weights == sorted(weights, key=lambda w: [float(v) for v in w.split(",")])
    axes = figure_checks.data_axes(fig)
    labels = [t.get_text() for t in axes[-1].get_xticklabels()]
    starts = [label for label in labels if label]
    assert starts[0] == "uniform 1" and starts[1:] == sorted(
        starts[1:], key=lambda s: float(s.split()[1]))


def test_summary_figure_of_the_quick_grid_shape():
    frame = _made_up_table(seeds=(0,), iterations=(25,), amplitudes=(1.0, 2.0))
    fig = summarize.summary_figure(frame)
    _check_summary_figure(fig, frame)
    title = fig._suptitle.get_text()
    assert "one run" in title and "not drawn" in title


def test_summary_figure_of_a_bigger_table_aggregates_seeds():
    frame = _made_up_table()
    fig = summarize.summary_figure(frame)
    _check_summary_figure(fig, frame)
    assert "median of n = 3 runs" in fig._suptitle.get_text()
    sections = figure_checks.legend_sections(fig)
    assert sections["settings"] == ["iterations 25", "iterations 200"]
    # one point per configuration: 2 images x 4 starts x 3 weights x 2 settings
    points = sum(len(line.get_xdata()) for ax in fig.axes[:2] for line in ax.lines
                 if line.get_marker() not in (None, "", "None"))
    assert points == 4 * 3 * 2 * 2


def test_recovery_and_success_tables_aggregate_seeds():
    frame = _made_up_table(iterations=(200,))
    frame["l2_norm"] = 0.3  # fails the criterion's loss
    frame.loc[frame["seed"] == 0, "l2_norm"] = 0.05
    frame.loc[frame["seed"] == 1, "l2_norm"] = 0.08
    frame.loc[frame["seed"] == 1, "max_abs_rep_error"] = 0.7  # fails its range
    table = summarize.success(frame)
    assert len(table) == 2 * 4 * 3 and (table["n"] == 3).all()
    assert table["share"].tolist() == pytest.approx([1 / 3] * len(table))
    recovery = summarize.recovery_table(frame)
    assert len(recovery) == len(table)
    assert "unweighted L2 without pixel min/max (median)" in recovery.columns


def test_conclusion_names_ties_and_recovered_starts():
    frame = _made_up_table(seeds=(0,), iterations=(25,), amplitudes=(1.0, 2.0))
    frame["l2_no_minmax"] = 0.05
    frame.loc[frame["noise_amplitude"] == 2.0, "l2_no_minmax"] = 0.08
    frame["l2_norm"], frame["max_abs_rep_error"] = 0.05, 0.1
    text = summarize.conclusion(frame)
    lines = text.splitlines()
    assert lines[0].startswith("18 of 18 run(s) meet plenoptic's success criterion")
    assert lines[1].startswith("On curie") and lines[2].startswith("On einstein")
    # uniform 1 and normal 1 tie at 0.05 for every weight set: all six named
    assert "is 0.05: a tie between " in lines[1]
    assert lines[1].count("weights ") == 6 and "normal 2" not in lines[1]
    assert lines[1].endswith("Against the uniform start (0.05), normal 1 ends at "
                             "or below it (recovers).")


def test_summarize_from_csv_replots_a_table(run_script, tmp_path):
    table = tmp_path / "all_loss.csv"
    _made_up_table().to_csv(table, index=False)
    out = tmp_path / "summary"
    proc = run_script("ps_noise/summarize.py", "--from-csv", table, "--output-dir",
                      out)
    assert "144 run(s) summarized" in proc.stdout
    assert (out / "loss_by_noise_and_weights.png").stat().st_size > 20_000
    success = pd.read_csv(out / "success.csv")
    assert len(success) == 2 * 4 * 3 * 2 and (success["n"] == 3).all()
    assert not list(out.glob("contact_sheet_*"))  # no runs on disk to draw
    assert (out / "conclusion.txt").read_text().count("\nOn ") == 2
    assert (out / "timing.txt").exists()
