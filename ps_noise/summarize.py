"""Gather every ps_noise run into one table and draw the summary figures.

Writes into ``<grid>/summary/`` (or --output-dir): ``all_loss.csv`` (one row
per run: image, noise type and amplitude, weights, seed, device, final
weighted loss, unweighted loss overall and by PS statistic group, pixel
ranges, initialization / synthesis / whole-process seconds, versions),
``loss_by_noise_and_weights.{svg,png}`` (final loss by initial noise and
weights) and ``contact_sheet_<image>.{svg,png}`` (initial images and
metamers). Prints the mean loss by image, initial noise and weights.
"""

from plenexp import cli, timing_report

EXPERIMENT = "ps_noise"


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT)
    return parser.parse_args()


def main():
    """Write the table and figures and print the recovery table."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    from plenexp.experiments import ps_noise

    frame = ps_noise.summarize(input_dir, output_dir)
    timing_report.write(frame, output_dir)
    print(ps_noise.recovery_table(frame).to_string(index=False,
                                                   float_format="{:.4g}".format))
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
