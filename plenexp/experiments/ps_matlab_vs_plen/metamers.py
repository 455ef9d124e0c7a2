"""Metamers at equal time budgets of a summary table (loads the runs' metamers)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from plenexp.experiments.ps_matlab_vs_plen import figures, results, stats
from plenexp.experiments.ps_matlab_vs_plen.summary import method_order
from plenexp.summary import figure_files


def metamer_grids(frame: pd.DataFrame, output_dir: Path) -> list[Path]:
    """Metamers at equal time budgets, one figure per image and seed.

    ``<img>_seed-<N>.png``/``.svg`` (:func:`figures.budget_grid`): rows =
    methods (curves), columns = 1-2-5 synthesis-time budgets. Results whose
    run directory is gone are left out.
    """
    cells = stats.overall(frame)
    cells = cells[cells["run_dir"].map(lambda p: Path(str(p)).is_dir())]
    written = []
    for (img, seed), part in cells.groupby(["img", "seed"], sort=True):
        # one row per curve (a method on one engine, device and host)
        part = part.drop_duplicates(["curve", "synth_iters"]).assign(
            method=lambda t: t["curve"])
        target = results.load_target(
            results.load_result(part["run_dir"].iloc[0]))
        fig, _ = figures.budget_grid(
            part, target, method_order(part["curve"]),
            lambda row: results.metamer_at(row["run_dir"], row["metamer"]),
            f"ps_matlab_vs_plen: {img}, seed {seed:g}: metamers at equal "
            "synthesis-time budgets")
        written += figure_files.save(fig, output_dir / f"{img}_seed-{seed:g}")
    return written
