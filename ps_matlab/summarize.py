"""Tabulate plenoptic's PS loss of every MATLAB metamer and compare the images.

Writes all_loss.csv (one row per metamer: run facts, timings, the l2_norm PS
loss overall and per statistic group) and two figures, SVG and PNG:
loss_overall (overall loss per image) and loss_by_group (log10 loss per
metamer and statistic group). Metamers are found as by plot.py.
"""

from pathlib import Path

from plenexp import cli, timing_report

EXPERIMENT = "ps_matlab"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT)
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    from plenexp.experiments import ps_matlab

    frame = ps_matlab.summarize(input_dir, args.target_dir, output_dir)
    timing_report.write(frame, output_dir)
    print(f"{len(frame)} metamer(s) summarized; all_loss.csv, loss_overall and "
          f"loss_by_group in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
