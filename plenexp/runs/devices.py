"""Devices, synchronised timing and peak memory."""

from __future__ import annotations

import resource
import sys
import time

import torch

from plenexp.cli import normalize_device
from plenexp.errors import UsageError
from plenexp.runs.provenance import cpu_name


def resolve_device(spec: str | int) -> torch.device:
    """Turn ``cpu``, ``cuda``, ``cuda:N`` or a bare index ``N`` into a device.

    Raises
    ------
    UsageError
        For an unknown spec, or a GPU this machine does not have.
    """
    spec = normalize_device(spec)
    if spec == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise UsageError(f"device {spec!r} asked for, but CUDA is not available")
    device = torch.device(spec)
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(
            f"device {spec!r} asked for, but only "
            f"{torch.cuda.device_count()} GPU(s) are visible"
        )
    return device


def device_name(device: torch.device) -> str:
    """Human-readable name of the hardware behind ``device``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so a clock read after it is honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stopwatch:
    """Wall-clock timer that synchronises ``device`` before each reading."""

    def __init__(self, device: torch.device):
        self.device = device
        synchronize(device)
        self._start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since construction (or the last :meth:`restart`)."""
        synchronize(self.device)
        return time.perf_counter() - self._start

    def restart(self) -> float:
        """Return the elapsed seconds and start counting again."""
        elapsed = self.elapsed()
        self._start = time.perf_counter()
        return elapsed


def reset_peak_memory(device: torch.device) -> None:
    """Start GPU peak-memory accounting afresh (RSS peaks cannot be reset)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict[str, float | None]:
    """Peak resident memory of this process and, on CUDA, GPU max allocated.

    Returns
    -------
    memory
        ``peak_rss_mb`` and ``gpu_max_allocated_mb`` (``None`` off CUDA).
    """
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is kilobytes on Linux, bytes on macOS.
    rss_mb = rss / 2**20 if sys.platform == "darwin" else rss / 2**10
    gpu = None
    if device.type == "cuda":
        gpu = torch.cuda.max_memory_allocated(device) / 2**20
    return {"peak_rss_mb": round(rss_mb, 1), "gpu_max_allocated_mb": gpu}
