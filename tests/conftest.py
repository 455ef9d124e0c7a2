"""Shared fixtures: where the test data is, and how to run the scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# benchmarks/_support (stand-in runs, timed processes) serves the tests too
sys.path.insert(0, str(REPO / "benchmarks"))
#: Test data beside the checkout (never needed by the product itself).
SHARED = REPO.parent / "shared"


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
