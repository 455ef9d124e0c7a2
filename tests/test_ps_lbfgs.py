"""ps_lbfgs end to end: grids, one run, killed runs, disBatch, summaries."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from plenexp import rundir
from plenexp.experiments import ps_lbfgs

from .conftest import REPO


def test_grid_sizes():
    assert len(ps_lbfgs.full_grid()) == 48
    assert len(ps_lbfgs.mse_grid()) == 192
    assert len(ps_lbfgs.small_lr_grid()) == 432
    assert 3 <= len(ps_lbfgs.quick_grid()) <= 12
    for grid in ps_lbfgs.GRIDS.values():
        names = [task.name for task in grid()]
        assert len(names) == len(set(names)), "run names must be unique"


def test_full_grid_is_the_published_sweep():
    tasks = ps_lbfgs.full_grid()
    args = [dict(zip(t.argv[::2], t.argv[1::2], strict=False)) for t in tasks]
    assert {a["--img"] for a in args} == {"fig4a", "fig16b"}
    assert {a["--max_iter"] for a in args} == {"5", "10", "20", "40"}
    assert {a["--max_eval"] for a in args} == {"2", "5", "10", "20", "40", "None"}
    assert {a["--history_size"] for a in args} == {"200"}
    assert {a["--synth_max_iter"] for a in args} == {"2000"}


def test_normalize_table_reads_old_conventions():
    frame = pd.DataFrame({
        "index": [0, 0], "filename": ["fig4a", "fig4a"],
        "coarse_to_fine": ["False", "False"], "seed": ["0", "1"],
        "search_func": ["", "strong_wolfe"], "init_reduced": ["False", "False"],
        "LBFGS_max_iter": ["10", "5"], "LBFGS_max_eval": ["", "2.0"],
        "LBFGS_history_size": ["100", "100"], "learning_rate": ["1.0", "1.0"],
        "synth_iter": ["3", "3"], "loss": ["0.5", "0.25"],
        "synth_duration": ["1:02:03", "04:05.5"],
    })
    out = ps_lbfgs.normalize_table(frame)
    assert "index" not in out.columns
    assert list(out["search_func"]) == ["None", "strong_wolfe"]
    assert list(out["LBFGS_max_eval"]) == ["None", "2"]
    assert list(out["synth_duration"]) == [3723.0, 245.5]
    assert list(out["LBFGS_max_eval_frac"]) == [1.25, 0.5]


@pytest.mark.parametrize("table, rows", [("summary_mse", 192),
                                         ("summary_small_lr", 432)])
def test_summarize_from_the_original_tables(shared_dir, run_script, tmp_path,
                                            table, rows):
    csv = shared_dir / "reference" / "ps_lbfgs_original" / table / "all_loss.csv"
    out = tmp_path / table
    run_script("ps_lbfgs/summarize.py", "--from-csv", csv, "--output-dir", out)
    frame = pd.read_csv(out / "all_loss.csv")
    assert len(frame) == rows
    assert frame["synth_duration"].notna().all()
    assert (out / "loss_vs_duration_strong_wolfe.svg").stat().st_size > 10_000
    assert (out / "loss_vs_duration_strong_wolfe.png").stat().st_size > 10_000


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
def test_smoke_grid_through_disbatch(tmp_path, run_script, script_env):
    root = tmp_path / "out root"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root", root)
    taskfile = root / "ps_lbfgs" / "smoke" / "disbatch-cpu.txt"
    proc = subprocess.run([sys.executable, "-m", "plenexp.disbatch_local",
                           str(taskfile)], capture_output=True, text=True,
                          env=script_env, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2/2 task(s) succeeded" in proc.stdout
    runs = sorted(rundir.done_runs(root))
    assert len(runs) == 2
    # task lines skip the figures (clean process times); analyze draws them
    assert not (runs[0] / "synthesis_status.png").exists()
    run_script("ps_lbfgs/analyze.py", root / "ps_lbfgs" / "smoke")
    for run in runs:
        saved = torch.load(run / "metamer.pt", weights_only=True)
        # plenoptic keeps the loss before each step, and the final one apart
        losses = [*map(float, saved["_losses"]), float(saved["_current_loss"])]
        assert len(losses) == 4 and float(losses[-1]) < 0.8 * float(losses[0])
        assert rundir.read_process_time(run) > 1.0
        assert (run / "synthesis_status.png").exists()
        row = pd.read_csv(run / "loss.csv").iloc[0]
        assert row["loss"] == pytest.approx(float(losses[-1]))
        assert row["process_duration"] == rundir.read_process_time(run)
        assert row["torch_num_threads"] == 1
    # --skip-done now leaves nothing to run
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke",
                      "--output-root", root, "--skip-done")
    assert "wrote 0 task(s)" in proc.stdout and "2 already done" in proc.stdout
    run_script("ps_lbfgs/summarize.py", "--grid", "smoke", "--output-root", root)
    table = pd.read_csv(root / "ps_lbfgs" / "smoke" / "summary" / "all_loss.csv")
    assert len(table) == 2 and table["process_duration"].gt(0).all()
    assert (root / "ps_lbfgs/smoke/summary/loss_vs_duration_strong_wolfe.png").exists()


def test_analyze_rebuilds_table_and_figures(tmp_path, run_script):
    out = tmp_path / "run"
    run_script("ps_lbfgs/synthesize.py", "--img", "reptile_skin", "--crop", "128",
               "--synth_max_iter", "2", "--max_iter", "3", "--no_plots", "-o", out)
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
    elapsed = rundir.read_process_time(out)
    synth = float(pd.read_csv(out / "loss.csv")["synth_duration"].iloc[0])
    assert elapsed is not None and elapsed > synth
    # a failing run records nothing and keeps its exit status
    proc = run_script("ps_lbfgs/time_synthesize.sh", "--img", "nope", "-o",
                      tmp_path / "bad", check=False)
    assert proc.returncode == 2 and not (tmp_path / "bad").exists()


def test_saved_result_loads_without_pickled_code(tmp_path, run_script):
    out = tmp_path / "run"
    run_script("ps_lbfgs/synthesize.py", "--img", "reptile_skin", "--crop", "128",
               "--synth_max_iter", "1", "--no_plots", "-o", out)
    saved = torch.load(out / "metamer.pt", weights_only=True)
    assert saved["_metamer"].shape == (1, 1, 128, 128)
    assert torch.load(out / "representation.pt", weights_only=True).ndim == 3
    assert os.path.getsize(out / "metamer.pt") < 2_000_000
