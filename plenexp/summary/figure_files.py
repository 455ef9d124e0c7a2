"""Saving figures the same way everywhere (SVG and PNG, non-interactive)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from plenexp.runs import forking  # noqa: E402
from plenexp.runs.rundir import atomic_path  # noqa: E402

FORMATS = ("svg", "png")
#: SVG text as ``<text>`` in the font list of ``font.sans-serif`` (a viewer
#: without DejaVu Sans takes the next it has), not as glyph outlines.
SVG_TEXT = {"svg.fonttype": "none"}


def save(fig, stem: str | os.PathLike, formats: tuple[str, ...] = FORMATS,
         dpi: int = 100, bbox_inches: str | None = "tight") -> list[Path]:
    """Save ``fig`` as ``stem.svg`` and ``stem.png`` and close it.

    Each file is written under a temporary name and renamed into place
    (``rundir.atomic_path``): a kill or a full disk mid-save never leaves a
    truncated image, and a symlink planted at the name is replaced, never
    written through.

    ``bbox_inches=None`` keeps the figure's own size (for figures laid out by
    hand, saving a second drawing pass). An SVG keeps its text as text (it
    can be edited and searched, and is written a quarter faster than with
    every glyph as an outline), in the same font list as the PNG.

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
        with atomic_path(path) as tmp, matplotlib.rc_context(SVG_TEXT):
            fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches=bbox_inches)
        written.append(path)
    plt.close(fig)
    return written


class FigureJobs:
    """Draw independent figures side by side, in forked processes.

    A big summary spends half its time drawing (10,000 runs: seconds per
    figure, SVG and PNG each). ``submit`` queues a job (a function that saves
    figures and returns their paths; a big table that needs nothing the
    caller still works out may go the same way) and starts it in a forked
    child, one per core, so the caller goes on with its text at once (the cores are
    shared with it for that while: every core stays busy, and the drawing
    ends sooner than with a core kept for the caller). :meth:`paths` starts
    what is still queued as children free up, waits for them and gives every
    path, in submission order. Every job runs here, one after the other,
    where forking is unsafe or useless
    (:func:`plenexp.runs.forking.fork_is_useful`).
    """

    #: False draws every job in this process (a caller that keeps the figure
    #: objects, such as a test measuring them, sets it).
    side_by_side = True

    def __init__(self) -> None:
        self.parallel = self.side_by_side and forking.fork_is_useful()
        self.children = forking.cores()
        # per job, in submission order: a queued job (callable), a child
        # drawing it (_Child) or its outcome (status, paths or why)
        self._jobs: list = []

    def submit(self, job: Callable[[], list[Path]]) -> None:
        """Start ``job`` in a child if one may start now, else queue it."""
        if not self.parallel:
            self._jobs.append(("ok", job()))
        elif self._running() < self.children:
            self._jobs.append(_Child(job))
        else:
            self._jobs.append(job)

    def _drawing(self) -> list[_Child]:
        return [j for j in self._jobs if isinstance(j, _Child) and not j.done
                and j.process.is_alive()]

    def _running(self) -> int:
        return len(self._drawing())

    def _wait_for_a_free_child(self) -> None:
        from multiprocessing.connection import wait

        while len(drawing := self._drawing()) >= self.children:
            # a child is done once its outcome can be read (or it died)
            ready = wait([child.receive for child in drawing])
            for child in drawing:
                if child.receive in ready:
                    child.outcome()

    def paths(self) -> list[Path]:
        """Every job's paths; a job that failed raises ``RuntimeError``."""
        for i, job in enumerate(self._jobs):  # children as they free up
            if callable(job):
                self._wait_for_a_free_child()
                self._jobs[i] = _Child(job)
        written, failures = [], []
        for job in self._jobs:
            status, value = job.outcome() if isinstance(job, _Child) else job
            if status == "ok":
                written += [Path(p) for p in value]
            else:
                failures.append(value)
        self._jobs = []
        if failures:
            raise RuntimeError(f"drawing a figure failed: {'; '.join(failures)}")
        return written


class _Child:
    """A job drawn in a forked child, which sends back its outcome."""

    def __init__(self, job: Callable[[], list[Path]]) -> None:
        self.process, self.receive = forking.child(_run_job, job)
        self._outcome: tuple[str, list[str] | str] | None = None

    @property
    def done(self) -> bool:
        """Whether its outcome has been read (the child has ended)."""
        return self._outcome is not None

    def outcome(self) -> tuple[str, list[str] | str]:
        """Wait for the child: ``("ok", paths)`` or ``("error", why)``."""
        if self._outcome is None:
            try:
                outcome = self.receive.recv()
            except EOFError:  # the child died without a word (killed)
                outcome = None
            self.process.join()
            self.receive.close()
            self._outcome = outcome or ("error",
                                        f"exit status {self.process.exitcode}")
        return self._outcome


def _outcome(job: Callable[[], list[Path]]) -> tuple[str, list[str] | str]:
    """``("ok", paths)`` of a job, or ``("error", why)``: as a child reports."""
    try:
        return "ok", [str(p) for p in job()]
    except Exception as err:  # noqa: BLE001 (reported with the others)
        return "error", f"{type(err).__name__}: {err}"


def _run_job(job: Callable[[], list[Path]], send) -> None:  # in the child
    try:
        send.send(_outcome(job))
    finally:
        send.close()
