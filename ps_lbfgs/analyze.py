"""Rebuild ``loss.csv`` and the figures of finished runs from what they saved.

For runs made with ``--no_plots`` (to keep timing clean) or whose table is
missing. The whole-process time recorded by ``time_synthesize.sh`` is added as
``process_duration``. Give run directories or directories holding runs.
"""

from pathlib import Path

from plenexp import cli, rundir


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="run directories, or directories holding runs")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the table and figures even where they exist "
                        "(the loss is computed again from the saved metamer)")
    return parser.parse_args()


def main():
    args = parse_args()
    runs = rundir.finished_runs(args.dirs)
    from plenexp.experiments.ps_lbfgs import results
    from plenexp.results import skipping

    n_done = 0
    for run in runs:
        needs_figures = args.force or not all(
            (run / f"{name}.png").exists() for name in results.FIGURES)
        with skipping(run):  # one bad run does not stop the others
            if results.analyze_run(run, figures=needs_figures, force=args.force):
                n_done += 1
                print(f"analyzed {run}", flush=True)
    print(f"{n_done} of {len(runs)} run(s) updated")


if __name__ == "__main__":
    cli.run(main)
