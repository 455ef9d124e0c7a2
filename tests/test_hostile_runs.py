"""Hostile runs on the experiments' side (issue 19, reliability round 3).

One test per class, each bounded by a timeout: what an experiment reads of a
run (metamers, tensors, MAT files, images, trajectories) is a regular file of
the run or a named bad file; a result counts only from a published run,
whole, with values in range; one bad file never stops a batch nor leaves a
summary half old, half new; the smaller refusals and ``analyze.py --force``.
Stand-in runs (``benchmarks/_support/fake_runs.py``) wherever a real
synthesis is not the point.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest
from _support import fake_runs

from plenexp import errors
from plenexp.runs import results, rundir
from plenexp.summary import aside
from tests.test_hostile_files import bounded

PY = sys.executable
TRAJECTORY = "step,seconds,loss,evaluations\n0,0.0,1.0,1\n1,0.5,0.5,9\n"


def digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def lbfgs_grid(tmp_path, n):
    grid = tmp_path / "root" / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, n)
    for run in runs:
        (run / "trajectory.csv").write_text(TRAJECTORY)
    return grid, runs


def summarize(run_script, grid, out, check=False):
    return run_script("ps_lbfgs/summarize.py", "--input-dir", grid, "--output-dir",
                      out, check=check, timeout=300)


def summarized_runs(out) -> set[str]:
    with open(out / "all_loss.csv", newline="") as f:
        return {row["run_dir"] for row in csv.DictReader(f)}


# ----------------------------------------------- 1. what experiments read ---

def test_experiment_readers_open_only_regular_files_of_the_run(tmp_path,
                                                               run_script):
    import imageio.v3 as iio
    import numpy as np
    import scipy.io
    import torch

    from plenexp.synth import images, matlab, synthesis

    grid, runs = lbfgs_grid(tmp_path, 4)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret_pt = outside / "secret.pt"
    torch.save({"_metamer": torch.zeros(1, 1, 8, 8)}, secret_pt)
    secret_mat = outside / "secret.mat"
    scipy.io.savemat(secret_mat, {"res": np.zeros((8, 8)), "initToc": 1.0,
                                  "synthToc": 2.0})
    secret_png = outside / "secret.png"
    iio.imwrite(secret_png, np.zeros((8, 8), np.uint8))
    planted = {p: digest(p) for p in outside.iterdir()}
    run = runs[0]
    (run / "metamer.pt").symlink_to(secret_pt)
    os.mkfifo(run / "representation.pt")
    (run / "metamer.mat").symlink_to(secret_mat)
    os.mkfifo(run / "fifo.mat")
    (run / "init.png").symlink_to(secret_png)
    (run / "trajectory.csv").unlink()
    os.mkfifo(run / "trajectory.csv")
    (runs[1] / "trajectory.csv").unlink()
    (runs[1] / "trajectory.csv").symlink_to("/dev/zero")

    for reader, path, kind in (
            (synthesis.load_tensors, run / "metamer.pt", "symlink leading outside"),
            (synthesis.load_tensors, run / "representation.pt", "FIFO"),
            (matlab.read_result, run / "metamer.mat", "symlink leading outside"),
            (matlab.read_result, run / "fifo.mat", "FIFO"),
            (synthesis.read_trajectory, run / "trajectory.csv", "FIFO"),
            (synthesis.read_trajectory, runs[1] / "trajectory.csv",
             "symlink leading outside")):
        with pytest.raises(ValueError, match=kind):
            bounded(30, reader, path)
    with pytest.raises(errors.UsageError, match="symlink leading outside"):
        bounded(30, images.load_image, run / "init.png", within=run)
    os.mkfifo(tmp_path / "target.png")
    with pytest.raises(errors.UsageError):
        bounded(30, images.load_image, tmp_path / "target.png")
    # end to end: the summary goes on without the two curves, and says so
    out = tmp_path / "summary"
    proc = summarize(run_script, grid, out)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert summarized_runs(out) == {str(r) for r in runs}
    skipped = (out / aside.SKIPPED_FILE).read_text()
    assert str(run / "trajectory.csv") in skipped and "FIFO" in skipped
    assert str(runs[1] / "trajectory.csv") in skipped
    assert {p: digest(p) for p in outside.iterdir()} == planted


# ------------------------------------------- 2. what counts as a result ---

def test_a_result_counts_only_from_a_published_run_whole_and_in_range(
        tmp_path, run_script):
    grid, runs = lbfgs_grid(tmp_path, 9)
    bad = {}
    rows = results.read_rows(runs[0] / "loss.csv")
    results.write_row(rows * 2, runs[0] / "loss.csv")  # two rows: a bad run
    bad[runs[0]] = "2 rows, expected one"
    for run, loss, why in ((runs[1], "-0.5", "below 0"), (runs[2], "nan", "not a"),
                           (runs[3], "inf", "not a")):
        rows = results.read_rows(run / "loss.csv")
        rows[0]["loss"] = loss
        results.write_row(rows, run / "loss.csv")
        bad[run] = why
    (runs[4] / rundir.DONE_MARKER).unlink()
    os.mkfifo(runs[4] / rundir.DONE_MARKER)
    bad[runs[4]] = "not a regular file"
    (runs[5] / rundir.DONE_MARKER).write_text("[1, 2]")
    bad[runs[5]] = "not a completion marker"
    rows = results.read_rows(runs[6] / "loss.csv")
    rows[0]["synth_duration"] = "-3"
    results.write_row(rows, runs[6] / "loss.csv")
    bad[runs[6]] = "below 0"
    out = tmp_path / "summary"
    proc = summarize(run_script, grid, out)
    assert proc.returncode == 1, proc.stderr
    good = {str(r) for r in runs if r not in bad}
    assert summarized_runs(out) == good
    text = (out / "summary.txt").read_text()
    assert f"of {len(good)} run(s)" in text
    skipped = (out / aside.SKIPPED_FILE).read_text()
    for run, why in bad.items():
        line = next(ln for ln in skipped.splitlines() if str(run) in ln)
        assert why in line and "left out" in line, line

    # a run of many rows (ps_matlab_vs_plen) with one bad row is left out whole
    from ps_matlab_vs_plen.summarize import REQUIRED_COLUMNS

    vs = tmp_path / "vs"
    for name, losses in (("good", ["1.0", "2.0", "0.5"]),
                         ("one-bad-row", ["0.1", "nan", "0.1"]),
                         ("negative", ["0.1", "-1", "0.1"])):
        rows = [{**{c: "x" for c in REQUIRED_COLUMNS}, "loss_func": "l2_norm",
                 "loss_type": t, "loss": v}
                for t, v in zip(["overall", "a", "b"], losses, strict=True)]
        (vs / name).mkdir(parents=True)
        results.write_row(rows, vs / name / "loss.csv")
        rundir.write_json(vs / name / rundir.DONE_MARKER, {"finished": 1.0})
    got, problems = bounded(30, results.gather, vs, "loss.csv",
                                 required=REQUIRED_COLUMNS, non_negative=("loss",))
    assert {r["run_dir"] for r in got} == {str(vs / "good")} and len(got) == 3
    assert len(problems) == 2 and all("left out whole" in p for p in problems)

    # a grid entry linking to a finished run outside the tree: named, left out
    import shutil

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(vs / "good", elsewhere / "foreign")
    (vs / "foreign").symlink_to(elsewhere / "foreign", target_is_directory=True)
    (vs / "alias").symlink_to(vs / "good", target_is_directory=True)  # inside: ok
    linked, said = bounded(30, results.gather, vs, "loss.csv",
                           required=REQUIRED_COLUMNS, non_negative=("loss",))
    assert {r["run_dir"] for r in linked} == {str(vs / "good")} and len(linked) == 3
    assert [p for p in said if "a symlink leading outside" in p] == [
        f"{vs / 'foreign'}: a symlink leading outside {os.path.realpath(vs)} "
        f"(to {os.path.realpath(elsewhere / 'foreign')}); left out"]
    (vs / "foreign").unlink()
    (vs / "alias").unlink()
    # a duration measured in some rows only: empty or NaN there, never < 0;
    # and text with digit separators is no number (1_0 is no 10)
    from plenexp.runs.results import bad_rows

    rows = [{"loss": "0.1", "synth_duration": ""},
            {"loss": "0.2", "synth_duration": "nan"}]
    assert bad_rows(rows, non_negative=("loss",), measured=("synth_duration",)) is None
    rows[1]["synth_duration"] = "-5"
    assert "below 0" in bad_rows(rows, measured=("synth_duration",))
    rows[1]["synth_duration"] = "inf"
    assert "not a finite number" in bad_rows(rows, measured=("synth_duration",))
    assert "not a finite number" in bad_rows([{"loss": "1_0"}], numeric=("loss",))
    # big grids are read on every core: the same rows and problems, in order
    from plenexp.runs import forking

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forking, "fork_is_useful", lambda: True)
        patch.setattr(forking, "cores", lambda: 2)
        patch.setattr(forking, "MIN_CHUNK", 1)
        forked = bounded(30, results.gather, vs, "loss.csv",
                         required=REQUIRED_COLUMNS, non_negative=("loss",))
        assert forked == (got, problems)

        def fails_in_the_child(chunk):
            if os.getpid() != parent:
                raise ValueError("damaged")
            return list(chunk)

        parent = os.getpid()
        with pytest.raises(RuntimeError, match="ValueError: damaged"):
            forking.map_chunks(fails_in_the_child, [1, 2, 3, 4])
        assert forking.map_chunks(lambda chunk: [x * 2 for x in chunk],
                                  [1, 2, 3, 4, 5]) == [2, 4, 6, 8, 10]
        # begun now, every chunk in a child (this process free meanwhile)
        pending = forking.start_chunks(
            lambda chunk: [(x, os.getpid()) for x in chunk], [1, 2, 3, 4, 5])
        done = pending()
        assert [x for x, _ in done] == [1, 2, 3, 4, 5]
        assert len({pid for _, pid in done}) == 2
        assert parent not in {pid for _, pid in done}
        with pytest.raises(RuntimeError, match="ValueError: damaged"):
            forking.start_chunks(fails_in_the_child, [1, 2, 3, 4])()
        # a child's collections leave the inherited heap alone (frozen for
        # the fork), and this process's objects are collected as before
        import gc

        process, receive = forking.child(
            lambda send: send.send(gc.get_freeze_count()))
        assert receive.recv() > 1000
        process.join()
        assert gc.get_freeze_count() == 0

    # ps_matlab: a run directory without done.json is never a loose result
    from ps_matlab.metamers import find_metamers

    loose = tmp_path / "matlab" / "img_seed-0_iter-5"
    loose.mkdir(parents=True)
    (loose / "metamer.mat").write_bytes(b"not read")
    (loose / "target.png").write_bytes(b"not read")
    (loose / "metamer.png").write_bytes(b"a picture named like the MAT file")
    rundir.write_json(loose / "provenance.json", {"args": {"img": "img"}})
    found, problems = bounded(30, find_metamers, tmp_path / "matlab",
                                   loose)
    assert found == []
    assert problems and "without done.json" in problems[0]


# -------------------------------------------------- 3. batches, summaries ---

def test_one_bad_file_never_stops_a_batch_nor_half_updates_a_summary(
        tmp_path, run_script):
    grid, runs = lbfgs_grid(tmp_path, 5)
    out = tmp_path / "summary"
    summarize(run_script, grid, out, check=True)
    before = {p.name: digest(p) for p in out.iterdir()}
    # a summary that fails half-way leaves the earlier one byte for byte
    with pytest.raises(RuntimeError):
        with aside.built_aside(out) as tmp:
            results.write_row({"loss": 1.0}, tmp / "all_loss.csv")
            (tmp / "summary.txt").write_text("half")
            raise RuntimeError("killed half-way")
    assert {p.name: digest(p) for p in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".summary")] == []
    # a symlink planted as the summary directory is replaced, not written through
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("precious\n")
    planted = tmp_path / "planted"
    planted.symlink_to(elsewhere, target_is_directory=True)
    with aside.built_aside(planted) as tmp:
        (tmp / "conclusion.txt").write_text("new\n")
    assert not planted.is_symlink() and (planted / "conclusion.txt").exists()
    assert [p.name for p in elsewhere.iterdir()] == ["precious.txt"]
    # an empty and a damaged trajectory, a 300 kB field: reported, rest whole
    (runs[0] / "trajectory.csv").write_text("")
    (runs[1] / "trajectory.csv").write_text("step,seconds\n1,2,3,4\n")
    rows = results.read_rows(runs[2] / "loss.csv")
    rows[0]["note"] = "x" * 300_000
    results.write_row(rows, runs[2] / "loss.csv")
    (runs[3] / "loss.csv").write_text("")  # analyze: reported, the rest done
    proc = run_script("ps_lbfgs/analyze.py", "--no_plots", grid, check=False,
                      timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"of {len(runs)} run(s) analyzed" in proc.stdout
    assert [ln for ln in proc.stderr.splitlines() if "skipped" in ln and
            str(runs[3]) in ln]
    proc = summarize(run_script, grid, out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert summarized_runs(out) == {str(r) for r in runs if r != runs[3]}
    after = {p.name: digest(p) for p in out.iterdir()}
    assert after["all_loss.csv"] != before["all_loss.csv"]
    assert after["summary.txt"] != before["summary.txt"]
    assert "4 run(s)" in (out / "summary.txt").read_text()
    skipped = (out / aside.SKIPPED_FILE).read_text()
    assert str(runs[0] / "trajectory.csv") in skipped
    assert str(runs[1] / "trajectory.csv") in skipped
    # planted in the summary itself: a FIFO (blocked the copy of the earlier
    # summary) and a symlinked folder (written through): left out and named
    (out / "all_loss.csv").unlink()
    os.mkfifo(out / "all_loss.csv")
    (elsewhere / "figure.png").write_text("not a figure\n")
    (out / "metamers").symlink_to(elsewhere, target_is_directory=True)
    outside = {p.name: digest(p) for p in elsewhere.iterdir()}
    proc = summarize(run_script, grid, out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (out / "all_loss.csv").is_file() and not (out / "metamers").exists()
    assert {p.name: digest(p) for p in elsewhere.iterdir()} == outside
    skipped = (out / aside.SKIPPED_FILE).read_text()
    assert f"{out / 'all_loss.csv'}: a FIFO" in skipped
    assert f"{out / 'metamers'}: a symlink" in skipped
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".summary")] == []


@pytest.mark.slow  # builds ps_matlab_vs_plen's smoke grid (about 40 s)
def test_vs_plen_summary_goes_on_past_a_run_file_it_cannot_read(
        tmp_path, run_script, smoke_grid):
    """One run's provenance or metamer a FIFO: every other figure still made."""
    import shutil

    grid = tmp_path / "root" / "ps_matlab_vs_plen" / "smoke"
    shutil.copytree(smoke_grid("ps_matlab_vs_plen"), grid, symlinks=True)
    shutil.rmtree(grid / "summary", ignore_errors=True)
    runs = sorted(p for p in grid.iterdir() if rundir.is_done(p))
    assert len(runs) >= 2
    (runs[0] / "provenance.json").unlink()
    os.mkfifo(runs[0] / "provenance.json")
    out = tmp_path / "summary"

    def summarize_vs():
        proc = run_script("ps_matlab_vs_plen/summarize.py", "--input-dir", grid,
                          "--output-dir", out, check=False, timeout=300)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert len(summarized_runs(out)) == len(runs)
        return (out / aside.SKIPPED_FILE).read_text()

    # the target taken from another run; the file named
    assert f"{runs[0] / 'provenance.json'}: unreadable (a FIFO" in summarize_vs()
    assert list(out.glob("metamers/*.png"))
    # and that run's metamer a FIFO too: no run gives the target, no grid
    (runs[1] / "metamer.pt").unlink()
    os.mkfifo(runs[1] / "metamer.pt")
    out = tmp_path / "second summary"
    skipped = summarize_vs()
    assert f"{runs[0] / 'provenance.json'}: unreadable (a FIFO" in skipped
    assert f"{runs[1] / 'metamer.pt'}: unreadable (not a regular file)" in skipped
    assert not list(out.glob("metamers/*.png")) and (out / "summary.txt").is_file()


def test_vs_plen_analyze_goes_on_past_an_unreadable_run(tmp_path, run_script):
    import numpy as np
    import scipy.io

    grid = tmp_path / "root" / "ps_matlab_vs_plen" / "g"
    for name, img in (("a-unknown-target", "no_such_image_anywhere"),
                      ("b-garbage-mat", "einstein")):
        run = grid / name
        run.mkdir(parents=True)
        rundir.write_json(run / "provenance.json", {
            "args": {"img": img, "n_iter": 5, "seed": 0},
            "engine": "Octave", "engine_version": "7"})
        rundir.write_json(run / rundir.DONE_MARKER, {"finished": 1.0})
    scipy.io.savemat(grid / "a-unknown-target" / "metamer.mat",
                     {"res": np.zeros((64, 64)), "initToc": 1.0, "synthToc": 2.0})
    (grid / "b-garbage-mat" / "metamer.mat").write_bytes(b"garbage")
    proc = run_script("ps_matlab_vs_plen/analyze.py", grid, "--no_plots",
                      check=False, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "0 of 2 result(s) analysed" in proc.stdout and "2 unreadable" in proc.stdout
    assert len([ln for ln in proc.stderr.splitlines()
                if ln.startswith("skipped")]) == 2


# ----------------------------------------------------------- 4. smaller ---

@pytest.mark.parametrize("experiment", ["ps_lbfgs", "ps_matlab", "ps_matlab_vs_plen",
                                        "ps_noise"])
def test_control_characters_and_negative_store_progress_refused(
        tmp_path, run_script, experiment):
    root = tmp_path / "out"
    for value in ("fig4a\nx", "fig4a\rx", "fig\x1b[2Ja"):
        proc = run_script(f"{experiment}/synthesize.py", "--img", value,
                          "--output-root", root, check=False, timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert "line break or control character" in proc.stderr
    if experiment == "ps_lbfgs":
        proc = run_script("ps_lbfgs/synthesize.py", "--store_progress", "-5",
                          "--output-root", root, check=False, timeout=60)
        assert proc.returncode == 2 and "store_progress" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not root.exists()


@pytest.mark.parametrize("experiment", ["ps_lbfgs", "ps_noise"])
def test_analyze_force_rebuilds_a_damaged_table(tmp_path, run_script, experiment):
    """Each damage in a copy of one finished run; one ``analyze --force`` of them."""
    source = tmp_path / "source"
    run_script(f"{experiment}/synthesize.py", "--img", "reptile_skin", "--crop",
               "128", "--synth_max_iter", "1", "--history_size", "10",
               "--no_plots", "--output_dir", source)
    original = results.read_rows(source / "loss.csv")[0]
    grid = tmp_path / "grid"
    # a link out of the run at loss.csv: removed and rebuilt, its target untouched
    target = tmp_path / "precious.csv"
    target.write_text("precious\n")
    damages = (b"", b"loss\n1,2,3\n", b"\xff\xfe garbage", target)
    for i, damage in enumerate(damages):
        run = grid / f"{source.name}-{i}"
        shutil.copytree(source, run, symlinks=True)
        (run / "loss.csv").unlink()
        if isinstance(damage, Path):
            (run / "loss.csv").symlink_to(damage)
        else:
            (run / "loss.csv").write_bytes(damage)
    proc = run_script(f"{experiment}/analyze.py", "--force", "--no_plots", grid,
                      check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for i in range(len(damages)):
        table = grid / f"{source.name}-{i}" / "loss.csv"
        assert not table.is_symlink()
        rebuilt = results.read_rows(table)[0]
        assert float(rebuilt["loss"]) == pytest.approx(float(original["loss"]),
                                                       rel=1e-6)
    assert target.read_text() == "precious\n"


def test_analysis_split_over_forked_processes_counts_every_problem(tmp_path,
                                                                   capfd):
    """Runs analyzed in forked children: each run once, every problem counted.

    A child's count of problems dies with it; the parent must add them, or a
    batch with unreadable runs would exit 0.
    """
    from plenexp.runs import forking

    runs = []
    for i in range(7):
        run = tmp_path / f"run-{i}"
        run.mkdir()
        rundir.write_json(run / rundir.DONE_MARKER, {"finished": 1.0})
        runs.append(run)
    bad = {runs[1].name, runs[5].name, runs[6].name}  # in the first and last chunk

    def analyze_run(run, figures=True, force=False):
        if run.name in bad:
            raise OSError(f"cannot read {run.name}")
        (run / f"analyzed-by-{os.getpid()}").touch()
        return run.name != runs[0].name  # nothing to write for the first

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(forking, "fork_is_useful", lambda: True)
        patch.setattr(forking, "cores", lambda: 2)
        n = bounded(60, results.analyze_runs, [tmp_path], analyze_run)
    assert n == 3
    assert errors.problem_count() == 3
    marks = {p.name for run in runs for p in run.iterdir()
             if p.name.startswith("analyzed-by-")}
    assert len(marks) == 2  # this process and one child
    assert sorted(r.name for r in runs
                  if any(p.name.startswith("analyzed-by-") for p in r.iterdir())) \
        == sorted(r.name for r in runs if r.name not in bad)
    out, err = capfd.readouterr()
    assert all(f"cannot read {name}" in err for name in bad), err
    assert "3 of 7 run(s) analyzed" in out
