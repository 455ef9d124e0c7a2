"""Draw one run's figure: initial image | each kept metamer | target.

Each metamer (a run's checkpoints too) is titled with its iterations,
synthesis seconds and overall L2 loss (from the run's ``loss.csv``: run
analyze.py first on MATLAB runs), every image on one grey range. The figure
(SVG + PNG, ``metamers``) goes into the run directory, or into --output_dir
(one subdirectory per run when several are given). The metamers of every
method at equal time budgets are drawn by summarize.py.
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import rundir


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path,
                        help="finished run(s), or directories holding runs")
    parser.add_argument("--output_dir", "--output-dir", dest="output_dir", type=Path,
                        default=None, help="where to write (default: each run's "
                        "directory)")
    return parser.parse_args()


def main() -> None:
    """Draw each run's figure."""
    args = parse_args()
    runs = rundir.finished_runs(args.run_dirs)
    from plenexp.experiments.ps_matlab_vs_plen import figures, results

    for run, out in rundir.plot_destinations(runs, args.output_dir):
        if not results.table_path(run).is_file():
            raise cli.UsageError(f"{run} has no loss.csv yet: run analyze.py on it "
                                 "first")
        out.mkdir(parents=True, exist_ok=True)
        results.draw_run(run, out / figures.RUN_FIGURE, force=True)
        print(f"figure of {run.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
