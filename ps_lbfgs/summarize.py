"""Gather every ps_lbfgs run's loss.csv into all_loss.csv and write the summary.

Final loss against synthesis seconds (and PS model evaluations, when
recorded): one point per configuration (median over seeds, min-max bars),
one panel per image and panel variable, each image's Pareto front drawn as a
line; ``pareto.csv``, ``success.csv``, ``configurations.csv`` and
``summary.txt`` (the front in words, the success share, what was assumed
reading the table). ``--from-csv`` re-plots an existing table, including those
of the earlier version of this experiment.
"""

from plenexp import cli
from plenexp.summary import timing_report

EXPERIMENT = "ps_lbfgs"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments.ps_lbfgs import summary

    frame = summary.summarize(input_dir, output_dir, from_csv=args.from_csv)
    timing_report.write(frame, output_dir)
    print(f"{len(frame)} run(s) summarized; figures, tables and summary.txt in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
