"""Write the table and figure of finished ps_matlab runs from what they saved.

``synthesize.py`` scores its metamer itself (``loss.csv``: plenoptic's PS
loss, overall and by statistic group) and draws ``ps_matlab.{svg,png}`` unless
``--no_plots`` (the grids' tasks skip it, so process times stay clean); this
writes what is missing, or with ``--force`` everything again. The PS model is
built as the run built it, so a rebuilt ``loss`` is the one the run wrote.
Give run directories or directories holding runs; no
MATLAB or Octave is needed here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli

if TYPE_CHECKING:
    from ps_matlab.metamers import MatlabMetamer


def score_run(found: MatlabMetamer, run_dir: Path, table: bool = True,
              figure: bool = True) -> dict:
    """Score a run's metamer: write its ``loss.csv`` and/or its figure.

    Returns
    -------
    row
        The ``loss.csv`` row.
    """
    from ps_matlab import metamers, plot, run

    scorer = run.Scorer()
    row = scorer.row(found)
    if table:
        run.write_table(row, run_dir)
    if figure:
        target, res, _ = metamers.load_pair(found)
        plot.write_metamer_figure(found, scorer.model(found, target), target, res,
                                  row, run_dir / run.FIGURE)
    return row


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Write a finished run's ``loss.csv`` (and figure) where missing.

    Returns
    -------
    rebuilt
        Whether anything was written.
    """
    from ps_matlab import metamers, run

    run_dir = Path(run_dir)
    need_table = force or not (run_dir / run.TABLE).exists()
    need_figure = figures and (force or not (run_dir / f"{run.FIGURE}.png").exists())
    if need_table or need_figure:
        score_run(metamers.from_run_dir(run_dir), run_dir, need_table, need_figure)
    return need_table or need_figure


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_analyze_arguments(parser)
    return parser.parse_args()


def main():
    """Write the tables (and figures) that need it."""
    args = parse_args()
    from plenexp.runs.results import analyze_runs

    analyze_runs(args.dirs, analyze_run, figures=not args.no_plots,
                 force=args.force)


if __name__ == "__main__":
    cli.run(main)
