"""Gather every result's loss table into all_loss.csv; draw the summary; say who wins.

Figures (SVG + PNG) in the summary directory, x always the mean over initial
images of each configuration, log-log, colour by method (Adam blue, matlab
orange, LBFGS history sizes in a green ramp), marker by image, line style by
device, line = median over initial images, band = 95% interval:

- overall_<func>_vs_synth_only_time: overall loss against synthesis time;
- overall_<func>_vs_total_time: against whole-process time (start-up included);
- groups_<func>_vs_synth_only_time: one panel per PS statistic group.

best_method.csv / best_method.txt: for each image and 1-2-5 time budget, the
method whose best configuration within the budget has the lowest median
overall loss (printed too). ``--from-csv`` re-plots an existing all_loss.csv.
"""

from pathlib import Path

from plenexp import cli, paths

EXPERIMENT = "ps_matlab_vs_plen"
LOSS_FUNCS = ("l2_norm", "mse", "sse")


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", default="quick",
                        help="grid whose results to gather (default: quick)")
    parser.add_argument("--input_dir", type=Path, default=None,
                        help="gather results below this directory instead "
                        "(default: <output-root>/ps_matlab_vs_plen/<grid>)")
    parser.add_argument("--from-csv", "--from_csv", dest="from_csv", type=Path,
                        default=None, help="re-plot this all_loss.csv")
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir",
                        type=Path, default=None,
                        help="where to write (default: <input>/summary)")
    parser.add_argument("--loss_func", nargs="+", choices=LOSS_FUNCS,
                        default=["l2_norm"],
                        help="loss function(s) to plot; the first decides the "
                        "best-method table (default: l2_norm)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main() -> None:
    """Write all_loss.csv, the figures and the best-method table."""
    args = parse_args()
    if args.from_csv is not None:
        if not args.from_csv.is_file():
            raise cli.UsageError(f"no such table: {args.from_csv}")
        if args.output_dir is None:
            raise cli.UsageError("--from-csv needs --output-dir")
    else:
        args.input_dir = args.input_dir or paths.grid_dir(
            paths.output_root(args.output_root), EXPERIMENT, args.grid)
        if not args.input_dir.is_dir():
            raise cli.UsageError(f"no results to summarize: {args.input_dir} does "
                                 "not exist (run the task writers and disBatch, "
                                 "then analyze.py, first)")
    from plenexp.experiments import ps_matlab_vs_plen as vs

    output_dir = args.output_dir or args.input_dir / "summary"
    frame, best = vs.summarize(args.input_dir, args.from_csv, output_dir,
                               args.loss_func)
    print(vs.format_best(best))
    n_results = frame["result"].nunique() if "result" in frame else len(frame)
    print(f"{n_results} result(s) summarized; figures, all_loss.csv and "
          f"best_method.csv in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
