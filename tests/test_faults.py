"""Faults a cluster produces and bad input, across the experiments.

Killed batch jobs and resuming them, concurrent writers into one output root,
damaged result files, profiled task lines, and every script's answer to a bad
argument. (Killed single runs, task-line quoting and ``weights_only`` loading
are covered by ``test_ps_lbfgs.py`` and ``test_harness.py``.)
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _support import fake_runs

from plenexp.runs import paths, rundir
from tests.conftest import REPO, process_duration

DISBATCH = shutil.which("disbatch") or str(Path(sys.executable).parent / "disbatch")
EXPERIMENTS = paths.experiments()
#: Copy-paste examples that need only plenoptic and torch (plain argparse).
STANDALONE = {"ps_matlab_vs_plen/example_met.py", "benchmarks/bare_synthesis.py"}


def _scripts() -> list[str]:
    found = []
    for experiment in EXPERIMENTS:
        found += [p.relative_to(REPO).as_posix()
                  for p in sorted((REPO / experiment).glob("*.py"))
                  if 'if __name__ == "__main__"' in p.read_text()]
        found += [p.relative_to(REPO).as_posix()
                  for p in sorted((REPO / experiment).glob("time_*.sh"))]
    found += [p.relative_to(REPO).as_posix()
              for p in sorted((REPO / "benchmarks").glob("*.py"))]
    found += ["-m " + ".".join(p.relative_to(REPO).with_suffix("").parts)
              for p in sorted((REPO / "plenexp").rglob("*.py"))
              if 'if __name__ == "__main__"' in p.read_text()]
    return found


def _command(script: str) -> list[str]:
    if script.startswith("-m "):
        return [sys.executable, "-m", script[3:]]
    if script.endswith(".sh"):
        return ["bash", str(REPO / script)]
    return [sys.executable, str(REPO / script)]


def _status_lines(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines() if line]


# --------------------------------------------------------------------------
# A killed batch job, resumed
# --------------------------------------------------------------------------


def _wait_for(condition, proc, timeout=180.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "disBatch ended too early"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_killed_batch_job_resumes_exactly_the_unfinished_runs(tmp_path, run_script,
                                                              script_env):
    """A SLURM time limit kills disBatch and the task it was running."""
    root = tmp_path / "out root"
    grid = root / "ps_lbfgs" / "smoke"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root", root)
    taskfile = grid / "disbatch-cpu.txt"
    lines = taskfile.read_text().splitlines()
    first, second = (Path(shlex.split(line)[shlex.split(line).index("--output_dir")
                                        + 1]) for line in lines)
    logs = tmp_path / "dblogs"
    logs.mkdir()
    # one slot: the first task runs to completion, then the second starts
    proc = subprocess.Popen([DISBATCH, "-s", "localhost:1", "-p", str(logs / "one"),
                             str(taskfile)], cwd=logs, env=script_env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: rundir.is_done(first)
                  and list(grid.glob(f".{second.name}.partial-*")), proc)
        time.sleep(1.0)  # the second run is under way
        partial = next(grid.glob(f".{second.name}.partial-*"))
        os.killpg(proc.pid, signal.SIGKILL)
        os.kill(int(partial.name.rsplit("-", 1)[1]), signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    time.sleep(1.0)  # the killed task's shells see its status and exit

    # nothing of the killed run counts anywhere
    assert [p.name for p in rundir.done_runs(root)] == [first.name]
    assert not second.exists() and partial.exists()
    proc2 = run_script("ps_lbfgs/summarize.py", "--grid", "smoke", "--output-root",
                       root)
    assert "1 run(s) summarized" in proc2.stdout
    table = pd.read_csv(grid / "summary" / "all_loss.csv")
    assert list(table["run_dir"]) == [str(first)]
    proc2 = run_script("ps_lbfgs/analyze.py", grid)
    assert "1 of 1 run(s) analyzed" in proc2.stdout

    # --skip-done writes exactly the unfinished task, as it was
    rest = tmp_path / "rest.txt"
    proc2 = run_script("ps_lbfgs/write_disbatch.py", rest, "--grid", "smoke",
                       "--output-root", root, "--skip-done")
    assert "1 already done" in proc2.stdout
    assert rest.read_text().splitlines() == [lines[1]]

    # disBatch -r reruns exactly the task not recorded as finished
    status = logs / "one_status.txt"
    assert [row[-1] for row in _status_lines(status)] == [lines[0]]
    subprocess.run([DISBATCH, "-s", "localhost:1", "-r", str(status), "-p",
                    str(logs / "two"), str(taskfile)], cwd=logs, env=script_env,
                   check=True, timeout=300, capture_output=True)
    rows = _status_lines(logs / "two_status.txt")
    ran = [row for row in rows if "S" not in row[0]]
    assert [row[-1] for row in ran] == [lines[1]] and ran[0][6] == "0"
    assert sorted(p.name for p in rundir.done_runs(root)) == sorted(
        [first.name, second.name])
    assert process_duration(second) > 0
    # the rerun cleared what the killed attempt left
    assert not list(grid.glob(".*partial*"))


@pytest.mark.slow
def test_disbatch_resume_needs_retry_for_failed_tasks(tmp_path):
    """``-r`` skips tasks that ran and failed; ``-r ... -R`` reruns them.

    A task killed on its own (out of memory, a node fault) is recorded as
    failed, so resuming it needs ``-R``; the README says so.
    """
    taskfile = tmp_path / "tasks.txt"
    taskfile.write_text("echo ok >> ran-a.txt\n"
                        "echo try >> ran-b.txt; test -e fixed\n")
    run = [DISBATCH, "-s", "localhost:1"]
    subprocess.run([*run, "-p", "one", str(taskfile)], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)
    (tmp_path / "fixed").touch()
    # (with nothing left to run, this disBatch exits 1 on a refused connection)
    subprocess.run([*run, "-r", "one_status.txt", "-p", "two", str(taskfile)],
                   cwd=tmp_path, capture_output=True, timeout=120)
    assert (tmp_path / "ran-b.txt").read_text() == "try\n"  # not rerun
    subprocess.run([*run, "-r", "one_status.txt", "-R", "-p", "three",
                    str(taskfile)], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    assert (tmp_path / "ran-a.txt").read_text() == "ok\n"
    assert (tmp_path / "ran-b.txt").read_text() == "try\ntry\n"
    assert [row[6] for row in _status_lines(tmp_path / "three_status.txt")
            if "S" not in row[0]] == ["0"]


# --------------------------------------------------------------------------
# Concurrent writers
# --------------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from plenexp.runs import paths, rundir
root, who, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for i in range(n):
    for name in (f"{who}-{i}", "shared"):
        with rundir.atomic_run_dir(root / name) as tmp:
            (tmp / "who.txt").write_text(who)
            (tmp / "loss.csv").write_text("loss\\n1.0\\n")
"""


def test_concurrent_writers_into_one_root_lose_nothing(tmp_path):
    """Four processes publish 30 runs each, and one shared run, all at once."""
    grid = tmp_path / "ps_lbfgs" / "quick"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(grid), who, "30"],
                              stderr=subprocess.PIPE, text=True)
             for who in "abcd"]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    names = sorted(p.name for p in rundir.done_runs(grid))
    expected = sorted([f"{w}-{i}" for w in "abcd" for i in range(30)] + ["shared"])
    assert names == expected
    # every run complete, one writer's files each, nothing half-moved left over
    for run in rundir.done_runs(grid):
        assert (run / "loss.csv").read_text() == "loss\n1.0\n"
        assert (run / "who.txt").read_text() in "abcd"
    assert [p.name for p in grid.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_two_runs_into_one_output_root_at_once(tmp_path, script_env):
    grid = tmp_path / "root" / "ps_lbfgs" / "quick"
    procs = [subprocess.Popen(
        ["bash", str(REPO / "ps_lbfgs/time_synthesize.sh"), "--img", "reptile_skin",
         "--crop", "128", "--seed", str(seed), "--synth_max_iter", "2",
         "--no_plots", "-o", str(grid / f"run-{seed}")],
        env=script_env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True) for seed in (0, 1)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stdout.read()
        proc.stdout.close()
    from plenexp.runs import results

    rows, problems = results.gather(grid, "loss.csv")
    assert problems == []
    assert sorted(Path(r["run_dir"]).name for r in rows) == ["run-0", "run-1"]
    assert all(float(r["process_duration"]) > 0 for r in rows)
    assert sorted(r["seed"] for r in rows) == ["0", "1"]


# --------------------------------------------------------------------------
# Damaged results
# --------------------------------------------------------------------------


def test_summarize_reports_each_bad_file_by_path_and_goes_on(tmp_path, run_script):
    grid = tmp_path / "root" / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, 8)
    good = runs[:2]
    truncated, empty, header_only, nan, garbage, missing = runs[2:]
    text = (truncated / "loss.csv").read_text()
    (truncated / "loss.csv").write_text(text[: len(text) * 2 // 3])
    (empty / "loss.csv").write_text("")
    (header_only / "loss.csv").write_text(text.splitlines()[0] + "\n")
    frame = pd.read_csv(nan / "loss.csv")
    frame["loss"] = float("nan")
    frame.to_csv(nan / "loss.csv", index=False)
    (garbage / "loss.csv").write_bytes(os.urandom(300) + b"\xff\xfe")
    (missing / "loss.csv").unlink()
    proc = run_script("ps_lbfgs/summarize.py", "--grid", "quick", "--output-root",
                      tmp_path / "root", check=False)
    assert proc.returncode == 1  # the rest summarized, the skipped files told
    assert "2 run(s) summarized" in proc.stdout
    for bad in (truncated, empty, header_only, nan, garbage, missing):
        assert str(bad / "loss.csv") in proc.stderr, bad.name
    assert "6 file(s) or row(s) skipped" in proc.stderr
    table = pd.read_csv(grid / "summary" / "all_loss.csv")
    assert sorted(table["run_dir"]) == sorted(map(str, good))
    assert (grid / "summary" / "loss_vs_cost.png").exists()


class _Evil:
    """Pickles into a call that leaves a file behind when unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (self.path, "pickled code ran"))


def test_reading_a_result_runs_no_pickled_code(tmp_path):
    """A ``metamer.pt`` someone sent, with code in it, is refused unread."""
    import torch

    from plenexp.synth import images, synthesis

    ran = tmp_path / "ran.txt"
    evil = tmp_path / "metamer.pt"
    torch.save({"_metamer": torch.zeros(1, 1, 128, 128), "save_metadata": {},
                "payload": _Evil(ran)}, evil)
    image = images.load_image("reptile_skin", crop=128)
    model = synthesis.make_model(image)
    loss = synthesis.make_loss("l2_norm", model, image)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        synthesis.load_metamer(evil, image, model, loss)
    assert not ran.exists()


# --------------------------------------------------------------------------
# Profiling
# --------------------------------------------------------------------------


def test_profile_wrapper_keeps_status_and_leaves_profile_beside_run(tmp_path,
                                                                   script_env):
    run_dir = tmp_path / "a 'grid'; x" / "run"
    code = ("import sys\ndef spin():\n    return sum(i * i for i in range(10**6))\n"
            "for _ in range(15):\n    spin()\nsys.exit(3)")
    proc = subprocess.run(["bash", str(REPO / "plenexp/runs/profile_process.sh"),
                           str(run_dir), sys.executable, "-c", code],
                          env=script_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    profile = run_dir.with_name("run.profile.speedscope.json")
    svg = run_dir.with_name("run.profile.svg")
    assert profile.stat().st_size > 100
    assert "spin" in svg.read_text() and svg.read_text().startswith("<svg")
    assert "most time spent in" in proc.stdout and "spin" in proc.stdout


def test_profile_option_wraps_every_task_line(tmp_path, run_script):
    root = tmp_path / "out 'root'; x"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root",
               root, "--profile")
    for line in (root / "ps_lbfgs/smoke/disbatch-cpu.txt").read_text().splitlines():
        words = shlex.split(line)
        start = words.index("bash")
        assert words[start + 1] == str(REPO / "plenexp/runs/profile_process.sh")
        run_dir = words[start + 2]
        assert words[start + 3:start + 5] == ["bash",
                                              str(REPO / "ps_lbfgs/time_synthesize.sh")]
        assert words[words.index("--output_dir") + 1] == run_dir
        assert run_dir.startswith(str(root))


@pytest.mark.slow
def test_profiled_task_line_runs_and_leaves_a_flame_graph(tmp_path, run_script):
    root = tmp_path / "out root"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root",
               root, "--profile")
    line = (root / "ps_lbfgs/smoke/disbatch-cpu.txt").read_text().splitlines()[0]
    subprocess.run(["bash", "-c", line], check=True, timeout=300)
    (run,) = rundir.done_runs(root)
    assert process_duration(run) > 0
    svg = run.with_name(run.name + ".profile.svg").read_text()
    assert "Metamer.synthesize" in svg
    assert run.with_name(run.name + ".profile.speedscope.json").exists()


# --------------------------------------------------------------------------
# Bad arguments
# --------------------------------------------------------------------------


@pytest.mark.parametrize("script", _scripts())
def test_every_script_refuses_a_bad_argument_cleanly(script, tmp_path, script_env):
    work = tmp_path / "work"
    work.mkdir()
    env = dict(script_env, PLENEXP_OUTPUT_ROOT=str(work / "root"),
               MPLCONFIGDIR=str(tmp_path / "mpl"))
    attempts = [["--no-such-option"]]
    help_text = subprocess.run([*_command(script), "--help"], env=env, cwd=work,
                               capture_output=True, text=True, timeout=60).stdout
    if "--grid" in help_text:
        attempts.append(["--grid", "no_such_grid"])
    for bad in attempts:
        proc = subprocess.run([*_command(script), *bad], env=env, cwd=work,
                              capture_output=True, text=True, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2, (bad, proc.stderr)
        assert "error" in lines[-1], lines
        if script not in STANDALONE:
            assert len(lines) == 1, (bad, lines)
        assert list(work.iterdir()) == [], (bad, list(work.rglob("*")))
