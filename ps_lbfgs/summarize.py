"""Gather every ps_lbfgs run's loss.csv into all_loss.csv and draw the summary.

Loss against synthesis duration (log-log), faceted by learning rate x history
size, colour by max_eval / max_iter, marker by max_iter, one figure per line
search, as SVG and PNG. ``--from-csv`` re-plots an existing table, including
those of the earlier version of this experiment.
"""

from plenexp import cli, timing_report

EXPERIMENT = "ps_lbfgs"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments import ps_lbfgs

    frame = ps_lbfgs.summarize(input_dir, args.from_csv, output_dir)
    timing_report.write(frame, output_dir)
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
