"""Add what finished runs could not write themselves: their figures.

A run writes its ``loss.csv`` once (whole-process seconds included). Runs made
with ``--no_plots`` (to keep timing clean) get their figures here. A missing table, or
every table with ``--force``, is rebuilt from the saved metamer and
``trajectory.csv`` (the same loss the run wrote). Give run directories or
directories holding runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from plenexp import cli


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Draw a finished run's missing figures; rebuild its table only if asked.

    Without ``force``, an existing ``loss.csv`` is kept and only missing
    figures are drawn (``figures``). With ``force`` or
    without a table, the row is computed again from the reloaded metamer and
    ``trajectory.csv`` and every figure is drawn again.

    Returns
    -------
    changed
        Whether anything was written.
    """
    from plenexp.runs import results as tables
    from ps_lbfgs import plot, run

    run_dir = Path(run_dir)
    table = run_dir / "loss.csv"
    # a damaged table is rebuilt from the saved metamer, not read
    tables.drop_damaged(table)
    rebuild = force or not table.exists()
    figures = figures and (force or not all(
        (run_dir / f"{name}.png").exists() for name in plot.FIGURES))
    if not rebuild and not figures:
        return False
    loaded = run.load_run(run_dir)
    met, args = loaded.metamer, loaded.args
    synth_duration = loaded.provenance.get("synth_duration")
    if rebuild:
        fields = {k: v for k, v in loaded.provenance.items() if k != "argv"}
        if loaded.trajectory is not None:
            fields["steps"] = max(0, len(loaded.trajectory) - 1)
        fields.update(run.outcome_fields(met, args, loaded.trajectory))
        synth_duration = fields.get("synth_duration")
        row = run.loss_row(args, len(met.losses) - 1, float(met.losses[-1]),
                           synth_duration, fields)
        tables.write_row(row, table)
    if figures:
        plot.write_run_figures(met, run_dir, args, synth_duration or 0.0)
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
