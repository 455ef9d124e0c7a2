"""What a run directory should not hold, read or written by the shared tools.

One test per class of hostile case (issue 19): reads of FIFOs, devices and
symlinks out of the run never hang and are named as bad files; writes never
go through a symlink planted in the output tree; republishing never hides a
run; SIGTERM at any moment exits 143 without a traceback and killed parents
leave no child publishing; submit scripts take one-word values and quote
every path; and the smaller items. Each test that could hang is bounded and
fails on its bound.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import resource
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _support import fake_runs

from plenexp import cli, errors
from plenexp.cluster import sbatch, tasks
from plenexp.runs import files, provenance, results, rundir
from tests.conftest import REPO

PY = sys.executable


def bounded(seconds: float, func, *args, **kwargs):
    """``func(*args, **kwargs)``, failing the test if it takes over ``seconds``."""
    box: dict = {}

    def target():
        try:
            box["value"] = func(*args, **kwargs)
        except BaseException as err:  # noqa: BLE001 - re-raised below
            box["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{func.__name__} still running after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------- 1. reads ---

def test_reads_of_what_a_run_should_not_hold_never_hang_and_are_named(tmp_path):
    grid = tmp_path / "root" / "ps_lbfgs" / "quick"
    runs = fake_runs.write_ps_lbfgs_runs(grid, 8)
    outside = tmp_path / "secret.csv"
    outside.write_text((runs[0] / "loss.csv").read_text())
    bad = {}
    (runs[1] / "loss.csv").unlink()
    os.mkfifo(runs[1] / "loss.csv")
    bad[runs[1]] = "a FIFO"
    (runs[2] / "loss.csv").unlink()
    (runs[2] / "loss.csv").symlink_to("/dev/zero")
    bad[runs[2]] = "a symlink leading outside"
    (runs[3] / "loss.csv").unlink()
    (runs[3] / "loss.csv").symlink_to(outside)
    bad[runs[3]] = "a symlink leading outside"
    with open(runs[4] / "loss.csv", "ab") as f:  # over the cap
        f.truncate(files.CSV_MAX_BYTES + 1)
    bad[runs[4]] = "over the"
    # a field over csv's default 128 kB limit is still one good table
    big = runs[5] / "loss.csv"
    rows = results.read_rows(big)
    rows[0]["note"] = "x" * 300_000
    results.write_row(rows, big)
    # a symlink inside the run is followed
    (runs[6] / "copy.csv").write_text((runs[6] / "loss.csv").read_text())
    (runs[6] / "loss.csv").unlink()
    (runs[6] / "loss.csv").symlink_to("copy.csv")
    # provenance.json as a device link
    (runs[7] / "provenance.json").unlink()
    (runs[7] / "provenance.json").symlink_to("/dev/zero")

    got, problems = bounded(60, results.gather, grid, "loss.csv")
    assert sorted({Path(r["run_dir"]) for r in got}) == sorted(
        set(runs) - set(bad))
    for run, why in bad.items():
        line = next(p for p in problems if p.startswith(str(run / "loss.csv")))
        assert why in line, line
    assert len(problems) == len(bad)
    for reader, path in ((results.read_rows, runs[1] / "loss.csv"),
                         (files.read_text, runs[2] / "loss.csv")):
        with pytest.raises(errors.BadFile):
            bounded(30, reader, path)
    with pytest.raises(errors.BadFile, match="symlink leading outside"):
        bounded(30, provenance.load, runs[7])
    # a FIFO that a reader keeps open elsewhere is refused just the same
    with pytest.raises(OSError, match="FIFO"):
        bounded(30, files.read_bytes, runs[1] / "loss.csv")


# ------------------------------------------------------------ 2. writes ---

def _plant(link: Path, target: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(link):
        link.unlink()
    link.symlink_to(target)


def test_writes_never_go_through_planted_symlinks(tmp_path):
    import pandas as pd

    from plenexp.summary import figure_files

    target = tmp_path / "outside" / "precious.txt"
    target.parent.mkdir()
    target.write_text("precious\n")
    before = digest(target)
    out = tmp_path / "root" / "run"
    out.mkdir(parents=True)
    pid = os.getpid()
    names = ["p.json", "row.csv", "frame.csv", "fig.png", "fig.svg",
             "tasks.txt", "t.sbatch"]
    for name in names:  # at the name and at the old, predictable temporary names
        _plant(out / name, target)
        _plant(out / f".{name}.tmp-{pid}", target)
    rundir.write_json(out / "p.json", {"a": 1})
    results.write_row({"loss": 1.0}, out / "row.csv")
    results.write_csv_atomic(pd.DataFrame({"loss": [1.0]}), out / "frame.csv")
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    figure_files.save(fig, out / "fig")
    tasks.write_taskfile(["echo hi"], out / "tasks.txt")
    sbatch.Script(taskfile=out / "t.txt", job_name="j", gpu=False, ntasks=1,
                  cpus_per_task=1, time_s=60, log_dir=out / "slurm").write()
    # the task line's log
    log = out / "run.log"
    _plant(log, target)
    line = tasks.shell_line(["echo", "into the log"], {}, log, cwd=tmp_path)
    subprocess.run(["bash", "-c", line], check=True, timeout=60)
    assert log.read_text() == "into the log\n"
    for name in [*names, "run.log"]:
        assert not (out / name).is_symlink() and (out / name).is_file(), name
    assert digest(target) == before
    assert target.read_text() == "precious\n"
    # no temporary left behind
    assert not [p for p in out.iterdir() if ".tmp-" in p.name and not p.is_symlink()]


# --------------------------------------------------------- 3. republish ---

def test_republishing_never_leaves_the_run_missing(tmp_path):
    final = tmp_path / "grid" / "run"
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "n.txt").write_text("0")
    seen_missing, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            if not (os.path.isdir(final) and rundir.is_done(final)):
                seen_missing.append(time.monotonic())

    reader = threading.Thread(target=poll, daemon=True)
    reader.start()
    try:
        for i in range(1, 60):
            with rundir.atomic_run_dir(final) as tmp:
                (tmp / "n.txt").write_text(str(i))
    finally:
        stop.set()
        reader.join(10)
    assert rundir._EXCHANGE is not None or sys.platform != "linux"
    assert seen_missing == [] or rundir._EXCHANGE is None
    assert (final / "n.txt").read_text() == "59"
    assert [p.name for p in final.parent.iterdir()] == ["run"]
    # a planted ".old" symlink to a finished run elsewhere is never promoted
    elsewhere = tmp_path / "elsewhere"
    with rundir.atomic_run_dir(elsewhere) as tmp:
        (tmp / "n.txt").write_text("planted")
    gone = tmp_path / "grid" / "gone"
    planted = rundir.hidden_dir(gone, "old", rundir.HOST, 2**22 + 12345)
    planted.symlink_to(elsewhere, target_is_directory=True)
    rundir.recover_replaced(gone)
    assert not os.path.lexists(gone) and not os.path.lexists(planted)
    assert (elsewhere / "n.txt").read_text() == "planted"


# ------------------------------------------------------ 4. kills, SIGTERM ---

SLOW_IMPORT = """
import sys, time
from pathlib import Path
from plenexp import cli
from plenexp.runs import rundir
def main():
    with rundir.atomic_run_dir(Path(sys.argv[1])):
        print("importing", flush=True)
        import slow_module  # noqa: F401  (sleeps while being imported)
cli.run(main)
"""

SLEEPER = """
import os, signal, sys, time
from pathlib import Path
from plenexp import cli
def main():
    Path(sys.argv[1]).write_text(str(os.getpid()))
    try:
        time.sleep(120)
    finally:
        Path(sys.argv[1] + ".term").write_text("cleaned up")
cli.run(main)
"""


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"no {path}"
        time.sleep(0.05)


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def test_sigterm_and_killed_parents_end_runs_cleanly(tmp_path, script_env):
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(60)\n")
    env = dict(script_env, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO)]))
    run = tmp_path / "run"
    proc = subprocess.Popen([PY, "-c", SLOW_IMPORT, str(run)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline() == "importing\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert list(tmp_path.glob(".run.*")) == [] and not run.exists()
    # the same during a summary's import: its aside directory goes too
    slow_summary = SLOW_IMPORT.replace("from plenexp.runs import rundir",
                                       "from plenexp.summary import aside").replace(
        "rundir.atomic_run_dir", "aside.built_aside")
    summary = tmp_path / "summary"
    proc = subprocess.Popen([PY, "-c", slow_summary, str(summary)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "importing\n"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "Traceback" not in err, err
    assert list(tmp_path.glob(".summary*")) == [] and not summary.exists()
    # time_process.sh killed outright: the run below gets SIGTERM, cleans up
    pid_file = tmp_path / "child.pid"
    wrapper_tmp = tmp_path / "wrapper-tmp"
    wrapper_tmp.mkdir()
    wrapper = subprocess.Popen(["bash", str(REPO / "plenexp/runs/time_process.sh"),
                                PY, "-c", SLEEPER, str(pid_file)],
                               env=dict(env, TMPDIR=str(wrapper_tmp)))
    _wait_for(pid_file)
    wrapper.kill()
    wrapper.wait(timeout=30)
    _wait_for(Path(f"{pid_file}.term"), timeout=30)
    assert _gone(int(pid_file.read_text()))
    assert list(wrapper_tmp.iterdir()) == []  # no trap ran: nothing left anyway
    # the wrapper killed before the run got going: the run was adopted, and
    # its recorded parent is gone; it stops at once and publishes nothing
    gone = subprocess.Popen(["true"])
    gone.wait()
    publisher = ("import sys\nfrom pathlib import Path\nfrom plenexp import cli\n"
                 "cli.run(lambda: Path(sys.argv[1]).write_text('published'))\n")
    late = tmp_path / "late"
    proc = subprocess.run([PY, "-c", publisher, str(late)], capture_output=True,
                          text=True, timeout=60,
                          env=dict(env, PLENEXP_PARENT_PID=str(gone.pid)))
    assert proc.returncode == 143 and not late.exists(), proc.stderr
    assert "Traceback" not in proc.stderr
    # a recorded parent alive but not ours (a run's own child): runs as usual
    proc = subprocess.run([PY, "-c", publisher, str(late)], capture_output=True,
                          text=True, timeout=60, env=dict(env, PLENEXP_PARENT_PID="1"))
    assert proc.returncode == 0 and late.read_text() == "published", proc.stderr
    # disbatch_local killed outright: its guard stops disBatch and the task
    pid_file = tmp_path / "task.pid"
    sleeper = tmp_path / "sleeper.py"
    sleeper.write_text(SLEEPER)
    taskfile = tmp_path / "tasks.txt"
    taskfile.write_text(tasks.shell_line(
        ["bash", REPO / "plenexp/runs/time_process.sh", PY, sleeper,
         pid_file], {"PYTHONPATH": str(REPO)}, tmp_path / "task.log") + "\n")
    scratch_root = tmp_path / "tmp"  # where disbatch_local's scratch goes
    scratch_root.mkdir()
    local = subprocess.Popen([PY, "-m", "plenexp.cluster.disbatch_local",
                              str(taskfile), "--cores", "1"],
                             env=dict(env, TMPDIR=str(scratch_root)), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        _wait_for(pid_file, timeout=120)
        below = rundir_descendants(local.pid)
        local.kill()
        local.wait(timeout=30)
        _wait_for(Path(f"{pid_file}.term"), timeout=60)
        assert _gone(int(pid_file.read_text()))
        assert all(_gone(pid) for pid in below)
        # disBatch's status file is kept beside the task file, for a resume
        deadline = time.monotonic() + 30
        while list(scratch_root.glob("plenexp-disbatch-*")) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not list(scratch_root.glob("plenexp-disbatch-*"))
        assert list((tmp_path / "disbatch_logs").glob("tasks_*_status.txt"))
    finally:
        if local.poll() is None:
            os.killpg(local.pid, signal.SIGKILL)


def rundir_descendants(pid: int) -> list[int]:
    from plenexp.cluster import disbatch_local

    return disbatch_local._descendants(pid)


# ------------------------------------------------------ 5. submit scripts ---

@pytest.mark.parametrize("option, value", [
    ("--partition", "genoa --chdir=/tmp"), ("--partition", "--wrap=id"),
    ("--constraint", "genoa'"), ("--partition", "a;b"), ("--partition", ""),
])
def test_sbatch_values_are_one_word_and_every_path_quoted(run_script, tmp_path,
                                                          option, value):
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke",
                      "--output-root", tmp_path, "--sbatch", f"{option}={value}",
                      check=False)
    assert proc.returncode == 2, proc.stderr
    assert "expected one SLURM name" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
    # paths with spaces: every #SBATCH value is one word to sbatch (and a shell)
    grid = tmp_path / "out root" / "g"
    text = sbatch.Script(taskfile=grid / "my tasks.txt", job_name="a b",
                         gpu=False, ntasks=1, cpus_per_task=1, time_s=60,
                         log_dir=grid / "slurm", partition="genoa&ib").render()
    heads = [shlex.split(line)[1:] for line in text.splitlines()
             if line.startswith("#SBATCH")]
    assert ["-J", "a b"] in heads and ["-p", "genoa&ib"] in heads
    assert ["-o", f"{grid}/slurm/%x-%j.out"] in heads
    with pytest.raises(errors.UsageError, match="quote"):
        sbatch.Script(taskfile=grid / "t.txt", job_name="it's", gpu=False,
                      ntasks=1, cpus_per_task=1, time_s=60,
                      log_dir=grid / "slurm").render()


# -------------------------------------------------------------- 6. smaller ---

def test_smaller_items(tmp_path, run_script, script_env):
    # strict JSON: no bare NaN or Infinity in provenance.json
    path = tmp_path / "provenance.json"
    rundir.write_json(path, {"a": math.nan, "b": [math.inf, 1.0],
                             "c": {"d": -math.inf}})

    def refuse(constant):
        raise ValueError(constant)

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "a": None, "b": [None, 1.0], "c": {"d": None}}
    # a task file of only comments is 0 tasks
    taskfile = tmp_path / "tasks.txt"
    taskfile.write_text("# a comment\n#DISBATCH PREFIX cd /\n\n")
    proc = subprocess.run([PY, "-m", "plenexp.cluster.disbatch_local", str(taskfile)],
                          capture_output=True, text=True, timeout=60,
                          env=script_env, cwd=REPO)
    assert proc.returncode == 0 and "0 tasks" in proc.stdout
    assert "succeeded" not in proc.stdout
    # --cores above the open-file limit: prompt, one line, nothing started
    taskfile.write_text("echo hi\n")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    start = time.monotonic()
    proc = subprocess.run([PY, "-m", "plenexp.cluster.disbatch_local", str(taskfile),
                           "--cores", "1000"], capture_output=True, text=True,
                          timeout=60, env=script_env, cwd=REPO, preexec_fn=low_limit)
    assert time.monotonic() - start < 30
    assert proc.returncode == 2 and "open-file limit" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "disbatch_logs").exists()
    # --from-csv on an empty or garbage file: one line, exit 2
    for name, content in (("empty.csv", b""), ("garbage.csv", b"\xff\xfe\x00junk"),
                          ("header.csv", b"loss,run_dir\n")):
        table = tmp_path / name
        table.write_bytes(content)
        args = type("Args", (), dict(from_csv=table, output_dir=tmp_path / "s"))
        with pytest.raises(cli.UsageError, match="not a readable table"):
            cli.summary_dirs(args, "ps_lbfgs")
    proc = run_script("ps_lbfgs/summarize.py", "--from-csv", tmp_path / "empty.csv",
                      "--output-dir", tmp_path / "s", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
    # another experiment's table: the missing column named, in one line
    other = tmp_path / "other.csv"
    other.write_text("img,seed,lr,loss,synth_duration\nfig4a,0,1,0.5,10\n")
    for experiment, column in (("ps_noise", "weights"), ("ps_speed", "install"),
                               ("ps_matlab_vs_plen", "optimizer"),
                               ("ps_matlab", "image")):
        proc = run_script(f"{experiment}/summarize.py", "--from-csv", other,
                          "--output-dir", tmp_path / "s", check=False)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.strip().splitlines() == [
            f"summarize.py: error: --from-csv {other}: no {column!r} column (not "
            "a summary table of this experiment?)"], experiment
