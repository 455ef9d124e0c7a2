"""The record of one finished run, the same type for every experiment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunRecord:
    """One finished run, as every experiment's ``load_run`` returns it.

    Attributes
    ----------
    run_dir
        The run directory.
    experiment
        The experiment's name (its folder).
    args
        The run's full arguments, as recorded in ``provenance.json``.
    provenance
        The rest of ``provenance.json``: versions, host, device, threads,
        durations, memory.
    row
        The run's ``loss.csv`` row (empty if the run has none yet).
    metamer
        For plenoptic runs, the ``po.Metamer`` reloaded with
        ``weights_only=True``; ``None`` for MATLAB runs or when not asked for.
    images
        Images the experiment keeps besides the metamer, by name (``target``,
        ``init``, ``metamer`` for MATLAB runs), as tensors of shape
        ``(1, 1, H, W)``.
    trajectory
        Per-step ``{"step", "seconds", "loss", "evaluations"}`` rows
        (``trajectory.csv``), if the run recorded them.
    """

    run_dir: Path
    experiment: str
    args: dict[str, Any]
    provenance: dict[str, Any] = field(default_factory=dict)
    row: dict[str, Any] = field(default_factory=dict)
    metamer: Any = None
    images: dict[str, Any] = field(default_factory=dict)
    trajectory: list[dict] | None = None
