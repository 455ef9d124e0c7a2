"""Rebuild ``loss.csv`` and the figures of finished runs from what they saved.

For runs made with ``--no_plots`` (to keep timing clean) or whose table is
missing. The whole-process time recorded by ``time_synthesize.sh`` is added as
``process_duration``. Give run directories or directories holding runs.
"""

from pathlib import Path

from plenexp import cli

FIGURES = ("target_vs_metamer.png", "synthesis_status.png",
           "representation_error.png")


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="+", type=Path,
                        help="run directories, or directories holding runs")
    parser.add_argument("--force", action="store_true",
                        help="rebuild even where the table and figures exist")
    return parser.parse_args()


def main():
    args = parse_args()
    runs = cli.finished_runs(args.dirs)
    from plenexp import results
    from plenexp.experiments import ps_lbfgs

    n_done = 0
    for run in runs:
        needs_figures = args.force or not all((run / f).exists() for f in FIGURES)
        with results.skipping(run):  # one bad run does not stop the others
            if ps_lbfgs.analyze_run(run, figures=needs_figures, force=args.force):
                n_done += 1
                print(f"analyzed {run}", flush=True)
    print(f"{n_done} of {len(runs)} run(s) updated")


if __name__ == "__main__":
    cli.run(main)
