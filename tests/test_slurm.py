"""The cluster path under a real SLURM scheduler (``pytest -m slurm``).

Needs the local test cluster, named by ``SLURM_CONF``:
``tests/slurm/local_cluster.sh start`` brings up a single-node one, and
``source <dir>/env.sh`` names it (``.ci/run`` does both when SLURM is
installed). Every test is skipped, with the reason, when ``sbatch`` or
``slurmctld`` is missing, ``SLURM_CONF`` is unset, or it names no answering
test cluster. Jobs are submitted exactly as the README says (``sbatch -p
genoa -C genoa -n N -c 1 disBatch TASKFILE``) or through the submit scripts
of ``write_disbatch.py --sbatch``; jobs a test leaves behind are cancelled.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from plenexp.runs import paths, rundir
from tests.conftest import REPO

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

CLUSTER_SCRIPT = REPO / "tests" / "slurm" / "local_cluster.sh"
#: The ClusterName of local_cluster.sh's configuration.
TEST_CLUSTER = "plenexp-test"
#: Job states after which a job will not run again.
FINAL_STATES = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL",
                "OUT_OF_MEMORY", "PREEMPTED", "BOOT_FAIL", "DEADLINE"}
#: No job may take longer (the whole set takes a few minutes on 2 cores).
JOB_TIMEOUT = 1500


@pytest.fixture(scope="module")
def slurm_env() -> dict[str, str]:
    """Environment for SLURM commands; skips unless the test cluster answers.

    Only the local test cluster is used, and only when named: ``SLURM_CONF``
    must point at its ``slurm.conf`` (``source <dir>/env.sh`` after
    ``local_cluster.sh start``; ``.ci/run`` sets it). Test jobs never go to
    a real cluster, nor to a test cluster someone else left running.
    """
    start = f"{CLUSTER_SCRIPT.relative_to(REPO)} start, then source <dir>/env.sh"
    missing = [cmd for cmd in ("sbatch", "slurmctld") if shutil.which(cmd) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (SLURM tests need a "
                    f"scheduler: {start})")
    if not os.environ.get("SLURM_CONF"):
        pytest.skip(f"SLURM_CONF not set: no test cluster named ({start})")
    if not Path(os.environ["SLURM_CONF"]).is_file():
        pytest.skip(f"no such file: SLURM_CONF={os.environ['SLURM_CONF']} ({start})")
    env = dict(os.environ)
    try:
        config = subprocess.run(["scontrol", "show", "config"], capture_output=True,
                                text=True, env=env, timeout=15).stdout
    except subprocess.TimeoutExpired:
        config = ""
    name = re.search(r"^ClusterName\s*=\s*(\S+)", config, re.MULTILINE)
    if name is None:
        pytest.skip(f"no SLURM cluster answers at SLURM_CONF={env['SLURM_CONF']} "
                    f"({start})")
    if name[1] != TEST_CLUSTER:
        pytest.skip(f"SLURM_CONF names cluster {name[1]!r}, not the local test "
                    f"cluster {TEST_CLUSTER!r}: no test jobs sent there")
    # disBatch and this Python on the PATH of every job, as after `conda activate`
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    env.update(TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHON=sys.executable)
    env.pop("PLENEXP_OUTPUT_ROOT", None)
    return env


class Cluster:
    """Submit, watch and cancel jobs; cancels what is left at the end."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.env, self.cwd, self.jobs = env, cwd, []

    def run(self, *command, check=True, timeout=600) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(c) for c in command], capture_output=True,
                              text=True, env=self.env, cwd=self.cwd,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{shlex.join(map(str, command))} failed "
                                 f"({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def python(self, script: str, *args, **kwargs) -> subprocess.CompletedProcess:
        return self.run(sys.executable, REPO / script, *args, **kwargs)

    def sbatch(self, *args) -> str:
        """Submit; give the job id (from sbatch's own "Submitted batch job N")."""
        out = self.run("sbatch", *args).stdout
        job = re.search(r"Submitted batch job (\d+)", out)
        assert job, out
        self.jobs.append(job[1])
        return job[1]

    def info(self, job: str) -> dict[str, str]:
        out = self.run("scontrol", "-o", "show", "job", job).stdout
        return dict(re.findall(r"(\w+)=(\S*)", out))

    def state(self, job: str) -> str:
        return self.info(job)["JobState"]

    def wait(self, *jobs: str, timeout: float = JOB_TIMEOUT) -> dict[str, str]:
        """Wait until every job has ended; give their final states."""
        deadline = time.monotonic() + timeout
        while True:
            states = {job: self.state(job) for job in jobs}
            if all(state in FINAL_STATES for state in states.values()):
                return states
            assert time.monotonic() < deadline, f"jobs still running: {states}"
            time.sleep(1.0)

    def wait_for(self, condition, job: str, what: str, timeout: float = 600):
        """Wait until ``condition()`` holds while ``job`` runs."""
        deadline = time.monotonic() + timeout
        while not condition():
            state = self.state(job)
            assert state not in FINAL_STATES, f"job {job} ended ({state}) before {what}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.3)

    def wait_idle(self, timeout: float = JOB_TIMEOUT) -> int:
        """Wait until no CPU of the cluster is allocated; give how many it has."""
        deadline = time.monotonic() + timeout
        while True:
            alloc, idle, _, total = map(int, self.run(
                "sinfo", "-h", "-p", "genoa", "-o", "%C").stdout.split("/"))
            if alloc == 0:
                return total
            assert time.monotonic() < deadline, f"{alloc} CPU(s) still allocated"
            time.sleep(1.0)

    def cancel_all(self) -> None:
        if self.jobs:
            self.run("scancel", *self.jobs, check=False)


@pytest.fixture
def cluster(slurm_env, tmp_path):
    jobs = Cluster(slurm_env, tmp_path)
    yield jobs
    jobs.cancel_all()


def _run_dirs(taskfile: Path) -> list[Path]:
    """The run directory of every task line, in file order."""
    dirs = []
    for line in taskfile.read_text().splitlines():
        words = shlex.split(line)
        flag = next(w for w in ("--output_dir", "--output_path") if w in words)
        dirs.append(Path(words[words.index(flag) + 1]))
    return dirs


def _partials(run: Path) -> list[Path]:
    return sorted(run.parent.glob(f".{run.name}.partial*"))


def _status_rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text().splitlines() if line]


def _exit_status(status: Path) -> dict[str, str]:
    """Exit status of every task line a disBatch job ran (not skipped ones)."""
    return {row[-1]: row[6] for row in _status_rows(status) if "S" not in row[0]}


def _ran(status: Path) -> list[str]:
    """Task lines a disBatch job ran (skipped ones left out), with exit status 0."""
    rows = [row for row in _status_rows(status) if "S" not in row[0]]
    assert all(row[6] == "0" for row in rows), rows
    return [row[-1] for row in rows]


def _finished(run: Path) -> float:
    return json.loads((run / rundir.DONE_MARKER).read_text())["finished"]


# ------------------------------------------------------------ smoke grids ---

def _matlab_available(cluster: Cluster) -> bool:
    return cluster.run(sys.executable, "-m", "plenexp.synth.matlab",
                       check=False).returncode == 0


def test_smoke_grids_with_the_readme_commands(cluster):
    """Every experiment's smoke grid: the README commands, to the summaries."""
    out = cluster.cwd / "outputs"  # the default output root, ./outputs
    submitted = {}
    taskfiles = {"ps_lbfgs": "disbatch.txt", "ps_noise": "disbatch_noise.txt"}
    for experiment, taskfile in taskfiles.items():
        cluster.python(f"{experiment}/write_disbatch.py", taskfile, "--grid", "smoke",
                       "--device", "cpu")
        submitted[taskfile] = cluster.sbatch("-p", "genoa", "-C", "genoa", "-n", "2",
                                             "-c", "1", "disBatch", taskfile)
    cluster.python("ps_matlab_vs_plen/generate_init_imgs.py", "--size", "128",
                   "--seeds", "0")
    cluster.python("ps_matlab_vs_plen/write_disbatch.py", "plenoptic.txt",
                   "--grid", "smoke")
    submitted["plenoptic.txt"] = cluster.sbatch(
        "-p", "genoa", "-C", "genoa", "-n", "2", "-c", "1", "disBatch", "plenoptic.txt")
    matlab = _matlab_available(cluster)
    if matlab:  # MATLAB or Octave and the textureSynth code: their sides too
        cluster.python("ps_matlab/write_disbatch.py", "matlab.txt", "--grid", "smoke")
        cluster.python("ps_matlab_vs_plen/write_disbatch.py", "vs_matlab.txt",
                       "--grid", "smoke", "--side", "matlab")
        for taskfile in ("matlab.txt", "vs_matlab.txt"):
            submitted[taskfile] = cluster.sbatch(
                "-p", "genoa", "-C", "genoa", "-n", "2", "-c", "1", "disBatch",
                taskfile)
    states = cluster.wait(*submitted.values())
    assert set(states.values()) == {"COMPLETED"}, states
    for taskfile in submitted:
        runs = _run_dirs(cluster.cwd / taskfile)
        assert runs and all(rundir.is_done(run) for run in runs), taskfile
        status = next(cluster.cwd.glob(f"{taskfile}_disBatch_*_status.txt"))
        assert len(_ran(status)) == len(runs)
        host = json.loads((runs[0] / "provenance.json").read_text())["host"]
        node = cluster.info(submitted[taskfile])["NodeList"]
        assert host.split(".")[0] == node  # ran on the node SLURM gave the job

    # the README's steps end with the summary (analyze.py's per-run figures
    # are tested on the session's smoke grids, tests/conftest.py)
    grids = {e: out / e / "smoke" for e in ("ps_lbfgs", "ps_noise",
                                            "ps_matlab_vs_plen")}
    cluster.python("ps_lbfgs/summarize.py", "--grid", "smoke")
    cluster.python("ps_noise/summarize.py", "--grid", "smoke")
    if matlab:  # step 3 of its README: the MATLAB runs' loss tables
        cluster.python("ps_matlab_vs_plen/analyze.py", grids["ps_matlab_vs_plen"])
    best = cluster.python("ps_matlab_vs_plen/summarize.py", "--grid", "smoke")
    assert "result(s) summarized" in best.stdout
    if matlab:
        cluster.python("ps_matlab/summarize.py", "--grid", "smoke")
        grids["ps_matlab"] = out / "ps_matlab" / "smoke"
    for experiment, grid in grids.items():
        table = pd.read_csv(grid / "summary" / "all_loss.csv")
        assert len(table) >= 1, experiment
        timing = (grid / "summary" / "timing.txt").read_text()
        assert re.search(r"\n  \S+\s+.+\s+\d+\s+[\d.]+\n", timing), timing
    report = cluster.run(sys.executable, "-m", "plenexp.report")
    index = out / "index.html"
    assert index.is_file(), report.stdout + report.stderr
    page = index.read_text()
    for experiment in grids:
        assert experiment in page
    assert "timing.txt" in page


# ------------------------------------------------------ killed, resumed ---

def _resume_both_ways(cluster: Cluster, writer: str, grid: str, taskfile: Path,
                      job: str, extra: tuple[str, ...] = ()) -> None:
    """After ``job`` was killed: resume with --skip-done and with -r STATUS -R.

    Both resubmissions start from the same killed state and run side by side;
    each must run exactly the runs the kill left unfinished, and the runs that
    had finished must not run again.
    """
    runs = _run_dirs(taskfile)
    lines = dict(zip(runs, taskfile.read_text().splitlines(), strict=True))
    done = [run for run in runs if rundir.is_done(run)]
    missing = [run for run in runs if run not in done]
    assert missing, "the job finished before it was killed"
    # a run was under way when the job died (its task had opened its log)...
    assert any(paths.run_log(run).exists() for run in missing)
    # ...and nothing of an unfinished run counts; the killed one cleaned up
    assert sorted(rundir.done_runs(taskfile.parent)) == sorted(done)
    for run in missing:
        assert not run.exists() and not _partials(run), run
    finished = {run: _finished(run) for run in done}

    # 1. --skip-done writes exactly the missing runs
    rest = taskfile.with_name("rest.txt")
    # (time limits: the estimate's, x1.5, assumes a quiet core; tests share theirs)
    proc = cluster.python(writer, rest, "--grid", grid, "--skip-done", "--sbatch",
                          "--ntasks", "1", "--time", "00:30:00", *extra)
    assert (f"{len(done)} already done" in proc.stdout) == bool(done)
    assert sorted(_run_dirs(rest)) == sorted(missing)
    # 2. the killed job's own submit script, given its disBatch status file,
    # which records the finished tasks with exit status 0 (and at most the
    # killed one otherwise)
    status = taskfile.parent / "slurm" / f"{taskfile.stem}-job{job}_status.txt"
    assert status.is_file()
    recorded = _exit_status(status)
    assert {line for line, rc in recorded.items() if rc == "0"} == {
        lines[run] for run in done}
    assert len(recorded) - len(done) <= 1

    skip_job = cluster.sbatch(rest.with_suffix(".sbatch"))
    # the command line overrides the script's own (too short) time limit
    resume_job = cluster.sbatch("--time", "00:30:00", taskfile.with_suffix(".sbatch"),
                                status)
    states = cluster.wait(skip_job, resume_job)
    assert states == {skip_job: "COMPLETED", resume_job: "COMPLETED"}
    slurm_dir = taskfile.parent / "slurm"
    assert sorted(_ran(slurm_dir / f"rest-job{skip_job}_status.txt")) == sorted(
        rest.read_text().splitlines())
    assert sorted(_ran(slurm_dir / f"{taskfile.stem}-job{resume_job}_status.txt")) \
        == sorted(lines[run] for run in missing)
    assert all(rundir.is_done(run) and not _partials(run) for run in runs)
    assert {run: _finished(run) for run in done} == finished  # not run again


#: Steps of the task the time limit must cut: far more than any machine runs in
#: the one-minute limit, so the kill always lands while it synthesizes.
LONG_TASK_STEPS = 100_000


def _until_gate(gate: Path, line: str, before_gate: str) -> str:
    """A task line that runs ``before_gate`` until ``gate`` exists, then ``line``.

    Makes a test's timing independent of how fast the machine synthesizes:
    the test opens the gate when it is ready for the run to finish.
    """
    return (f"if [ -e {shlex.quote(str(gate))} ]; then {line}; "
            f"else {before_gate}; fi")


def _after_gate(gate: Path, line: str, delay: float = 0.0) -> str:
    """A task line that waits for ``gate`` to exist (then ``delay`` s), then runs."""
    return (f"while [ ! -e {shlex.quote(str(gate))} ]; do sleep 0.2; done; "
            f"sleep {delay}; {line}")


def test_time_limit_kill_then_resume(cluster):
    """``--time=00:01:00`` on a grid that needs longer: SIGTERM, then SIGKILL.

    The smoke grid's two short runs, in grid order, with the last one made
    endless until the test opens a gate: the kill lands in it every time;
    exactly it is redone (resumed with the gate open, it is the short run).
    """
    root = cluster.cwd / "out"
    grid = root / "ps_lbfgs" / "smoke"
    proc = cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "smoke",
                          "--output-root", root, "--order", "as-grid", "--sbatch",
                          "--ntasks", "1", "--time", "00:01:00")
    script = grid / "disbatch-cpu.sbatch"
    assert proc.stdout.splitlines()[-1] == f"submit with: sbatch {script}"
    taskfile = grid / "disbatch-cpu.txt"
    *short, last = taskfile.read_text().splitlines()
    gate = cluster.cwd / "resume"
    endless = re.sub(r"--synth_max_iter \d+", f"--synth_max_iter {LONG_TASK_STEPS}",
                     last)
    # at the lowest priority: it only waits for the kill, and the other tests
    # on these cores get the CPU it would burn meanwhile
    endless = endless.replace(" bash ", " nice -n 19 bash ", 1)
    assert "nice -n 19 bash" in endless
    last = _until_gate(gate, last, endless)
    taskfile.write_text("".join(line + "\n" for line in (*short, last)))
    job = cluster.sbatch(script)
    assert cluster.wait(job) == {job: "TIMEOUT"}
    gate.touch()
    log = grid / "slurm" / f"ps_lbfgs-smoke-disbatch-cpu-{job}.out"
    assert "DUE TO TIME LIMIT" in log.read_text()
    runs = _run_dirs(taskfile)
    # the short runs finished, the long one was cut mid-task
    assert [rundir.is_done(run) for run in runs] == [True] * len(short) + [False]
    _resume_both_ways(cluster, "ps_lbfgs/write_disbatch.py", "smoke", taskfile, job,
                      ("--output-root", root))


def test_scancel_mid_run_then_resume(cluster):
    """``scancel`` while the second of two runs is under way."""
    root = cluster.cwd / "out"
    grid = root / "ps_lbfgs" / "smoke"
    cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root",
                   root, "--sbatch", "--ntasks", "1")
    taskfile = grid / "disbatch-cpu.txt"
    first, second = _run_dirs(taskfile)
    job = cluster.sbatch(taskfile.with_suffix(".sbatch"))
    cluster.wait_for(lambda: rundir.is_done(first) and _partials(second), job,
                     "the second run to start")
    cluster.run("scancel", job)
    assert cluster.wait(job) == {job: "CANCELLED"}
    log = grid / "slurm" / f"ps_lbfgs-smoke-disbatch-cpu-{job}.out"
    assert f"JOB {job} ON" in log.read_text() and "CANCELLED" in log.read_text()
    _resume_both_ways(cluster, "ps_lbfgs/write_disbatch.py", "smoke", taskfile, job,
                      ("--output-root", root))


# --------------------------------------------------------------- requeue ---

def test_requeue_while_the_first_copy_runs(cluster):
    """Two copies of a job run at once; the first is requeued while it runs.

    On a cluster this happens when a node stops answering: SLURM requeues its
    job elsewhere while the first copy still writes to the shared file
    system. Here the second copy is submitted by hand beside the first; the
    first is then requeued (``sbatch --requeue``, ``scontrol requeue``) while
    its attempt runs, and runs a third attempt. No attempt may delete a live
    attempt's partial directory, and the run must end complete, once.
    """
    # both copies must run at once: two free CPUs
    assert cluster.wait_idle() >= 2
    root = cluster.cwd / "out"
    grid = root / "ps_lbfgs" / "quick"
    cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "quick", "--output-root",
                   root)
    # one run of 24 steps; both copies wait until both jobs run (the scheduler
    # may start the second many seconds after the first), the second 1 s more
    line = (grid / "disbatch-cpu.txt").read_text().splitlines()[0]
    line = re.sub(r"--synth_max_iter \d+", "--synth_max_iter 24", line)
    gate = cluster.cwd / "start"
    (run,) = _run_dirs(grid / "disbatch-cpu.txt")[:1]
    jobs = []
    for name, delay in (("one.txt", 0.0), ("two.txt", 1.0)):
        (cluster.cwd / name).write_text(_after_gate(gate, line, delay) + "\n")
        jobs.append(cluster.sbatch("-p", "genoa", "-C", "genoa", "-n", "1", "-c", "1",
                                   "--requeue", "disBatch", name))
    first, second = jobs
    cluster.wait_for(lambda: all(cluster.state(job) == "RUNNING" for job in jobs),
                     first, "both jobs to start")
    gate.touch()
    cluster.wait_for(lambda: len(_partials(run)) == 2, first, "both attempts")
    live = _partials(run)
    time.sleep(2.0)  # both attempts are synthesizing
    assert _partials(run) == live, "an attempt deleted the other's live partial"
    assert not rundir.is_done(run)

    cluster.run("scontrol", "requeue", first)
    cluster.wait_for(lambda: int(cluster.info(first)["Restarts"]) >= 1, second,
                     "the requeue", timeout=60)
    states = cluster.wait(first, second)
    assert states == {first: "COMPLETED", second: "COMPLETED"}, states
    assert cluster.info(first)["Restarts"] == "1"
    assert rundir.is_done(run) and not _partials(run)
    assert sorted(p.name for p in grid.iterdir() if p.name.startswith(run.name)) \
        == [run.name, run.name + ".log"]
    saved = torch.load(run / "metamer.pt", weights_only=True)
    assert len(saved["_losses"]) == 24
    record = json.loads((run / "provenance.json").read_text())
    assert record["args"]["synth_max_iter"] == 24


# ---------------------------------------------------------- submit scripts ---

def test_submit_scripts_accepted_by_the_scheduler(cluster):
    """``sbatch --test-only``: the CPU script, and the GPU one where GPUs are."""
    root = cluster.cwd / "out"
    cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "quick", "--output-root",
                   root, "--sbatch")
    cpu = root / "ps_lbfgs" / "quick" / "disbatch-cpu.sbatch"
    cpus = int(cluster.run("sinfo", "-h", "-p", "genoa", "-o", "%c").stdout.split()[0])
    # one slot per task: more than the test node has is refused...
    assert "-n 9" in cpu.read_text() and cpus < 9
    refused = cluster.run("sbatch", "--test-only", cpu, check=False)
    assert refused.returncode != 0
    assert "Requested node configuration is not available" in refused.stderr
    # ...what it has is accepted
    cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "quick", "--output-root",
                   root, "--sbatch", "--ntasks", str(cpus))
    proc = cluster.run("sbatch", "--test-only", cpu)
    assert re.search(rf"to start at .* using {cpus} processors", proc.stderr)
    cluster.python("ps_lbfgs/write_disbatch.py", "--grid", "quick", "--output-root",
                   root, "--sbatch", "--device", "cuda", "--ntasks", "1")
    gpu = root / "ps_lbfgs" / "quick" / "disbatch-cuda.sbatch"
    gres = cluster.run("sinfo", "-h", "-p", "gpu", "-o", "%G", check=False)
    if gres.returncode != 0 or "gpu" not in gres.stdout:
        pytest.skip("no GPU partition on this cluster: the GPU script is checked "
                    "by content (tests/test_cluster.py)")
    proc = cluster.run("sbatch", "--test-only", gpu)
    assert re.search(r"to start at .* in partition gpu", proc.stderr)
    # a request the scheduler cannot meet is refused, so the check means something
    wrong = gpu.with_name("wrong.sbatch")
    wrong.write_text(gpu.read_text().replace("--gres gpu:1", "--gres gpu:9"))
    assert cluster.run("sbatch", "--test-only", wrong, check=False).returncode != 0
