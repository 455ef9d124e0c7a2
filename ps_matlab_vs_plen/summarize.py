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

from plenexp import cli, timing_report

EXPERIMENT = "ps_matlab_vs_plen"
LOSS_FUNCS = ("l2_norm", "mse", "sse")


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--loss_func", nargs="+", choices=LOSS_FUNCS,
                        default=["l2_norm"],
                        help="loss function(s) to plot; the first decides the "
                        "best-method table (default: l2_norm)")
    return parser.parse_args()


def main() -> None:
    """Write all_loss.csv, the figures and the best-method table."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments import ps_matlab_vs_plen as vs

    frame, best = vs.summarize(input_dir, args.from_csv, output_dir,
                               args.loss_func)
    timing_report.write(frame, output_dir)
    print(vs.format_best(best))
    n_results = frame["result"].nunique() if "result" in frame else len(frame)
    print(f"{n_results} result(s) summarized; figures, all_loss.csv and "
          f"best_method.csv in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
