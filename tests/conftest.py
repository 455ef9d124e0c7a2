"""Shared fixtures: where the test data is, and how to run the scripts."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# One thread for the torch work tests do in-process (scoring a metamer,
# validating a model), as every task runs: beside the other workers, torch's
# own threads spin waiting for cores and burnt up to 7x the CPU (54 s instead
# of 8 s in one test). Read by torch when it is first imported.
for _threads in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_threads, "1")

REPO = Path(__file__).resolve().parents[1]
# benchmarks/_support (stand-in runs, timed processes) serves the tests too
sys.path.insert(0, str(REPO / "benchmarks"))
#: Test data beside the checkout (never needed by the product itself).
SHARED = REPO.parent / "shared"
#: The output root's environment variable (runs made here never use the user's).
OUTPUT_ROOT_ENV = "PLENEXP_OUTPUT_ROOT"


#: The experiment whose smoke grid a test reads, where neither its parameters
#: nor its module (``test_<experiment>.py``) say.
SMOKE_GRID_OF = {"test_report_of_real_runs": "ps_lbfgs",
                 "test_vs_plen_summary_goes_on_past_a_run_file_it_cannot_read":
                     "ps_matlab_vs_plen"}


def smoke_grid_experiment(item) -> str:
    """Which experiment's session smoke grid ``item`` reads.

    Every test of one grid must land in that grid's xdist group: a test put
    elsewhere builds the grid a second time on its own worker (tens of
    seconds). A test whose grid cannot be told is a collection error.
    """
    params = getattr(item, "callspec", None)
    experiment = params.params.get("experiment") if params else None
    if experiment is None:
        experiment = SMOKE_GRID_OF.get(item.originalname)
    if experiment is None:
        module = Path(str(item.fspath)).stem.removeprefix("test_")
        if (REPO / module / "write_disbatch.py").is_file():
            experiment = module
    if experiment is None:
        raise pytest.UsageError(
            f"{item.nodeid} reads a smoke grid, but which one? Name it in "
            "tests/conftest.py's SMOKE_GRID_OF")
    return experiment


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Tests reading one experiment's session smoke grid run on one worker
    # (``make test`` runs ``--dist loadgroup``), so each grid is made once, not
    # once a worker; the grids of different experiments run side by side.
    # First of the hooks: the groups must be marked before pytest-xdist's own
    # hook reads them (pytest_configure below checks that pytest honours them).
    for item in items:
        if "smoke_grid" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group(
                f"smoke_grid-{smoke_grid_experiment(item)}"))
        elif item.get_closest_marker("slurm"):
            # one test cluster of two CPUs: its tests one after another, on
            # one worker, while the other workers take the rest of the suite
            item.add_marker(pytest.mark.xdist_group("slurm"))
    # the longest first, so no worker is left alone with them at the end
    items.sort(key=lambda item: (item.get_closest_marker("slurm") is None,
                                 item.get_closest_marker("slow") is None))


def pytest_configure(config):
    # pytest-xdist names a test's group by appending it to ``item._nodeid``;
    # a pytest whose node ids are read from elsewhere (9.2) ignores the groups
    # without a word, and every worker builds every smoke grid it reads
    if config.getoption("dist", "no") != "loadgroup":
        return
    from types import SimpleNamespace

    probe = SimpleNamespace(_nodeid="test@group", _id="test")
    if pytest.Item.nodeid.fget(probe) != "test@group":
        raise pytest.UsageError(
            f"pytest {pytest.__version__} ignores pytest-xdist's test groups "
            "(--dist loadgroup): install the versions pyproject.toml names "
            "(make .venv/.installed-test)")


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


def task_env(mpl_dir: Path) -> dict[str, str]:
    """Environment of a batch task: one thread, no progress bars, no user root."""
    env = dict(os.environ)
    env.update(TQDM_DISABLE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONUNBUFFERED="1", MPLCONFIGDIR=str(mpl_dir),
               PYTHON=sys.executable)
    env.pop(OUTPUT_ROOT_ENV, None)
    return env


def readme_commands(readme: Path) -> list[list[str]]:
    """The commands of a README's ``bash`` blocks, as words (comments dropped)."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(), re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def quick_grid_steps(readme: Path) -> list[list[str]]:
    """A README's documented quick-grid steps (``python`` commands naming it)."""
    return [words for words in readme_commands(readme) if words[0] == "python"
            and "--help" not in words
            and any(w == "quick" or "/quick/" in w for w in words)]


def matlab_available() -> bool:
    """MATLAB or Octave, and the textureSynth code, are found."""
    from plenexp.errors import UsageError
    from plenexp.synth import matlab

    try:
        matlab.check_setup()
    except UsageError:
        return False
    return True


def user_checkout(where: Path) -> Path:
    """The checkout as a user sees it, with its own empty ``outputs/``.

    Every entry is a link to the real one, so the scripts run from the
    checkout, while ``./outputs`` (the default output root) is the caller's.
    """
    where.mkdir(parents=True)
    for entry in REPO.iterdir():
        if entry.name != "outputs":
            (where / entry.name).symlink_to(entry)
    return where


@dataclass
class SmokeRun:
    """One experiment's smoke grid, made with its README's quick-grid steps.

    ``steps`` holds each documented command (``quick`` read as ``smoke``) and
    its completed process, in order; ``tables_as_run`` each run's
    ``loss.csv`` as its task wrote it, and ``files_as_run`` the names of the
    files it left, both before the summary and ``analyze.py`` ran.
    """

    grid: Path
    steps: list[tuple[list[str], subprocess.CompletedProcess]]
    tables_as_run: dict[str, str] = field(default_factory=dict)
    files_as_run: dict[str, list[str]] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The output root the steps wrote to (the checkout's ``./outputs``)."""
        return self.grid.parents[1]

    def step(self, script: str) -> subprocess.CompletedProcess:
        """The completed process of the documented step running ``script``."""
        return next(proc for words, proc in self.steps if script in words)


class SmokeGrids:
    """Each experiment's smoke grid, made once a session, as its README says.

    Calling it with an experiment gives the grid directory; ``run(experiment)``
    gives the whole record (:class:`SmokeRun`). The documented quick-grid
    steps run from a copy of the checkout with the smoke grid in place of the
    quick one (writer, ``disbatch_local``, summary), then ``analyze.py`` on
    the grid where the README has no such step. An experiment whose steps
    need MATLAB is skipped without it.
    """

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.made: dict[str, SmokeRun] = {}

    def __call__(self, experiment: str) -> Path:
        return self.run(experiment).grid

    def run(self, experiment: str) -> SmokeRun:
        if experiment not in self.made:
            self.made[experiment] = self._make(experiment)
        return self.made[experiment]

    def _make(self, experiment: str) -> SmokeRun:
        if experiment == "ps_matlab" and not matlab_available():
            pytest.skip("ps_matlab's steps need MATLAB or Octave and textureSynth")
        env = task_env(self.tmp_path_factory.mktemp("mpl"))
        checkout = user_checkout(
            self.tmp_path_factory.mktemp(f"{experiment}-smoke") / "repository root")
        grid = checkout / "outputs" / experiment / "smoke"
        steps = []
        tables: dict[str, str] = {}
        files: dict[str, list[str]] = {}
        for words in quick_grid_steps(REPO / experiment / "README.md"):
            if "matlab" in Path(words[1]).name and not matlab_available():
                continue  # the MATLAB side of ps_matlab_vs_plen
            # the tables as the tasks wrote them, before analysis or summary
            if not files and Path(words[1]).name in ("analyze.py", "summarize.py"):
                runs = [run for run in grid.iterdir() if (run / "loss.csv").is_file()]
                tables = {run.name: (run / "loss.csv").read_text() for run in runs}
                files = {run.name: sorted(p.name for p in run.iterdir())
                         for run in runs}
            argv = [sys.executable, *(re.sub(r"(?<![\w-])quick(?![\w-])", "smoke",
                                             w) for w in words[1:])]
            proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                                  cwd=checkout, timeout=600)
            steps.append((words, proc))
            assert proc.returncode == 0, (
                f"{experiment}/README.md: {shlex.join(words)} failed "
                f"({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        if not any("analyze.py" in words[1] for words, _ in steps):
            proc = subprocess.run([sys.executable,
                                   str(REPO / experiment / "analyze.py"), str(grid)],
                                  capture_output=True, text=True, env=env,
                                  cwd=checkout, timeout=600)
            assert proc.returncode == 0, f"analyze.py: {proc.stdout}{proc.stderr}"
        return SmokeRun(grid, steps, tables, files)


@pytest.fixture(scope="session")
def smoke_grid(tmp_path_factory) -> SmokeGrids:
    """Each experiment's smoke grid, run end to end once a session, as a user would."""
    return SmokeGrids(tmp_path_factory)


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
    return task_env(tmp_path / ".mpl")


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
