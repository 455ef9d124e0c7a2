"""Saving figures the same way everywhere (SVG and PNG, non-interactive)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

FORMATS = ("svg", "png")


def save(fig, stem: str | os.PathLike, formats: tuple[str, ...] = FORMATS,
         dpi: int = 100) -> list[Path]:
    """Save ``fig`` as ``stem.svg`` and ``stem.png`` and close it.

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
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
        written.append(path)
    plt.close(fig)
    return written
