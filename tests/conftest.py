"""Shared fixtures: where the test data is, and how to run the scripts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# benchmarks/_support (stand-in runs, timed processes) serves the tests too
sys.path.insert(0, str(REPO / "benchmarks"))
#: Test data beside the checkout (never needed by the product itself).
SHARED = REPO.parent / "shared"
#: The output root's environment variable (runs made here never use the user's).
OUTPUT_ROOT_ENV = "PLENEXP_OUTPUT_ROOT"


#: The experiment whose smoke grid a test reads, where its parameters do not say.
SMOKE_GRID_OF = {"test_report_of_real_runs": "ps_lbfgs"}


def pytest_collection_modifyitems(config, items):
    # Tests reading one experiment's session smoke grid run on one worker
    # (``make test`` runs ``--dist loadgroup``), so each grid is made once, not
    # once a worker; the grids of different experiments run side by side.
    for item in items:
        if "smoke_grid" in getattr(item, "fixturenames", ()):
            params = getattr(item, "callspec", None)
            experiment = (params.params.get("experiment") if params else None) \
                or SMOKE_GRID_OF.get(item.originalname, "any")
            item.add_marker(pytest.mark.xdist_group(f"smoke_grid-{experiment}"))


def write_smoke_taskfile(experiment: str, taskfile: Path, root: Path,
                         env: dict) -> subprocess.CompletedProcess:
    """Run the experiment's writer on the smoke grid, as its README says.

    A writer that needs a step first (ps_matlab_vs_plen's initial images)
    names it in its one-line error (``make them first: python ...``): that
    command is run, then the writer again.
    """
    command = [sys.executable, str(REPO / experiment / "write_disbatch.py"),
               str(taskfile), "--grid", "smoke", "--output-root", str(root)]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO)
    hint = re.search(r"make them first: python (.*)$", proc.stderr.strip())
    if proc.returncode == 2 and hint:
        subprocess.run([sys.executable, *shlex.split(hint.group(1))], check=True,
                       capture_output=True, text=True, env=env, cwd=REPO)
        proc = subprocess.run(command, capture_output=True, text=True, env=env,
                              cwd=REPO)
    return proc


@pytest.fixture(scope="session")
def smoke_grid(tmp_path_factory):
    """Each experiment's smoke grid, run end to end once a session, as a user would.

    The experiment's writer writes the smoke grid's task file, every line of
    it runs, then ``analyze.py`` and ``summarize.py``; gives the grid directory.
    An experiment whose writer refuses for want of MATLAB is skipped.
    """
    made: dict[str, Path] = {}

    def make(experiment: str) -> Path:
        if experiment in made:
            return made[experiment]
        env = {k: v for k, v in os.environ.items() if k != OUTPUT_ROOT_ENV}
        env.update(TQDM_DISABLE="1", OMP_NUM_THREADS="1", PYTHON=sys.executable,
                   MPLCONFIGDIR=str(tmp_path_factory.mktemp("mpl")))
        root = tmp_path_factory.mktemp(f"{experiment}-smoke") / "out"
        taskfile = root / "tasks.txt"
        proc = write_smoke_taskfile(experiment, taskfile, root, env)
        if proc.returncode == 2 and ("textureSynth" in proc.stderr
                                     or "MATLAB" in proc.stderr):
            pytest.skip(f"no MATLAB set-up: {proc.stderr.strip()}")
        assert proc.returncode == 0, proc.stderr
        for line in taskfile.read_text().splitlines():
            subprocess.run(["bash", "-c", line], env=env, cwd=REPO, timeout=600)
        grid = root / experiment / "smoke"
        for step in (["analyze.py", str(grid)],
                     ["summarize.py", "--grid", "smoke", "--output-root", str(root)]):
            proc = subprocess.run([sys.executable, str(REPO / experiment / step[0]),
                                   *step[1:]], env=env, cwd=REPO, timeout=600,
                                  capture_output=True, text=True)
            assert proc.returncode == 0, f"{step[0]}: {proc.stdout}{proc.stderr}"
        made[experiment] = grid
        return grid

    return make


def process_duration(run_dir: Path) -> float | None:
    """The whole-process seconds a run recorded (``time_synthesize.sh`` runs)."""
    import json

    value = json.loads((Path(run_dir) / "provenance.json").read_text()).get(
        "process_duration")
    return None if value is None else float(value)


@pytest.fixture(autouse=True)
def no_skipped_files_counted(monkeypatch):
    """Each test starts with no skipped files counted (scripts run in-process
    by one test must not exit 1 for files another test skipped)."""
    from plenexp import errors

    monkeypatch.setattr(errors, "_problems", 0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"test data directory {SHARED} is not present")
    return SHARED


@pytest.fixture
def script_env(tmp_path) -> dict[str, str]:
    """Environment of a batch task: one thread, no progress bars."""
    env = dict(os.environ)
    env.update(TQDM_DISABLE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONUNBUFFERED="1", MPLCONFIGDIR=str(tmp_path / ".mpl"),
               PYTHON=sys.executable)
    env.pop("PLENEXP_OUTPUT_ROOT", None)
    return env


@pytest.fixture
def run_script(script_env):
    """Run a repository script with this interpreter; return the completed process."""

    def run(script: str, *args: str, check: bool = True, timeout: float = 600,
            env: dict | None = None) -> subprocess.CompletedProcess:
        command = [sys.executable, str(REPO / script), *map(str, args)]
        if script.endswith(".sh"):
            command = ["bash", str(REPO / script), *map(str, args)]
        proc = subprocess.run(command, capture_output=True, text=True,
                              timeout=timeout, env=env or script_env, cwd=REPO)
        if check and proc.returncode != 0:
            raise AssertionError(f"{script} failed ({proc.returncode}):\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        return proc

    return run
