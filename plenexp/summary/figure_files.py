"""Saving figures the same way everywhere (SVG and PNG, non-interactive)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plenexp.runs.rundir import atomic_path  # noqa: E402

FORMATS = ("svg", "png")


def save(fig, stem: str | os.PathLike, formats: tuple[str, ...] = FORMATS,
         dpi: int = 100, bbox_inches: str | None = "tight") -> list[Path]:
    """Save ``fig`` as ``stem.svg`` and ``stem.png`` and close it.

    Each file is written under a temporary name and renamed into place
    (``rundir.atomic_path``): a kill or a full disk mid-save never leaves a
    truncated image, and a symlink planted at the name is replaced, never
    written through.

    ``bbox_inches=None`` keeps the figure's own size (for figures laid out by
    hand, saving a second drawing pass).

    Returns
    -------
    written
        The files written.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=bbox_inches)
        written.append(path)
    plt.close(fig)
    return written


class FigureJobs:
    """Draw independent figures side by side, one forked process per core.

    A big summary spends half its time drawing (10,000 runs: seconds per
    figure, SVG and PNG each). ``submit`` starts a job (a function that
    saves figures and returns their paths) in a forked child and returns at
    once; :meth:`paths` waits for all and gives every path, in submission
    order. Jobs run in this process, one after the other, where forking is
    unsafe or useless: no ``fork``, one core, or other threads running (a
    forked child of a threaded process can deadlock on a lock held by
    another thread).
    """

    #: False draws every job in this process (a caller that keeps the figure
    #: objects, such as a test measuring them, sets it).
    side_by_side = True

    def __init__(self) -> None:
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        self.parallel = (self.side_by_side and hasattr(os, "fork") and cores > 1
                         and threading.active_count() == 1)
        self.cores = cores
        self._jobs: list = []  # (process, connection) or a list of paths

    def submit(self, job: Callable[[], list[Path]]) -> None:
        """Start ``job``; at most one running per core."""
        if not self.parallel:
            self._jobs.append(job())
            return
        import multiprocessing

        context = multiprocessing.get_context("fork")
        while sum(isinstance(j, tuple) and j[0].is_alive()
                  for j in self._jobs) >= self.cores:
            next(j for j in self._jobs if isinstance(j, tuple)
                 and j[0].is_alive())[0].join()
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_run_job, args=(job, send), daemon=True)
        process.start()
        send.close()
        self._jobs.append((process, receive))

    def paths(self) -> list[Path]:
        """Every job's paths; a job that failed raises ``RuntimeError``."""
        written, failures = [], []
        for job in self._jobs:
            if not isinstance(job, tuple):
                written += job
                continue
            process, receive = job
            try:
                status, value = receive.recv()
            except EOFError:  # the child died without a word (killed)
                status, value = "error", f"exit status {process.exitcode}"
            process.join()
            receive.close()
            if status == "ok":
                written += [Path(p) for p in value]
            else:
                failures.append(value)
        self._jobs = []
        if failures:
            raise RuntimeError(f"drawing a figure failed: {'; '.join(failures)}")
        return written


def _run_job(job: Callable[[], list[Path]], send) -> None:  # in the child
    try:
        send.send(("ok", [str(p) for p in job()]))
    except BaseException as err:  # noqa: BLE001 (reported to the parent)
        send.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        send.close()
