"""Rebuild ``loss.csv`` and the figure of finished ps_speed runs from what they saved.

For runs made with ``--no_plots`` (as the task files make them, so timings
stay clean) or whose table is missing; ``--force`` rebuilds the table from
the worker's saved answer (``result.json``).
"""

import os
from pathlib import Path

from plenexp import cli


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Rebuild the table with ``force`` (or when missing), draw the figure.

    Returns
    -------
    changed
        Whether anything was written.
    """
    from plenexp.runs import files, provenance
    from plenexp.runs import results as tables
    from ps_speed import plot, run

    run_dir = Path(run_dir)
    table = run_dir / "loss.csv"
    changed = False
    if force or not table.exists():
        record = provenance.load(run_dir)
        result = files.read_json(run_dir / "result.json")
        rows = run.loss_rows(record["args"], result, run.row_record(record))
        tables.write_row(rows, table)
        changed = True
    if figures and (force or not all((run_dir / f"{name}.png").exists()
                                     for name in plot.FIGURES)):
        plot.write_run_figures(run_dir)
        changed = True
    return changed


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_analyze_arguments(parser)
    return parser.parse_args()


def main():
    """Write the tables (and figures) that need it."""
    args = parse_args()
    from plenexp.runs.results import analyze_runs

    analyze_runs(args.dirs, analyze_run, figures=not args.no_plots, force=args.force)


if __name__ == "__main__":
    cli.run(main)
