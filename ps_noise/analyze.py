"""Rebuild ``loss.csv`` of finished ps_noise runs from what they saved.

``synthesize.py`` writes the table itself; this is for runs whose table is
missing or made by an older version of the code (``--force``). It also adds
the whole-process seconds recorded by ``time_synthesize.sh`` as
``process_duration``, and with ``--plots`` redraws the figures (as
``plot.py``). Give run directories or directories holding runs.
"""

from pathlib import Path

from plenexp import cli


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="run directories, or directories holding runs")
    parser.add_argument("--force", action="store_true",
                        help="rebuild tables that exist too")
    parser.add_argument("--plots", action="store_true",
                        help="redraw each run's figure as well")
    return parser.parse_args()


def main():
    """Rebuild the tables (and figures) that need it."""
    args = parse_args()
    runs = cli.finished_runs(args.dirs)
    from plenexp import results
    from plenexp.experiments import ps_noise

    n_done = 0
    for run in runs:
        with results.skipping(run):  # one bad run does not stop the others
            if args.force or not (run / ps_noise.TABLE).exists():
                ps_noise.analyze_run(run)
                n_done += 1
                print(f"analyzed {run}", flush=True)
            if args.plots:
                ps_noise.plot_run(run)
    print(f"{n_done} of {len(runs)} run table(s) rebuilt")


if __name__ == "__main__":
    cli.run(main)
