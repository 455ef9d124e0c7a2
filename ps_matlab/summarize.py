"""Tabulate plenoptic's PS loss of every MATLAB metamer and compare the images.

Writes all_loss.csv (one row per metamer: run facts, timings, the l2_norm PS
loss overall and per statistic group), success.csv (per image, iterations and
engine: the share of seeds meeting plenoptic's success criterion) and two
figures, SVG and PNG: loss_overall (PS loss against iterations, one panel per
image, median over seeds with min-max bars) and loss_by_group (log10 loss per
metamer and statistic group, rows labelled image / seed / iterations).
Metamers are found as by plot.py; --from-csv re-plots an all_loss.csv.
"""

from pathlib import Path

from plenexp import cli
from plenexp.summary import timing_report

EXPERIMENT = "ps_matlab"


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    return parser.parse_args()


def main():
    """Score every metamer, write the table and figures."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    from plenexp.experiments.ps_matlab import summary

    frame = summary.summarize(input_dir, output_dir, from_csv=args.from_csv,
                              target_dir=args.target_dir)
    timing_report.write(frame, output_dir)
    table = summary.success(frame)
    print(table.drop(columns="criterion").to_string(
        index=False, float_format="{:.4g}".format))
    print(f"success: {table['criterion'].iloc[0]}")
    print(f"{len(frame)} metamer(s) summarized; all_loss.csv, success.csv, "
          f"loss_overall and loss_by_group in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
