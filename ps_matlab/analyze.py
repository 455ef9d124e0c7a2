"""Write the table and figure of finished ps_matlab runs from what they saved.

``synthesize.py`` scores its metamer itself (``loss.csv``: plenoptic's PS
loss, overall and by statistic group) and draws ``ps_matlab.{svg,png}`` unless
``--no_plots`` (the grids' tasks skip it, so process times stay clean); this
writes what is missing, or with ``--force`` everything again. The PS model is
built as the run built it, so a rebuilt ``loss`` is the one the run wrote. It
also adds the whole-process seconds of ``time_synthesize.sh`` as
``process_duration``. Give run directories or directories holding runs; no
MATLAB or Octave is needed here.
"""

from pathlib import Path

from plenexp import cli


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
    """Write the tables (and figures) that need it."""
    args = parse_args()
    runs = cli.finished_runs(args.dirs)
    from plenexp.experiments.ps_matlab import results

    n_done = 0
    for run in runs:
        if results.analyze_run(run, figures=not args.no_plots, force=args.force):
            n_done += 1
            print(f"analyzed {run}", flush=True)
    print(f"{n_done} of {len(runs)} run(s) analyzed")


if __name__ == "__main__":
    cli.run(main)
