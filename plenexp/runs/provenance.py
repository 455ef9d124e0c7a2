"""What made a result: versions, commits, machine, threads and arguments."""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from plenexp.runs import files
from plenexp.runs.paths import REPO_ROOT

THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cpu_name() -> str:
    """CPU model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                  capture_output=True, text=True,
                                  timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def git_commit(directory: str | os.PathLike) -> str | None:
    """Commit checked out in ``directory``, with ``-dirty`` if it has changes."""
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), "describe", "--always", "--dirty",
             "--abbrev=40", "--match=NO-TAGS"],
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def package_version(name: str) -> str | None:
    """Installed version of a distribution, or ``None``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_commit(name: str) -> str | None:
    """Commit of a package installed from a git checkout or a VCS URL."""
    try:
        text = importlib.metadata.distribution(name).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    info = json.loads(text)
    if "vcs_info" in info:
        return info["vcs_info"].get("commit_id")
    url = urlparse(info.get("url", ""))
    if url.scheme == "file":
        return git_commit(unquote(url.path))
    return None


def thread_settings() -> dict[str, object]:
    """The thread settings in force: environment and torch's own counts."""
    settings: dict[str, object] = {
        var.lower(): os.environ.get(var) for var in THREAD_ENV_VARS
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        settings["torch_num_threads"] = torch.get_num_threads()
        settings["torch_num_interop_threads"] = torch.get_num_interop_threads()
    return settings


def apply_thread_settings() -> None:
    """Make torch follow ``OMP_NUM_THREADS`` when the task line set it.

    The environment variable alone does not cap torch's intra-op pool on every
    build; one thread per run is ~3x faster per core when runs share a node.
    """
    import torch

    value = os.environ.get("OMP_NUM_THREADS")
    if value and value.isdigit() and int(value) > 0:
        torch.set_num_threads(int(value))


def collect(args: dict, device=None, device_name: str | None = None) -> dict:
    """Everything needed to trace a result back to what made it.

    Parameters
    ----------
    args
        The full parsed arguments of the run.
    device
        The torch device the run used.
    device_name
        Name of the hardware behind ``device``.

    Returns
    -------
    record
        JSON-serialisable provenance.
    """
    return {
        "args": args,
        "argv": sys.argv,
        "plenoptic_version": package_version("plenoptic"),
        "plenoptic_commit": package_commit("plenoptic"),
        "torch_version": package_version("torch"),
        "python_version": platform.python_version(),
        "repo_commit": git_commit(REPO_ROOT) if (REPO_ROOT / ".git").exists()
        else None,
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "device": str(device) if device is not None else None,
        "device_name": device_name,
        "start_time": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"
        ),
        **thread_settings(),
    }


def load(run_dir: str | os.PathLike) -> dict:
    """Read a run's ``provenance.json``.

    Raises
    ------
    OSError
        If it cannot be read (missing, a directory, a FIFO, a symlink out of
        the run, over 1 MiB: ``plenexp.errors.BadFile``).
    ValueError
        If it is not UTF-8 JSON holding an object whose ``args`` (if any) is
        an object too.
    """
    path = Path(run_dir) / "provenance.json"
    record = files.read_json(path)
    if not isinstance(record, dict) or not isinstance(record.get("args", {}), dict):
        raise ValueError(f"{path} does not hold a provenance record (a JSON object "
                         "with its arguments)")
    return record
