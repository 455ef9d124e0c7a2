"""Gather every ps_noise run into one table and draw the summary figures.

Writes into ``<grid>/summary/`` (or --output-dir): ``all_loss.csv`` (one row
per run: image, noise type and amplitude, weights, seed, device, the
weighted objective, unweighted losses overall and by PS statistic group,
pixel ranges, initialization / synthesis / whole-process seconds, model
evaluations, versions), ``success.csv`` (per configuration, the share of
seeds meeting plenoptic's success criterion),
``loss_by_noise_and_weights.{svg,png}`` (final losses by initial noise and
weights, one column per image, median over seeds with min-max bars) and
``contact_sheet_<image>.{svg,png}`` (initial images on one grey range and
metamers). Prints the median losses, each named, and the success shares.
--from-csv re-plots an all_loss.csv.
"""

from plenexp import cli
from plenexp.summary import timing_report

EXPERIMENT = "ps_noise"


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    return parser.parse_args()


def main():
    """Write the tables and figures; print the losses and success shares."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments.ps_noise import summary

    frame = summary.summarize(input_dir, output_dir, from_csv=args.from_csv)
    timing_report.write(frame, output_dir)
    print(summary.recovery_table(frame).to_string(index=False,
                                                  float_format="{:.4g}".format))
    table = summary.success(frame)
    print(f"\nsuccess ({table['criterion'].iloc[0]}, loss = the overall "
          "unweighted L2):")
    print(table[[c for c in table.columns if c not in (
        "criterion", "median_evaluations_to_success", "reach_from")]].to_string(
            index=False, float_format="{:.4g}".format))
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
