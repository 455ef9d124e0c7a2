"""Rebuild ``loss.csv`` and the figures of finished runs from what they saved.

For runs made with ``--no_plots`` (to keep timing clean) or whose table is
missing. The whole-process time recorded by ``time_synthesize.sh`` is added as
``process_duration``. Give run directories or directories holding runs.
"""

from plenexp import cli


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_analyze_arguments(parser)
    return parser.parse_args()


def main():
    """Write the tables (and figures) that need it."""
    args = parse_args()
    from plenexp.experiments.ps_lbfgs import results
    from plenexp.runs.results import analyze_runs

    analyze_runs(args.dirs, results.analyze_run, figures=not args.no_plots,
                 force=args.force)


if __name__ == "__main__":
    cli.run(main)
