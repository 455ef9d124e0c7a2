"""Hostile input and shared-filesystem faults (issue 10, items 2 to 8).

Each test reproduces one failure a user or a broken cluster produced: a NaN
scoring a perfect metamer, a newline injecting a command into a task file,
pickled code in a result, another node's live run deleted, one bad file
aborting a whole summary, bad numbers giving tracebacks, and the lower ones.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _support import fake_runs

from plenexp import cli
from plenexp.cluster import tasks
from plenexp.runs import rundir
from tests.conftest import REPO

PY = sys.executable
#: The smallest real run (issue 10's ``A``).
A = ["--img", "reptile_skin", "--crop", "128", "--max_iter", "2", "--max_eval", "2",
     "--synth_max_iter", "1", "--no_plots"]


def _run(args, cwd, env, timeout=300):
    return subprocess.run([PY, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _assert_refused(proc, work: Path, status: int = 2, expect: str | None = None):
    """One line on stderr, the status, and nothing on disk."""
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == status, (proc.returncode, proc.stderr)
    assert len(lines) == 1, lines
    assert "Traceback" not in proc.stderr
    if expect is not None:
        assert re.search(expect, lines[0]), lines[0]
    assert sorted(p.relative_to(work).as_posix() for p in work.rglob("*")) == []


@pytest.fixture
def work(tmp_path, script_env):
    """An empty working directory, and the environment of a user in it."""
    work = tmp_path / "work"
    work.mkdir()
    env = dict(script_env, MPLCONFIGDIR=str(tmp_path / "mpl"))
    return work, env


def _target_png(path: Path) -> Path:
    from plenexp.synth import images

    images.save_grayscale_png(images.load_image("reptile_skin", crop=128), path)
    return path


def _write_mat(path: Path, res, init_toc=1.0, synth_toc=3.0) -> Path:
    import scipy.io

    scipy.io.savemat(path, {"res": res, "initToc": init_toc, "synthToc": synth_toc})
    return path


def _matlab_like(target_png: Path, seed: int = 0):
    import imageio.v3 as iio

    rng = np.random.default_rng(seed)
    target = iio.imread(target_png).astype(float)
    return np.clip(target + rng.normal(0, 20, target.shape), 0, 255)


# --------------------------------------------------------------------------
# 2. A NaN never scores a perfect metamer
# --------------------------------------------------------------------------


def test_group_losses_takes_redundant_statistics_from_the_model():
    import torch

    from plenexp.synth import images, synthesis

    image = images.load_image("reptile_skin", crop=128)
    model = synthesis.make_model(image)
    metamer = torch.rand_like(image)
    losses = synthesis.group_losses(model, image, metamer)
    # the statistics counted in each group are exactly those plenoptic keeps
    kept = {k: int(v.sum()) for k, v in model._necessary_stats_dict.items()}
    for group, n in kept.items():
        sse, mse = losses["sse"][group], losses["mse"][group]
        assert sse > 0 and round(sse / mse) == n, group
    assert round(losses["sse"]["overall"] / losses["mse"]["overall"]) == sum(
        kept.values())
    # the same loss as summing the squared difference of the statistics
    diff = (model(image) - model(metamer)).double()
    assert math.isclose(losses["l2_norm"]["overall"], float(diff.norm()),
                        rel_tol=1e-12)

    # one NaN pixel: no loss at all, never 0
    broken = metamer.clone()
    broken[..., 5, 7] = math.nan
    with pytest.raises(ValueError, match="non-finite"):
        synthesis.group_losses(model, image, broken)
    with pytest.raises(ValueError, match="not finite"):
        synthesis.group_losses(model, image, torch.full_like(image, 0.5))


def test_nan_matlab_metamer_is_reported_and_left_out_of_the_summary(tmp_path,
                                                                     run_script):
    mats = tmp_path / "mats"
    mats.mkdir()
    target = _target_png(mats / "tex.png")
    good = _write_mat(mats / "tex_seed-0_iter-2.mat", _matlab_like(target))
    res = _matlab_like(target, 1)
    res[10, 20] = np.nan
    nan = _write_mat(mats / "tex_seed-1_iter-2.mat", res)
    flat = _write_mat(mats / "tex_seed-2_iter-2.mat", np.full((128, 128), 100.0))
    out = tmp_path / "summary"
    proc = run_script("ps_matlab/summarize.py", "--input_dir", mats, "--output-dir",
                      out, check=False)
    assert proc.returncode == 1, proc.stderr
    assert f"skipped {nan}: " in proc.stderr and "non-finite" in proc.stderr
    assert f"skipped {flat}: " in proc.stderr
    table = pd.read_csv(out / "all_loss.csv")
    assert list(table["mat_path"]) == [str(good)]
    from ps_matlab.summarize import group_columns

    groups = group_columns(table)
    assert len(groups) == 11 and (table[["loss", *groups]] > 0).all(axis=None)

    # ps_matlab_vs_plen's analysis: the same NaN metamer gets no table, no 0.0
    csvs = tmp_path / "csv"
    proc = run_script("ps_matlab_vs_plen/analyze.py", good, nan, "--img", target,
                      "--csv_dir", csvs, check=False)
    assert proc.returncode == 1
    assert f"skipped {nan}" in proc.stderr
    assert [p.name for p in csvs.iterdir()] == [good.with_suffix(".csv").name]
    losses = pd.read_csv(csvs / good.with_suffix(".csv").name)["loss"]
    assert (losses > 0).all() and losses.notna().all()

    # ps_matlab's figures: the NaN metamer is named and not drawn
    proc = run_script("ps_matlab/plot.py", mats, "-o", tmp_path / "figs",
                      check=False)
    assert proc.returncode == 1 and f"skipped {nan}: " in proc.stderr
    assert sorted(p.name for p in (tmp_path / "figs").glob("*.png")) == [
        f"{good.stem}.png"]


DIVERGE = """
import sys
from pathlib import Path

import torch

from plenexp import cli
from plenexp.runs import harness
from plenexp.synth import images, synthesis


def main():
    image = images.load_image("reptile_skin", crop=128)
    with harness.started_run(Path(sys.argv[1]), {"lr": "inf"},
                             torch.device("cpu")):
        model = synthesis.make_model(image)
        met = synthesis.make_metamer(
            image, model, synthesis.make_loss("l2_norm", model, image))
        met.setup(optimizer=torch.optim.LBFGS, optimizer_kwargs=synthesis.lbfgs_kwargs(
            2, 2, 10, None, float("inf")))
        synthesis.synthesize(met, 2, progress_chunks=0)


cli.run(main)
"""


def test_a_run_whose_loss_is_not_finite_fails_and_publishes_nothing(work):
    work, env = work
    proc = _run(["-c", DIVERGE, work / "root" / "grid" / "run"], work, env)
    _assert_refused(proc, work, status=1, expect="failed: synthesis diverged")
    # and the scripts refuse such a learning rate before starting
    proc = _run([REPO / "ps_lbfgs/synthesize.py", *A, "--lr", "inf"], work, env)
    _assert_refused(proc, work, expect="--lr")


# --------------------------------------------------------------------------
# 3. Every task line is one line
# --------------------------------------------------------------------------

INJECTION = "x/line1\ntouch PWNED\nx"


@pytest.mark.parametrize("writer", ["ps_lbfgs/write_disbatch.py",
                                    "ps_noise/write_disbatch.py",
                                    "ps_matlab_vs_plen/write_disbatch.py"])
def test_a_line_break_in_the_output_root_is_refused(writer, work):
    work, env = work
    proc = _run([REPO / writer, "--grid", "smoke", "--output-root", INJECTION],
                work, env)
    _assert_refused(proc, work, expect="line break")
    # through the environment too, where argparse does not look
    proc = _run([REPO / writer, "--grid", "smoke"], work,
                dict(env, PLENEXP_OUTPUT_ROOT=str(work / INJECTION)))
    assert proc.returncode == 2 and "line break" in proc.stderr
    assert not list(work.rglob("*.txt")) and not (work / "PWNED").exists()


def test_analysis_writer_refuses_a_run_named_with_a_line_break(tmp_path, work):
    work, env = work
    grid = tmp_path / "grid"
    for name in ("good", "evil\ntouch PWNED_AN\n#"):
        (grid / name).mkdir(parents=True)
        rundir.write_json(grid / name / rundir.DONE_MARKER, {})
    proc = _run([REPO / "ps_matlab_vs_plen/analyze_write_disbatch.py", grid], work,
                env)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "line break" in proc.stderr
    assert not (grid / "analyze-disbatch.txt").exists()


ODD = ["a b", "c;d", "e'f", 'g"h', "$(touch PWNED)", "`touch PWNED`", "tab\tbed",
       "back\\slash", "üñï €", "*", "-n", ""]


def test_odd_arguments_stay_one_task_each_through_disbatch(tmp_path, script_env):
    root = tmp_path / "odd 'root'; $(touch PWNED)"
    root.mkdir()
    lines = []
    for i in range(2):
        out = root / f"args-{i}.json"
        command = [PY, "-c", "import json, sys; json.dump(sys.argv[2:], "
                   "open(sys.argv[1], 'w'))", out, *ODD, str(i)]
        lines.append(tasks.shell_line(command, {"TQDM_DISABLE": "1"},
                                      root / f"log {i}.txt", cwd=root))
    taskfile = root / "tasks.txt"
    assert tasks.write_taskfile(lines, taskfile) == 2
    assert len(taskfile.read_text().splitlines()) == 2
    proc = subprocess.run([PY, "-m", "plenexp.cluster.disbatch_local",
                           taskfile, "--cores", "2"], env=script_env,
                          cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2/2 task(s) succeeded" in proc.stdout
    for i in range(2):
        assert json.loads((root / f"args-{i}.json").read_text()) == [*ODD, str(i)]
    assert not list(tmp_path.rglob("PWNED"))


def test_a_task_file_that_asks_runs_one_task_at_a_time(tmp_path, script_env):
    """ps_speed's timing tasks: the first-line request, and --cores over it."""
    lines = [tasks.shell_line([PY, "-c", "pass"], {}, tmp_path / f"log-{i}.txt",
                              cwd=tmp_path) for i in range(2)]
    taskfile = tmp_path / "tasks.txt"
    assert tasks.write_taskfile(lines, taskfile, one_at_a_time=True) == 2
    assert taskfile.read_text().splitlines()[0] == tasks.ONE_AT_A_TIME
    for extra, cores in (((), 1), (("--cores", "2"), 2)):
        proc = subprocess.run([PY, "-m", "plenexp.cluster.disbatch_local",
                               taskfile, *extra], env=script_env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert f"running 2 task(s) from {taskfile} on {cores} core(s)" in proc.stdout
        assert "2/2 task(s) succeeded" in proc.stdout


@pytest.mark.parametrize("bad", ["\n", "\r", "\x0b", "\x0c", "\x00", "\x1b",
                                 "\x85", "\u2028", "\u2029"])
def test_shell_line_refuses_every_line_breaking_character(bad, tmp_path):
    with pytest.raises(cli.UsageError, match="line break"):
        tasks.shell_line(["echo", f"a{bad}b"], {}, tmp_path / "log")
    with pytest.raises(cli.UsageError, match="line break"):
        tasks.shell_line(["echo"], {"X": f"a{bad}b"}, tmp_path / "log")
    with pytest.raises(cli.UsageError, match="line break"):
        tasks.shell_line(["echo"], {}, tmp_path / f"lo{bad}g")


# --------------------------------------------------------------------------
# 4. Loading never runs pickled code
# --------------------------------------------------------------------------


class _Evil:
    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (self.path, "pickled code ran"))


LOAD = """
import sys
from pathlib import Path
from plenexp.synth import images, synthesis
image = images.load_image("reptile_skin", crop=128)
model = synthesis.make_model(image)
loss = synthesis.make_loss("l2_norm", model, image)
for load in (lambda p: synthesis.load_metamer(p, image, model, loss),
             synthesis.load_tensors):
    try:
        load(Path(sys.argv[1]))
    except Exception as err:
        print("refused:", type(err).__name__)
"""


def test_results_load_safely_even_when_torch_is_told_otherwise(tmp_path,
                                                              script_env):
    import torch

    ran = tmp_path / "ran.txt"
    evil = tmp_path / "metamer.pt"
    torch.save({"_metamer": torch.zeros(1, 1, 128, 128), "payload": _Evil(ran)},
               evil)
    env = dict(script_env, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    proc = subprocess.run([PY, "-c", LOAD, evil], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.count("refused:") == 2, proc.stdout + proc.stderr
    assert not ran.exists()


def _load_calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "load":
            owner = node.func.value
            keywords = {k.arg: k.value for k in node.keywords}
            torch_load = isinstance(owner, ast.Name) and owner.id == "torch"
            if torch_load or "map_location" in keywords:  # torch or plenoptic
                yield node.lineno, keywords.get("weights_only")


def test_every_result_is_loaded_with_weights_only():
    sources = [p for p in REPO.glob("*/*.py")
               if p.parts[-2] != "tests" and ".venv" not in p.parts]
    sources += list(REPO.glob("plenexp/**/*.py"))
    checked = 0
    for source in sources:
        for line, weights_only in _load_calls(source):
            checked += 1
            assert isinstance(weights_only, ast.Constant) \
                and weights_only.value is True, f"{source}:{line}"
    assert checked >= 5
    text = (REPO / "pyproject.toml").read_text()
    assert re.search(r'"torch>=2\.([6-9]|\d\d)', text), "torch floor below 2.6"


# --------------------------------------------------------------------------
# 5. Another node's live attempt is left alone
# --------------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.run([PY, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True)
    return int(proc.stdout)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_only_provably_dead_partials_are_removed(tmp_path):
    final = tmp_path / "run"
    dead = _dead_pid()
    sleeper = subprocess.Popen([PY, "-c", "import time; time.sleep(60)"])
    try:
        other_live = rundir.hidden_dir(final, "partial", "node-b17.cluster", dead)
        other_old = rundir.hidden_dir(final, "partial", "node-b18", dead)
        here_dead = rundir.hidden_dir(final, "partial", pid=dead)
        here_live = rundir.hidden_dir(final, "partial", pid=sleeper.pid)
        legacy = final.with_name(f".run.partial-{dead}")
        legacy_old = final.with_name(f".run.partial-{dead + 1}")
        for path in (other_live, other_old, here_dead, here_live, legacy,
                     legacy_old):
            path.mkdir()
            (path / "half.txt").write_text("x")
        _age(other_old, rundir.STALE_AFTER_S + 60)
        _age(legacy_old, rundir.STALE_AFTER_S + 60)
        with rundir.atomic_run_dir(final) as tmp:
            assert tmp.name == f".run.partial-{rundir.HOST}-{os.getpid()}"
        assert rundir.is_done(final)
        # another node's attempt (same pid number or not) lives until it ages;
        # here, only the live process's attempt is kept
        assert other_live.exists() and here_live.exists() and legacy.exists()
        assert not other_old.exists() and not here_dead.exists()
        assert not legacy_old.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_live_attempt_keeps_its_partial_fresh(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir, "HEARTBEAT_S", 0.05)
    with rundir.atomic_run_dir(tmp_path / "run") as tmp:
        _age(tmp, 2 * rundir.STALE_AFTER_S)
        time.sleep(0.5)
        # what another node sees while this attempt computes for hours
        assert time.time() - tmp.stat().st_mtime < 5
        assert not rundir.is_stale(tmp, "other-node", 1)


# --------------------------------------------------------------------------
# 6. One bad file never aborts a summary, an analysis or a report
# --------------------------------------------------------------------------


def _edit_csv(path: Path, edit) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    edit(frame).to_csv(path, index=False)


def test_done_runs_counts_each_run_once_and_survives_loops(tmp_path):
    root = tmp_path / "grid"
    runs = fake_runs.write_ps_lbfgs_runs(root, 3)
    (root / "alias").symlink_to(runs[0], target_is_directory=True)
    (root / "up").symlink_to(root, target_is_directory=True)  # a cycle
    (root / "loop-a").symlink_to(root / "loop-b")
    (root / "loop-b").symlink_to(root / "loop-a")  # ELOOP
    (root / "dangling").symlink_to(root / "nowhere")
    marker_dir = root / "marker-is-a-directory"
    (marker_dir / rundir.DONE_MARKER).mkdir(parents=True)
    problems: list[str] = []
    found = list(rundir.done_runs(root, problems))
    assert sorted(found) == sorted(runs)  # the real paths, each once
    assert sorted(line.split(":")[0] for line in problems) == [
        str(root / "loop-a"), str(root / "loop-b")]
    assert not rundir.is_done(marker_dir)


def test_summary_reports_each_bad_file_skips_it_and_exits_1(tmp_path,
                                                            run_script):
    grid = tmp_path / "root" / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, 10)
    good = runs[:3]
    (runs[3] / "loss.csv").unlink()
    (runs[3] / "loss.csv").mkdir()
    (runs[4] / "loss.csv").unlink()
    (runs[4] / "loss.csv").symlink_to(runs[4] / "loss.csv")
    _edit_csv(runs[5] / "loss.csv", lambda f: f.drop(columns="lr"))
    _edit_csv(runs[6] / "loss.csv", lambda f: f.assign(synth_duration="abc"))
    _edit_csv(runs[7] / "loss.csv", lambda f: f.assign(max_iter="abc"))
    (runs[8] / "provenance.json").write_text("[1, 2]")  # not read by summaries
    good.append(runs[8])
    odd = os.fsdecode(os.fsencode(str(runs[9])) + b"-\xff\xfe")
    os.rename(runs[9], odd)
    (grid / "alias").symlink_to(good[0], target_is_directory=True)
    (grid / "loop").symlink_to(grid / "loop")
    proc = run_script("ps_lbfgs/summarize.py", "--grid", "quick", "--output-root",
                      tmp_path / "root", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{len(good)} run(s) summarized" in proc.stdout
    for bad in runs[3:8]:
        assert f"skipped {bad / 'loss.csv'}: " in proc.stderr, bad.name
    assert "name is not UTF-8" in proc.stderr and f"skipped {grid / 'loop'}" in \
        proc.stderr
    table = pd.read_csv(grid / "summary" / "all_loss.csv")
    assert sorted(table["run_dir"]) == sorted(map(str, good))


def test_report_goes_on_past_bad_provenance_and_odd_names(tmp_path):
    root = tmp_path / "root"
    grid = root / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, 3)
    (runs[0] / "provenance.json").write_text("[1, 2]")
    odd = os.fsdecode(os.fsencode(str(runs[1])) + b"-\xff")
    os.rename(runs[1], odd)
    (grid / "summary").mkdir()  # a summary that failed: empty
    proc = subprocess.run([PY, "-m", "plenexp.report", "--output-root", root],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert f"skipped {runs[0] / 'provenance.json'}: " in proc.stderr
    page = (root / "index.html").read_text()
    assert runs[2].name in page and "provenance unreadable" in page
    assert "%FF" in page  # the odd name's bytes, linked
    assert "No summary yet" in page


MAT_CASES = {
    "one-d": np.arange(128.0),
    "empty": np.zeros((0, 0)),
    "small": np.full((64, 64), 100.0) + np.eye(64),
    "complex": np.ones((128, 128)) * (1 + 1j),
}


def test_matlab_analysis_skips_each_bad_res(tmp_path, run_script):
    mats = tmp_path / "mats"
    mats.mkdir()
    target = _target_png(mats / "tex.png")
    good = _write_mat(mats / "tex_seed-0_iter-2.mat", _matlab_like(target))
    bad = [_write_mat(mats / f"tex_seed-{i + 1}_iter-2.mat", res)
           for i, res in enumerate(MAT_CASES.values())]
    garbage = mats / "tex_seed-9_iter-2.mat"
    garbage.write_bytes(b"MATLAB 5.0 MAT-file" + os.urandom(200))
    proc = run_script("ps_matlab_vs_plen/analyze.py", good, *bad, garbage,
                      "--img", target, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for path in (*bad, garbage):
        assert f"skipped {path}: " in proc.stderr
    assert "1 of 6 result(s) analysed" in proc.stdout
    assert good.with_suffix(".csv").exists()


@pytest.mark.slow
def test_analysis_of_real_runs_skips_bad_metamers_and_provenance(tmp_path,
                                                                 run_script):
    grid = tmp_path / "grid"
    first = grid / "run-0"
    run_script("ps_lbfgs/synthesize.py", *A, "-o", first)
    copies = [grid / f"run-{i}" for i in range(1, 4)]
    for copy in copies:
        shutil.copytree(first, copy)
    (copies[0] / "metamer.pt").write_bytes(b"PK\x03\x04 not a zip")
    (copies[1] / "provenance.json").write_text('["a list"]')
    (copies[2] / "metamer.pt").unlink()
    (copies[2] / "metamer.pt").mkdir()
    proc = run_script("ps_lbfgs/analyze.py", grid, "--force", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for copy in copies[:2]:
        assert f"skipped {copy}: " in proc.stderr
    # an error that names its file: the file, not only the run
    assert f"skipped {copies[2] / 'metamer.pt'}: a directory" in proc.stderr
    assert f"analyzed {first}" in proc.stdout and "1 of 4 run(s)" in proc.stdout


@pytest.mark.slow
def test_ps_noise_summary_and_analysis_skip_bad_saved_tensors(tmp_path,
                                                              run_script):
    grid = tmp_path / "grid"
    first = grid / "run-c"
    run_script("ps_noise/synthesize.py", "--img", "reptile_skin", "--crop", "128",
               "--synth_max_iter", "1", "--no_plots", "-f", first)
    # the contact sheet takes a row's initial image from its first run: a bad
    # one there gives way to the next
    bad_init, bad_metamer = grid / "run-a", grid / "run-b"
    for copy in (bad_init, bad_metamer):
        shutil.copytree(first, copy)
    (bad_init / "init.pt").write_bytes(os.urandom(100))
    (bad_metamer / "metamer.pt").write_text("not a result")
    out = tmp_path / "summary"
    proc = run_script("ps_noise/summarize.py", "--input_dir", grid, "--output-dir",
                      out, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"skipped {bad_init / 'init.pt'}: not drawn" in proc.stderr
    assert f"skipped {bad_metamer / 'metamer.pt'}: not drawn" in proc.stderr
    assert "3 run(s) summarized" in proc.stdout  # their tables are good
    assert (out / "contact_sheet_reptile_skin.png").stat().st_size > 1000
    proc = run_script("ps_noise/analyze.py", grid, "--force", check=False)
    assert proc.returncode == 1, proc.stderr
    for bad in (bad_init, bad_metamer):
        assert f"skipped {bad}: " in proc.stderr
    assert f"analyzed {first}" in proc.stdout and "1 of 3 run(s)" in proc.stdout


# --------------------------------------------------------------------------
# 7. Bad numbers: exit 2, one line, nothing on disk
# --------------------------------------------------------------------------

BAD_NUMBERS = [
    ("ps_lbfgs/synthesize.py", [*A, "--seed", "-5"]),
    ("ps_lbfgs/synthesize.py", [*A, "--seed", "99999999999"]),
    ("ps_lbfgs/synthesize.py", [*A, "--lr", "nan"]),
    ("ps_lbfgs/synthesize.py", [*A, "--lr", "-1"]),
    ("ps_lbfgs/synthesize.py", [*A, "--max_eval", "0"]),
    ("ps_lbfgs/synthesize.py", [*A, "--output-root", ""]),
    ("ps_lbfgs/synthesize.py", [*A, "--device", "²"]),
    ("ps_noise/synthesize.py", ["--img", "reptile_skin", "--crop", "128",
                                "--weighted", "1,1,1,1,0,0,1e300"]),
    ("ps_noise/synthesize.py", ["--img", "reptile_skin", "--init_noise", "1e300"]),
    ("ps_noise/synthesize.py", ["--img", "reptile_skin", "--init_seed", "-1"]),
    ("ps_matlab_vs_plen/synthesize.py", ["--img", "reptile_skin", "--crop", "128",
                                         "--init_img", "{init}", "--synth_max_iter",
                                         "1", "--weighted", "inf"]),
    ("ps_matlab_vs_plen/generate_init_imgs.py", ["--size", "99999999"]),
    ("ps_matlab_vs_plen/generate_init_imgs.py", ["--seeds", "99999999999"]),
    ("ps_matlab/synthesize.py", ["--img", "reptile_skin", "--seed", "-3"]),
    ("ps_lbfgs/write_disbatch.py", ["--device", "²"]),
    ("ps_lbfgs/write_disbatch.py", ["--device", "cuda:x"]),
    ("ps_lbfgs/write_disbatch.py", ["--threads", "99999999999"]),
    ("ps_lbfgs/write_disbatch.py", ["--output-root", ""]),
    ("ps_noise/write_disbatch.py", ["--threads", "0"]),
]


@pytest.mark.parametrize("script, args", BAD_NUMBERS,
                         ids=[f"{s.split('/')[0]}-{' '.join(a[-2:])}"
                              for s, a in BAD_NUMBERS])
def test_bad_numbers_are_refused_cleanly(script, args, work, tmp_path):
    work, env = work
    if "{init}" in args:  # an initial image that exists, outside the work dir
        init = _image_file(tmp_path / "init.png", np.random.default_rng(0).integers(
            0, 256, (128, 128), dtype="uint8"))
        args = [str(init) if a == "{init}" else a for a in args]
    proc = _run([REPO / script, *args], work, env)
    _assert_refused(proc, work)


def test_writers_canonicalize_device_numbers(tmp_path, run_script):
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--device",
                      "cuda:00", "--output-root", tmp_path)
    taskfile = tmp_path / "ps_lbfgs" / "smoke" / "disbatch-cuda-0.txt"
    assert str(taskfile) in proc.stdout
    words = shlex.split(taskfile.read_text().splitlines()[0])
    assert words[words.index("--device") + 1] == "cuda:0"


def _image_file(path: Path, array) -> Path:
    import imageio.v3 as iio

    iio.imwrite(path, array)
    return path


@pytest.mark.parametrize("kind", ["constant", "nan", "not-an-image"])
def test_unusable_images_are_refused_cleanly(kind, tmp_path, work):
    work, env = work
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    if kind == "constant":
        image = _image_file(images_dir / "flat.png", np.full((128, 128), 77, "uint8"))
        expect = "constant"
    elif kind == "nan":
        array = np.random.default_rng(0).random((128, 128)).astype("float32")
        array[3, 4] = np.nan
        image = _image_file(images_dir / "nan.tif", array)
        expect = "non-finite"
    else:
        image = images_dir / "fake.png"
        image.write_text("<html>not a png</html>\n" * 5)
        expect = "cannot read image file"
    proc = _run([REPO / "ps_lbfgs/synthesize.py", *A[2:], "--img", image], work,
                env)
    _assert_refused(proc, work, expect=expect)


def test_an_output_root_that_is_a_file_is_refused(work):
    work, env = work
    blocker = work.parent / "results.txt"
    blocker.write_text("keep me\n")
    proc = _run([REPO / "ps_lbfgs/synthesize.py", *A, "--output-root", blocker],
                work, env)
    _assert_refused(proc, work, expect="cannot write")
    assert blocker.read_text() == "keep me\n"


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs (needs root); yields a function (size, options)."""
    mounted = []

    def mount(size: str, options: str = "") -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        opts = f"size={size}" + (f",{options}" if options else "")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs",
                               str(point)], capture_output=True, text=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_a_read_only_output_root_is_refused(tmpfs, work):
    work, env = work
    root = tmpfs("1m", "ro")
    proc = _run([REPO / "ps_lbfgs/synthesize.py", *A, "--output-root", root], work,
                env)
    _assert_refused(proc, work, expect="Read-only file system")


@pytest.mark.slow
def test_a_full_disk_leaves_nothing_half_written(tmpfs, work):
    work, env = work
    root = tmpfs("2m")
    filler = root / "filler"
    with open(filler, "wb") as f:  # leave about 60 kB: a run needs more
        f.write(b"\0" * (2 * 2**20 - 60 * 2**10))
    proc = _run([REPO / "ps_lbfgs/synthesize.py", *A, "--output-root", root], work,
                env)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0], lines
    assert [p.name for p in root.rglob("*")] == ["filler"]


# --------------------------------------------------------------------------
# 8. Lower
# --------------------------------------------------------------------------


def test_a_failed_summary_leaves_no_summary_directory(tmp_path, run_script):
    grid = tmp_path / "root" / "ps_matlab_vs_plen" / "quick"
    (grid / "run-a").mkdir(parents=True)
    rundir.write_json(grid / "run-a" / rundir.DONE_MARKER, {})  # never analysed
    for experiment in ("ps_matlab_vs_plen", "ps_lbfgs"):
        (tmp_path / "root" / experiment / "quick").mkdir(parents=True,
                                                         exist_ok=True)
        proc = run_script(f"{experiment}/summarize.py", "--grid", "quick",
                          "--output-root", tmp_path / "root", check=False)
        assert proc.returncode == 2, proc.stderr
        assert not (tmp_path / "root" / experiment / "quick" / "summary").exists()


def test_a_done_marker_that_is_a_directory_is_no_finished_run(tmp_path,
                                                             run_script):
    root = tmp_path / "root"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root",
               root)
    taskfile = root / "ps_lbfgs" / "smoke" / "disbatch-cpu.txt"
    first = shlex.split(taskfile.read_text().splitlines()[0])
    run_dir = Path(first[first.index("--output_dir") + 1])
    (run_dir / rundir.DONE_MARKER).mkdir(parents=True)
    assert not rundir.is_done(run_dir) and list(rundir.done_runs(root)) == []
    proc = run_script("ps_lbfgs/write_disbatch.py", tmp_path / "rest.txt", "--grid",
                      "smoke", "--output-root", root, "--skip-done")
    assert "already done" not in proc.stdout
    assert len((tmp_path / "rest.txt").read_text().splitlines()) == 2


SLEEPER = """
import os, signal, sys, time
from pathlib import Path
Path(sys.argv[1]).write_text(str(os.getpid()))
def stop(signum, frame):
    Path(sys.argv[1] + ".term").write_text("cleaned up")
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
time.sleep(120)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie is gone too
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"no {path}"
        time.sleep(0.05)


def test_sigterm_to_the_timing_wrapper_reaches_the_run(tmp_path, script_env):
    pid_file = tmp_path / "child.pid"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(script_env, TMPDIR=str(scratch))
    proc = subprocess.Popen(["bash", str(REPO / "plenexp/runs/time_process.sh"), PY,
                             "-c", SLEEPER, str(pid_file)], env=env)
    _wait_for_file(pid_file)
    # the run-dir record is an open descriptor: its name is gone at once
    assert list(scratch.iterdir()) == []
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    child = int(pid_file.read_text())
    assert (tmp_path / "child.pid.term").read_text() == "cleaned up"
    assert _gone(child)
    assert list(scratch.iterdir()) == []  # no leaked temporary file


def test_sigterm_to_disbatch_local_stops_disbatch_and_its_tasks(tmp_path,
                                                               script_env):
    pid_file = tmp_path / "task.pid"
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text(SLEEPER)
    taskfile = tmp_path / "tasks.txt"
    taskfile.write_text(
        f"echo quick > {shlex.quote(str(tmp_path / 'quick.txt'))}\n"
        + tasks.shell_line(["bash", REPO / "plenexp/runs/time_process.sh", PY, sleeper,
                            pid_file], {}, tmp_path / "slow.log") + "\n")
    proc = subprocess.Popen([PY, "-m", "plenexp.cluster.disbatch_local", str(taskfile),
                             "--cores", "2"], env=script_env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        _wait_for_file(pid_file, timeout=120)
        _wait_for_file(tmp_path / "quick.txt", timeout=60)
        time.sleep(1.0)
        disbatch = [pid for pid in _children(proc.pid)]
        assert disbatch
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, out
    assert "interrupted" in out and "succeeded before the interruption" in out
    assert (tmp_path / "task.pid.term").read_text() == "cleaned up"
    assert _gone(int(pid_file.read_text()))
    assert all(_gone(pid) for pid in disbatch)


def _children(pid: int) -> list[int]:
    from plenexp.cluster import disbatch_local

    return disbatch_local._descendants(pid)


def test_the_run_hint_quotes_the_task_file(tmp_path, run_script):
    root = tmp_path / "my 'results'; v2"
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke",
                      "--output-root", root)
    hint = next(line for line in proc.stdout.splitlines()
                if line.startswith("run them here with:"))
    words = shlex.split(hint.split(":", 1)[1])
    assert words[:3] == ["python", "-m", "plenexp.cluster.disbatch_local"]
    assert Path(words[3]).is_file() and words[3].startswith(str(root))


def test_interrupted_publish_puts_the_earlier_run_back(tmp_path, monkeypatch):
    final = tmp_path / "run"
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("earlier")
    real_replace = os.replace
    calls = []

    def interrupted(src, dst):
        calls.append(src)
        if len(calls) == 2:  # between moving the earlier run aside and ours in
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(rundir.os, "replace", interrupted)
    # the two-rename fallback (no renameat2 exchange: issue 19's one-step
    # republish is tested in test_hostile_files.py)
    monkeypatch.setattr(rundir, "_EXCHANGE", None)
    with pytest.raises(KeyboardInterrupt):
        with rundir.atomic_run_dir(final) as tmp:
            (tmp / "result.txt").write_text("later")
    monkeypatch.setattr(rundir.os, "replace", real_replace)
    assert (final / "result.txt").read_text() == "earlier"
    assert rundir.is_done(final)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


KILLED_PUBLISH = """
import os, signal, sys
from pathlib import Path
from plenexp.runs import rundir
real = os.replace
def replace(src, dst):
    real(src, dst)
    if ".old-" in str(dst):  # the earlier run is aside: killed right here
        os.kill(os.getpid(), signal.SIGKILL)
rundir.os.replace = replace
rundir._EXCHANGE = None  # the two-rename fallback, where a kill can fall between
with rundir.atomic_run_dir(Path(sys.argv[1])) as tmp:
    (tmp / "result.txt").write_text("later")
"""


def test_a_run_killed_while_publishing_loses_nothing(tmp_path):
    final = tmp_path / "run"
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("earlier")
    proc = subprocess.run([PY, "-c", KILLED_PUBLISH, final], timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not final.exists()
    (old,) = tmp_path.glob(".run.old-*")
    assert (old / "result.txt").read_text() == "earlier"
    # the next attempt at the run finds the earlier one, even if it fails
    with pytest.raises(RuntimeError):
        with rundir.atomic_run_dir(final):
            raise RuntimeError("this attempt fails too")
    assert (final / "result.txt").read_text() == "earlier"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    # a leftover of a live attempt elsewhere is kept; an old one is cleared
    elsewhere = rundir.hidden_dir(final, "old", "node-7", 12)
    shutil.copytree(final, elsewhere)
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("latest")
    assert elsewhere.exists()
    _age(elsewhere, rundir.STALE_AFTER_S + 60)
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("latest")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert (final / "result.txt").read_text() == "latest"


TWICE = """
import shutil, sys, time
from pathlib import Path
from plenexp import cli
from plenexp.runs import rundir

final, flag = Path(sys.argv[1]), Path(sys.argv[2])
real = shutil.rmtree


def slow_rmtree(path, *args, **kwargs):  # a big partial on a slow file system
    if flag.exists():
        flag.write_text("cleaning")
        time.sleep(1.5)
    return real(path, *args, **kwargs)


rundir.shutil.rmtree = slow_rmtree


def main():
    with rundir.atomic_run_dir(final):
        flag.write_text("started")
        time.sleep(120)


cli.run(main)
"""


def test_a_second_sigterm_does_not_stop_the_cleanup(tmp_path, script_env):
    """SLURM signals every process of a job; time_process.sh passes it on too."""
    final, flag = tmp_path / "grid" / "run", tmp_path / "flag"
    proc = subprocess.Popen([PY, "-c", TWICE, str(final), str(flag)],
                            env=script_env)
    _wait_for_file(flag)
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while flag.read_text() != "cleaning":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert not (tmp_path / "grid").exists()  # the partial and its parents gone
