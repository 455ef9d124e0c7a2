"""Gather every result's loss table into all_loss.csv; draw the summary; say who wins.

Every point is one configuration (method on one engine, device and host;
image; iterations): the median over seeds, bars min to max over seeds in loss
and in time, n in the caption; one row of panels per image. In the summary
directory (SVG + PNG):

- overall_<func>: overall loss against synthesis time, beside loss against
  PS model evaluations (plenoptic runs; the same on every machine);
- overall_<func>_vs_process_duration: against the whole process's time;
- groups_<func>: one panel per PS statistic group;
- trajectories: the objective each plenoptic run minimised, step by step;
- metamers/<img>_seed-<N>: metamers at equal synthesis-time budgets (rows =
  methods, columns = 1-2-5 budgets, one grey range).

best_method.csv: per image and 1-2-5 budget, the method whose best
configuration within the budget has the lowest median loss, named only when
its min-max interval over seeds does not overlap the runner-up's (else
"tie: A ≈ B"); groups_lost.csv: the statistic groups on which each image's
overall winner is beaten; success.csv: the share of seeds reaching
plenoptic's success criterion and the median time to reach it. Their text is
summary.txt (also printed). ``--from-csv`` re-plots an existing all_loss.csv
(no metamers, no trajectories: those need the runs).
"""

from plenexp import cli
from plenexp.summary import timing_report

EXPERIMENT = "ps_matlab_vs_plen"
LOSS_FUNCS = ("l2_norm", "mse", "sse", "max_abs")


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--loss_func", nargs="+", choices=LOSS_FUNCS,
                        default=["l2_norm"],
                        help="loss function(s) to plot; the first decides the "
                        "best-method table")
    parser.add_argument("--no_metamers", action="store_true",
                        help="skip the metamers at equal budgets")
    return parser.parse_args()


def main() -> None:
    """Write all_loss.csv, the figures and the decision tables."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments.ps_matlab_vs_plen import summary

    frame = summary.summarize(input_dir, output_dir, args.from_csv, args.loss_func)
    timing_report.write(frame, output_dir)
    if not (args.no_metamers or args.from_csv):
        from plenexp.experiments.ps_matlab_vs_plen import metamers

        metamers.metamer_grids(frame, output_dir / "metamers")
    print((output_dir / "summary.txt").read_text(), end="")
    n_results = frame["run_dir"].nunique() if "run_dir" in frame else len(frame)
    print(f"{n_results} result(s) summarized; figures, all_loss.csv and the "
          f"tables in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
