"""Write the table and figure of finished ps_noise runs from what they saved.

``synthesize.py`` writes both itself; this is for runs whose table or figure
is missing (``--no_plots``), or made by an older version of the code
(``--force`` rebuilds them). The model and loss are rebuilt exactly as the run
built them, so a rebuilt ``loss`` is the one the run wrote. Give run
directories or directories holding runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from plenexp import cli


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Write a finished run's ``loss.csv`` (and figure) where missing.

    Parameters
    ----------
    figures
        Also draw the run's figure where it is missing.
    force
        Rebuild the table (and figure) even where they exist.

    Returns
    -------
    rebuilt
        Whether anything was written.
    """
    from plenexp.runs import results
    from ps_noise import plot, run

    run_dir = Path(run_dir)
    if force:  # a damaged table is rebuilt, not read
        results.drop_damaged(run_dir / run.TABLE)
    need_table = force or not (run_dir / run.TABLE).exists()
    need_figure = figures and (
        force or not (run_dir / f"{plot.FIGURE}.png").exists())
    if not (need_table or need_figure):
        return False
    record = run.load_run(run_dir, metamer=False)
    image = record.images["target"]
    model, loss, _ = run.build(record.args, image, record.images["init"])
    row = run.rebuild_row(record, model, loss)
    if need_table:
        results.write_row(row, run_dir / run.TABLE)
    if need_figure:
        plot.write_run_figure(run_dir, model, image, record.images["init"],
                              record.images["metamer"], record.args, row)
    return True


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
