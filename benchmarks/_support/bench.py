"""Helpers of the scripts under ``benchmarks/``: timed child processes, machine.

Benchmarks measure whole processes side by side in one run and print ratios;
these helpers keep that measurement the same in every script.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from plenexp.runs import provenance


@dataclass
class Measured:
    """One finished child process.

    Attributes
    ----------
    wall_s
        Wall-clock seconds from start to exit.
    peak_rss_mb
        Peak resident memory of the process (its largest child included, as
        the kernel reports it), MiB.
    cpu_s
        User plus system CPU seconds.
    returncode
        Exit status.
    output
        Standard output and error, together.
    """

    wall_s: float
    peak_rss_mb: float
    cpu_s: float
    returncode: int
    output: str


def run_measured(command: Sequence[str | os.PathLike], env: dict | None = None,
                 cwd: str | os.PathLike | None = None,
                 check: bool = True) -> Measured:
    """Run ``command``; measure its wall time, peak memory and CPU time.

    ``os.wait4`` reports the resources of exactly this child (and what it
    waited for), so other processes on the machine do not leak in.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([str(c) for c in command], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    measured = Measured(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                        proc.returncode, output)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed "
                           f"({proc.returncode}):\n{output[-3000:]}")
    return measured


def one_thread_env(**extra: str) -> dict[str, str]:
    """Copy of the environment with a task line's thread settings (one thread)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               TQDM_DISABLE="1", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def load_average() -> str:
    """The 1-minute load average, or ``?``."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def machine_line() -> str:
    """One line naming the machine and the versions a benchmark ran with."""
    return (f"machine: {provenance.cpu_name()}, {os.cpu_count()} cores, "
            f"load {load_average()} at start; {platform.platform()}; "
            f"python {platform.python_version()}, "
            f"torch {provenance.package_version('torch')}, "
            f"plenoptic {provenance.package_version('plenoptic')}")


def median(values: Sequence[float]) -> float:
    """Median of ``values``."""
    return statistics.median(values)



def python() -> str:
    """The interpreter running the benchmark (the same one runs every child)."""
    return sys.executable


def lower_bound(durations, slots: int) -> float:
    """No order finishes sooner: ``max(total / slots, longest task)``."""
    durations = list(durations)
    if not durations:
        return 0.0
    return max(sum(durations) / slots, max(durations))
