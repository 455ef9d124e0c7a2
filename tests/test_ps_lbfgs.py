"""ps_lbfgs end to end: grids, one run, killed runs, disBatch, summaries."""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from plenexp import cli
from plenexp.runs import rundir
from plenexp.summary import facets
from plenexp.synth import synthesis
from ps_lbfgs import summarize
from ps_lbfgs import write_disbatch as grids
from tests import figure_checks as checks
from tests import legacy_cost
from tests.conftest import REPO, process_duration, task_env


def test_grid_sizes():
    assert len(grids.GRIDS["full"]()) == 48
    assert len(grids.GRIDS["mse"]()) == 192
    assert len(grids.GRIDS["small_lr"]()) == 432
    assert 3 <= len(grids.GRIDS["quick"]()) <= 12
    for grid in grids.GRIDS.values():
        names = [task.name for task in grid()]
        assert len(names) == len(set(names)), "run names must be unique"


def test_full_grid_is_the_published_sweep():
    tasks = grids.GRIDS["full"]()
    args = [dict(zip(t.argv[::2], t.argv[1::2], strict=False)) for t in tasks]
    assert {a["--img"] for a in args} == {"fig4a", "fig16b"}
    assert {a["--max_iter"] for a in args} == {"5", "10", "20", "40"}
    # the fraction as the grid gives it; the count (in the run name) from it
    assert {a["--max_eval_fraction"] for a in args} == {"0.5", "1", "None"}
    assert {t.name.split("_eval-")[1].split("_")[0] for t in tasks} == {
        "2", "5", "10", "20", "40", "None"}
    assert {a["--history_size"] for a in args} == {"200"}
    assert {a["--synth_max_iter"] for a in args} == {"2000"}


def test_task_seconds_are_the_cost_estimate():
    """Each task's seconds: ``run_seconds`` of its values, what the argv costs."""

    for device in ("cpu", "cuda:0"):
        for grid in grids.GRIDS.values():
            for task in grid(device=device):
                options = legacy_cost.parse_options(task.argv)
                fraction = options.pop("max_eval_fraction")
                max_iter = int(options["max_iter"])
                options["max_eval"] = str(grids.max_eval_count(
                    max_iter, None if fraction == "None" else float(fraction)))
                argv = [w for k, v in options.items() for w in (f"--{k}", v)
                        if v is not True]
                assert task.seconds == pytest.approx(
                    legacy_cost.estimate_seconds(argv, device), rel=1e-12)
                assert f"_eval-{options['max_eval']}_" in task.name


def test_the_run_records_the_max_eval_fraction_it_was_given():
    from benchmarks._support import fake_runs

    script = fake_runs.load_script("ps_lbfgs")
    args = fake_runs.script_args(script, ["--max_iter", "5",
                                          "--max_eval_fraction", "0.5"])
    assert (args["max_eval_fraction"], args["max_eval"]) == (0.5, 2)
    args = fake_runs.script_args(script, ["--max_iter", "8",
                                          "--max_eval_fraction", "None"])
    assert (args["max_eval_fraction"], args["max_eval"]) == (None, None)
    # a count given by hand: its fraction of max_iter is recorded
    args = fake_runs.script_args(script, ["--max_iter", "3", "--max_eval", "4"])
    assert (args["max_eval_fraction"], args["max_eval"]) == (pytest.approx(4 / 3), 4)
    with pytest.raises(SystemExit):
        fake_runs.script_args(script, ["--max_eval", "4",
                                       "--max_eval_fraction", "1"])


def _legacy(max_eval, durations):
    n = len(max_eval)
    return pd.DataFrame({
        "index": ["0"] * n, "filename": ["fig4a"] * n,
        "coarse_to_fine": ["False"] * n, "seed": [str(i % 2) for i in range(n)],
        "search_func": ["", *["strong_wolfe"] * (n - 1)],
        "init_reduced": ["False"] * n,
        "LBFGS_max_iter": ["10", "5", "10", "20"][:n], "LBFGS_max_eval": max_eval,
        "LBFGS_history_size": ["100"] * n, "learning_rate": ["1.0"] * n,
        "synth_iter": ["3"] * n, "loss": ["0.5", "0.25", "0.2", "0.1"][:n],
        "synth_duration": durations,
    })


def test_normalize_table_reads_counts_and_clock_durations():
    frame = _legacy(["", "2.0", "10.0"], ["1:02:03", "04:05.5", "12.5"])
    out, notes = summarize.normalize_table(frame, from_csv=True)
    assert "index" not in out.columns
    assert list(out["line_search_fn"]) == ["None", "strong_wolfe", "strong_wolfe"]
    assert list(out["max_eval"]) == ["None", "2", "10"]
    assert list(out["synth_duration"]) == [3723.0, 245.5, 12.5]
    assert list(out["max_eval_fraction"]) == [1.25, 0.5, 1.0]
    text = "\n".join(notes)
    assert "read as a count" in text and "[H:]MM:SS" in text
    assert "1 run(s) with an empty/None max_eval" in text
    assert "no loss_function column" in text


def test_normalize_table_reads_fractions_of_max_iter():
    frame = _legacy(["0.5", "1.0", "", "0.5"], ["10", "11", "12", "13"])
    out, notes = summarize.normalize_table(frame, from_csv=True)
    assert list(out["max_eval_fraction"]) == [0.5, 1.0, 1.25, 0.5]
    assert list(out["max_eval"]) == ["5", "5", "None", "10"]
    assert any("fraction of max_iter" in n for n in notes)
    assert not any("[H:]MM:SS" in n for n in notes)


def test_identical_work_is_named_once_per_group():
    """Configurations with the same image, loss and evaluations are one line;
    a configuration alone, or without evaluations, is in none."""
    agg = pd.DataFrame({
        "img": ["a", "a", "a", "b", "b"],
        "max_iter": [10, 20, 40, 10, 20],
        "max_eval": ["10", "10", "10", "10", "10"],
        "loss": [0.5, 0.5, 0.25, 0.5, 0.5],
        "evaluations": [100, 100, 100, np.nan, np.nan],
        "synth_duration": [9.0, 11.0, 20.0, 9.0, 9.5]})
    lines = summarize.identical_text(agg, ["img", "max_iter", "max_eval"])
    assert lines[0] == "Configurations that computed the same thing:"
    assert len(lines) == 2
    assert "max_iter=10, max_eval=10; max_iter=20, max_eval=10" in lines[1]
    assert "seconds 9, 11" in lines[1] and "max_iter=40" not in lines[1]
    assert summarize.identical_text(agg[agg["img"] == "b"], ["img", "max_iter"]) == []


def test_summary_module_leaves_matplotlib_until_the_runs_are_being_read():
    """summarize.py's top imports no drawing code, so that the runs are read in
    forked children while matplotlib loads (a second saved on 10,000 runs,
    ``benchmarks/summarize_at_scale.py``)."""
    code = ("import sys, ps_lbfgs.summarize; print(sorted(m for m in sys.modules "
            "if m.partition('.')[0] == 'matplotlib'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, text=True,
                          capture_output=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("table, rows, lrs", [("summary_mse", 192, 4),
                                               ("summary_small_lr", 432, 9)])
def test_summarize_from_the_original_tables(shared_dir, run_script, tmp_path,
                                            table, rows, lrs):
    csv = shared_dir / "reference" / "ps_lbfgs_original" / table / "all_loss.csv"
    out = tmp_path / table
    run_script("ps_lbfgs/summarize.py", "--from-csv", csv, "--output-dir", out)
    frame = pd.read_csv(out / "all_loss.csv")
    assert len(frame) == rows
    assert frame["synth_duration"].notna().all()
    assert (out / "loss_vs_cost.png").stat().st_size > 10_000
    configs = pd.read_csv(out / "configurations.csv")
    # medians over the ok seeds: n plus the stalled runs left out is every seed
    assert len(configs) == rows // 2
    assert set(configs["n"] + configs["n_excluded"]) == {2}
    front = pd.read_csv(out / "pareto.csv")
    assert set(front["img"]) == {"fig4a", "fig16b"}
    assert (front["status"] == "ok").all()
    # nothing on the front is beaten in both time and loss by an ok configuration
    ok = configs[configs["status"] == "ok"]
    for _, row in front.iterrows():
        same = ok[ok["img"] == row["img"]]
        assert not ((same["synth_duration"] < row["synth_duration"])
                    & (same["loss"] < row["loss"])).any()
    text = (out / "summary.txt").read_text()
    assert "Pareto front" in text and "read as a count" in text
    assert "fixed: history 100" in text
    # success is counted over the configurations with an ok run
    assert len(pd.read_csv(out / "success.csv")) == len(ok)
    # the figure itself: every check, lr panels in numeric order
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    normal, _ = summarize.normalize_table(raw, from_csv=True)
    agg = facets.aggregate(normal, summarize._config_columns(normal),
                           ["loss", "synth_duration"])
    fig = summarize.cost_figure(agg, ["synth_duration"], "", table)
    checks.check_figure(fig, numeric=("lr",), legend_numeric=("max_iter",))
    titles = checks.panel_titles(fig)
    assert len(titles) == 2 * lrs and all(" | lr=" in t for t in titles)
    plt.close(fig)


def test_bad_image_exits_2_and_writes_nothing(run_script, tmp_path):
    out = tmp_path / "run"
    proc = run_script("ps_lbfgs/synthesize.py", "--img", "no_such_texture",
                      "-o", out, check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "unknown image 'no_such_texture'" in proc.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def _start_long_run(out, script_env, log):
    command = [sys.executable, str(REPO / "ps_lbfgs/synthesize.py"), "--img",
               "reptile_skin", "--crop", "128", "--synth_max_iter", "100000",
               "--stop_criterion", "None", "--no_plots", "-o", str(out)]
    # output to a file: a pipe nobody reads could fill and block the child
    return subprocess.Popen(command, env=script_env, cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT)



@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killed_run_never_looks_done(tmp_path, script_env, run_script, sig):
    out = tmp_path / "grid" / "run"
    log = open(tmp_path / "run.log", "w")
    proc = _start_long_run(out, script_env, log)
    try:
        # wait until the run is under way: its partial directory exists
        deadline = time.monotonic() + 120
        while not list((tmp_path / "grid").glob(".run.partial-*")):
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(2)  # into model building or synthesis
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        proc.kill()
        log.close()
    assert proc.returncode != 0
    assert not rundir.is_done(out) and not out.exists()
    assert list(rundir.done_runs(tmp_path)) == []
    if sig == signal.SIGTERM:
        # a terminated run cleans up after itself, the directories it made too
        assert not (tmp_path / "grid").exists()
    # a rerun completes and replaces whatever the killed one left
    run_script("ps_lbfgs/synthesize.py", "--img", "reptile_skin", "--crop", "128",
               "--synth_max_iter", "2", "--no_plots", "-o", out)
    assert rundir.is_done(out)
    assert [p.name for p in (tmp_path / "grid").iterdir()] == ["run"]


@pytest.mark.slow
def test_smoke_grid_through_disbatch(smoke_grid, run_script):
    """The README's steps on the smoke grid (the session's, see conftest)."""
    made = smoke_grid.run("ps_lbfgs")
    root = made.root
    assert "2/2 task(s) succeeded" in made.step("plenexp.cluster.disbatch_local").stdout
    runs = sorted(rundir.done_runs(root))
    assert len(runs) == 2
    # task lines skip the figures (clean process times); analyze drew them
    assert "synthesis_status.png" not in made.files_as_run[runs[0].name]
    written = {run: pd.read_csv(io.StringIO(made.tables_as_run[run.name]))
               for run in runs}
    # the run wrote its table once: analyze drew figures, added process time
    for run, table in written.items():
        pd.testing.assert_frame_equal(
            pd.read_csv(run / "loss.csv").drop(columns="process_duration"),
            table.drop(columns="process_duration", errors="ignore"))
    for run in runs:
        saved = torch.load(run / "metamer.pt", weights_only=True)
        # plenoptic keeps the loss before each step, and the final one apart
        losses = [*map(float, saved["_losses"]), float(saved["_current_loss"])]
        assert len(losses) == 4 and float(losses[-1]) < 0.8 * float(losses[0])
        assert process_duration(run) > 1.0
        assert (run / "synthesis_status.png").exists()
        row = pd.read_csv(run / "loss.csv").iloc[0]
        assert row["loss"] == pytest.approx(float(losses[-1]))
        assert row["process_duration"] == pytest.approx(process_duration(run))
        assert row["torch_num_threads"] == 1
    # --skip-done now leaves nothing to run
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke",
                      "--output-root", root, "--skip-done")
    assert "wrote 0 task(s)" in proc.stdout and "2 already done" in proc.stdout
    # the README's summary step, before analyze.py ran
    table = pd.read_csv(root / "ps_lbfgs" / "smoke" / "summary" / "all_loss.csv")
    assert len(table) == 2 and table["process_duration"].gt(0).all()
    assert (root / "ps_lbfgs/smoke/summary/loss_vs_cost.png").exists()
    assert (root / "ps_lbfgs/smoke/summary/loss_curves.png").exists()
    assert {"evaluations", "steps", "max_abs_rep_error"} <= set(table.columns)
    assert (table["steps"] == 3).all() and (table["evaluations"] > 3).all()
    # one name per argument, from the command line to the table
    # (max_eval None is LBFGS's 1.25 x max_iter)
    assert sorted(table["max_eval_fraction"]) == [1.0, 1.25]
    assert (table["img"] == "reptile_skin").all() and (table["lr"] == 1).all()
    assert (root / "ps_lbfgs/smoke/summary/conclusion.txt").read_text().strip()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One finished 2-step run at 128x128, without figures (tests copy it)."""
    out = tmp_path_factory.mktemp("ps_lbfgs") / "run"
    env = task_env(tmp_path_factory.mktemp("mpl"))
    subprocess.run([sys.executable, str(REPO / "ps_lbfgs/synthesize.py"), "--img",
                    "reptile_skin", "--crop", "128", "--synth_max_iter", "2",
                    "--max_iter", "3", "--no_plots", "-o", str(out)],
                   check=True, capture_output=True, env=env, cwd=REPO, timeout=600)
    return out


def test_analyze_rebuilds_table_and_figures(tmp_path, tiny_run, run_script):
    out = tmp_path / "run"
    shutil.copytree(tiny_run, out)
    first = pd.read_csv(out / "loss.csv").iloc[0]
    assert not (out / "synthesis_status.png").exists()
    (out / "loss.csv").unlink()
    run_script("ps_lbfgs/analyze.py", tmp_path)
    again = pd.read_csv(out / "loss.csv").iloc[0]
    assert again["loss"] == pytest.approx(first["loss"])
    assert again["synth_duration"] == pytest.approx(first["synth_duration"])
    for name in ("target_vs_metamer", "synthesis_status", "representation_error"):
        assert (out / f"{name}.png").stat().st_size > 5_000
    proc = run_script("ps_lbfgs/analyze.py", tmp_path / "nothing", check=False)
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def test_time_synthesize_records_the_whole_process(tmp_path, run_script):
    out = tmp_path / "run"
    run_script("ps_lbfgs/time_synthesize.sh", "--img", "reptile_skin", "--crop",
               "128", "--synth_max_iter", "1", "--no_plots", "-o", out)
    elapsed = process_duration(out)
    row = pd.read_csv(out / "loss.csv").iloc[0]
    assert elapsed is not None and elapsed > row["synth_duration"]
    # known before the run published: in its table, and done.json came last
    assert row["process_duration"] == pytest.approx(elapsed)
    done = (out / rundir.DONE_MARKER).stat().st_mtime_ns
    assert all(p.stat().st_mtime_ns <= done for p in out.iterdir())
    # a failing run records nothing and keeps its exit status
    proc = run_script("ps_lbfgs/time_synthesize.sh", "--img", "nope", "-o",
                      tmp_path / "bad", check=False)
    assert proc.returncode == 2 and not (tmp_path / "bad").exists()


def test_saved_result_loads_without_pickled_code(tiny_run):
    out = tiny_run
    saved = torch.load(out / "metamer.pt", weights_only=True)
    assert saved["_metamer"].shape == (1, 1, 128, 128)
    assert torch.load(out / "representation.pt", weights_only=True).ndim == 3
    assert os.path.getsize(out / "metamer.pt") < 2_000_000


TINY = ("--img", "reptile_skin", "--crop", "128", "--max_iter", "3", "--max_eval",
        "4", "--stop_criterion", "None", "--no_plots")


def test_a_shorter_run_is_a_prefix_of_a_longer_one(tmp_path, run_script):
    """5 steps, and the first 5 of 10 with the same seed: the same loss."""
    for steps in (5, 10):
        run_script("ps_lbfgs/synthesize.py", *TINY, "--seed", "3",
                   "--synth_max_iter", str(steps), "-o", tmp_path / f"s{steps}")
    short = synthesis.read_trajectory(tmp_path / "s5" / "trajectory.csv")
    long = synthesis.read_trajectory(tmp_path / "s10" / "trajectory.csv")
    assert [r["step"] for r in short] == list(range(6))
    assert len(long) == 11
    row = pd.read_csv(tmp_path / "s5" / "loss.csv").iloc[0]
    assert row["loss"] == pytest.approx(long[5]["loss"], rel=1e-6)
    assert [r["loss"] for r in short] == pytest.approx(
        [r["loss"] for r in long[:6]], rel=1e-6)
    assert [r["evaluations"] for r in short[:5]] == [r["evaluations"]
                                                     for r in long[:5]]
    # the row records what the trajectory counted
    assert row["steps"] == 5 and row["evaluations"] >= short[-1]["evaluations"]
    assert row["evaluations"] > 5  # line search: more than one pass per step
    assert row["max_abs_rep_error"] > 0
    assert long[-1]["loss"] < short[-1]["loss"] < short[0]["loss"]


def test_analyze_force_reproduces_the_loss_it_wrote(tmp_path, run_script):
    out = tmp_path / "run"
    run_script("ps_lbfgs/synthesize.py", *TINY, "--synth_max_iter", "3",
               "--loss", "mse", "-o", out)
    first = pd.read_csv(out / "loss.csv").iloc[0]
    proc = run_script("ps_lbfgs/analyze.py", "--force", out)
    assert "1 of 1 run(s) analyzed" in proc.stdout
    again = pd.read_csv(out / "loss.csv").iloc[0]
    for column in ("loss", "max_abs_rep_error", "evaluations", "steps",
                   "synth_duration"):
        assert again[column] == pytest.approx(first[column], rel=1e-6), column
    assert again["loss_function"] == "mse"
    # figures drawn with the one sign convention, named on the axis
    assert (out / "representation_error.png").stat().st_size > 5_000


def test_ad_hoc_runs_with_other_budgets_do_not_replace_each_other(tmp_path,
                                                                  run_script):
    for steps in ("1", "2"):
        run_script("ps_lbfgs/synthesize.py", "--img", "reptile_skin", "--crop",
                   "128", "--synth_max_iter", steps, "--no_plots",
                   "--output-root", tmp_path)
    runs = sorted(rundir.done_runs(tmp_path / "ps_lbfgs" / "adhoc"))
    assert len(runs) == 2
    assert {pd.read_csv(r / "loss.csv")["synth_iter"].iloc[0] for r in runs} == {1, 2}
    assert all("_crop-128_" in r.name for r in runs)


def _parser(script: str):
    """The script's parser, caught as ``parse_args`` is called."""
    spec = importlib.util.spec_from_file_location("script", REPO / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    caught = []

    def catch(self, *args, **kwargs):
        caught.append(self)
        raise SystemExit(0)

    original = cli.ArgumentParser.parse_args
    cli.ArgumentParser.parse_args = catch
    try:
        with pytest.raises(SystemExit):
            module.parse_args()
    finally:
        cli.ArgumentParser.parse_args = original
    return caught[0]


@pytest.mark.parametrize("script", ["synthesize.py", "analyze.py", "plot.py",
                                    "summarize.py"])
def test_every_option_has_help(script):
    parser = _parser(f"ps_lbfgs/{script}")
    for action in parser._actions:
        assert action.help, f"{script}: {action.option_strings or action.dest}"
        # the parser shows defaults; by hand only where it is computed (None)
        assert "(default" not in action.help or action.default is None, \
            f"{script}: hand-written default in {action.option_strings}"
    if script == "synthesize.py":
        flags = {f for a in parser._actions for f in a.option_strings}
        assert {"--output_dir", "--output-dir", "--output_path", "-f", "-o",
                "--seed", "-s", "--img", "-i", "--device", "-d"} <= flags
        assert "-t" not in flags


def test_run_figures_say_the_sign_and_titles_do_not_overlap():
    from plenexp.summary import draw
    from ps_lbfgs import plot, run

    args = {"img": "reptile_skin", "crop": 128, "loss_function": "l2_norm",
            "coarse_to_fine": False, "init_reduced": False, "seed": 0,
            "max_iter": 3, "max_eval": 4, "history_size": 10,
            "line_search_fn": "strong_wolfe", "lr": 1.0}
    image = run.load_target(args, torch.device("cpu"))
    _, _, met = run.build(args, image)
    run.setup(met, args, image)
    met.synthesize(max_iter=2)
    title = plot.run_title(args, float(met.losses[-1]), 2, 1.0)
    status = draw.synthesis_status(met)
    status.suptitle(title)
    error = draw.representation_error(met.model, met.image, met.metamer,
                                      title=f"error\n{title}")
    with torch.no_grad():
        diff = met.model(met.image) - met.model(met.metamer)
    groups = met.model._representation_for_plotting(
        {k: v[0, 0] for k, v in met.model.convert_to_dict(diff).items()})
    expected = next(iter(groups.values())).flatten().numpy()
    for fig in (status, error):
        (first,) = [ax for ax in fig.axes if ax.get_ylabel() == draw.ERROR_LABEL]
        assert draw.ERROR_LABEL == "PS(target) − PS(metamer)"
        # the sign drawn is the sign labelled: target minus metamer
        drawn = [line.get_ydata() for line in first.get_lines()
                 if len(line.get_ydata()) == len(expected)]
        assert any(np.allclose(d, expected) for d in drawn)
        assert not any(np.allclose(d, -expected) for d in drawn)
        checks.check_no_text_overlap(fig)
        plt.close(fig)
