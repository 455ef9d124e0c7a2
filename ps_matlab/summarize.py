"""Tabulate plenoptic's PS loss of every MATLAB metamer and compare the images.

Writes all_loss.csv (one row per metamer: run facts, timings, the l2_norm PS
loss overall and per statistic group) and two figures, SVG and PNG:
loss_overall (overall loss per image) and loss_by_group (log10 loss per
metamer and statistic group). Metamers are found as by plot.py.
"""

from pathlib import Path

from plenexp import cli, paths

EXPERIMENT = "ps_matlab"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", default="quick",
                        help="grid whose runs to gather (default: quick)")
    parser.add_argument("--input_dir", "--input-dir", type=Path, default=None,
                        help="gather metamers below this directory instead "
                        "(default: <output-root>/ps_matlab/<grid>)")
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    parser.add_argument("--output_dir", "--output-dir", type=Path, default=None,
                        help="where to write (default: <input_dir>/summary)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), EXPERIMENT, args.grid)
    if not input_dir.is_dir():
        raise cli.UsageError(f"no results to summarize: {input_dir} does not "
                             "exist (run write_disbatch.py and disBatch first)")
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    from plenexp.experiments import ps_matlab

    output_dir = args.output_dir or input_dir / "summary"
    frame = ps_matlab.summarize(input_dir, args.target_dir, output_dir)
    print(f"{len(frame)} metamer(s) summarized; all_loss.csv, loss_overall and "
          f"loss_by_group in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
