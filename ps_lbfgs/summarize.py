"""Gather every ps_lbfgs run's loss.csv into all_loss.csv and draw the summary.

Loss against synthesis duration (log-log), faceted by learning rate x history
size, colour by max_eval / max_iter, marker by max_iter, one figure per line
search, as SVG and PNG. ``--from-csv`` re-plots an existing table, including
those of the earlier version of this experiment.
"""

from pathlib import Path

from plenexp import cli, paths

EXPERIMENT = "ps_lbfgs"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", default="quick",
                        help="grid whose runs to gather (default: quick)")
    parser.add_argument("--input_dir", type=Path, default=None,
                        help="gather runs below this directory instead "
                        "(default: <output-root>/ps_lbfgs/<grid>)")
    parser.add_argument("--from-csv", "--from_csv", dest="from_csv", type=Path,
                        default=None, help="re-plot this all_loss.csv")
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir",
                        type=Path, default=None,
                        help="where to write (default: <input>/summary)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main():
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
            raise cli.UsageError(f"no runs to summarize: {args.input_dir} does not "
                                 "exist (run write_disbatch.py and disBatch first)")
    from plenexp.experiments import ps_lbfgs

    output_dir = args.output_dir or args.input_dir / "summary"
    frame = ps_lbfgs.summarize(args.input_dir, args.from_csv, output_dir)
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
