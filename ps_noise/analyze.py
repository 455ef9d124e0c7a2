"""Write the table and figure of finished ps_noise runs from what they saved.

``synthesize.py`` writes both itself; this is for runs whose table or figure
is missing (``--no_plots``), or made by an older version of the code
(``--force`` rebuilds them). The model and loss are rebuilt exactly as the run
built them, so a rebuilt ``loss`` is the one the run wrote. It also adds the
whole-process seconds recorded by ``time_synthesize.sh`` as
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
    from plenexp.experiments.ps_noise import results
    from plenexp.runs.results import analyze_runs

    analyze_runs(args.dirs, results.analyze_run, figures=not args.no_plots,
                 force=args.force)


if __name__ == "__main__":
    cli.run(main)
