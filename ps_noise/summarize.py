"""Gather every ps_noise run into one table and draw the summary figures.

Writes into ``<grid>/summary/`` (or --output-dir): ``all_loss.csv`` (one row
per run: image, noise type and amplitude, weights, seed, device, final
weighted loss, unweighted loss overall and by PS statistic group, pixel
ranges, initialization / synthesis / whole-process seconds, versions),
``loss_by_noise_and_weights.{svg,png}`` (final loss by initial noise and
weights) and ``contact_sheet_<image>.{svg,png}`` (initial images and
metamers). Prints the mean loss by image, initial noise and weights.
"""

from pathlib import Path

from plenexp import cli, paths

EXPERIMENT = "ps_noise"


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", default="quick",
                        help="grid whose runs to gather (default: quick)")
    parser.add_argument("--input_dir", type=Path, default=None,
                        help="gather runs below this directory instead "
                        "(default: <output-root>/ps_noise/<grid>)")
    parser.add_argument("--output-dir", "--output_dir", dest="output_dir",
                        type=Path, default=None,
                        help="where to write (default: <input>/summary)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main():
    """Write the table and figures and print the recovery table."""
    args = parse_args()
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), EXPERIMENT, args.grid)
    if not input_dir.is_dir():
        raise cli.UsageError(f"no runs to summarize: {input_dir} does not exist "
                             "(run write_disbatch.py and disBatch first)")
    from plenexp.experiments import ps_noise

    output_dir = args.output_dir or input_dir / "summary"
    frame = ps_noise.summarize(input_dir, output_dir)
    print(ps_noise.recovery_table(frame).to_string(index=False,
                                                   float_format="{:.4g}".format))
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
