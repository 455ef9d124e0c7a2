"""Write the table and figure of finished ps_noise runs from what they saved.

``synthesize.py`` writes both itself; this is for runs whose table or figure
is missing (``--no_plots``), or made by an older version of the code
(``--force`` rebuilds them). The model and loss are rebuilt exactly as the run
built them, so a rebuilt ``loss`` is the one the run wrote. It also adds the
whole-process seconds recorded by ``time_synthesize.sh`` as
``process_duration``. Give run directories or directories holding runs.
"""

from pathlib import Path

from plenexp import cli, rundir


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="run directories, or directories holding runs")
    parser.add_argument("--force", action="store_true",
                        help="rebuild tables and figures that exist too")
    parser.add_argument("--no_plots", action="store_true",
                        help="write the tables only")
    return parser.parse_args()


def main():
    """Rebuild the tables (and figures) that need it."""
    args = parse_args()
    runs = rundir.finished_runs(args.dirs)
    from plenexp.experiments.ps_noise import results
    from plenexp.results import skipping

    n_done = 0
    for run in runs:
        with skipping(run):  # one bad run does not stop the others
            if results.analyze_run(run, figures=not args.no_plots,
                                   force=args.force):
                n_done += 1
                print(f"analyzed {run}", flush=True)
    print(f"{n_done} of {len(runs)} run(s) analyzed")


if __name__ == "__main__":
    cli.run(main)
