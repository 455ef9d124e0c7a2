"""Saving figures the same way everywhere (SVG and PNG, non-interactive)."""

from __future__ import annotations

import os
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
