"""Draw every MATLAB metamer of a results directory as seen through plenoptic.

One figure per metamer (SVG and PNG): the target | the textureSynth metamer,
titled with its engine and PS loss (plenoptic's model, l2_norm), above
plenoptic's representation difference PS(target) - PS(metamer). Metamers are finished
synthesize.py run directories, or loose synthesize.m MAT files named
<image>_..., whose target is <image>.pgm/.png/... in --target_dir.
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import paths

EXPERIMENT = "ps_matlab"


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("input_dir", nargs="?", type=Path, default=None,
                        help="results directory (default: <output-root>/ps_matlab/"
                        "<grid>)")
    parser.add_argument("--grid", default="quick", help="grid whose runs to draw")
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    parser.add_argument("--output_dir", "--output-dir", "-o", type=Path,
                        default=None, help="where to write (default: "
                        "<input_dir>/figures)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main():
    """Draw every metamer found."""
    args = parse_args()
    input_dir = args.input_dir or paths.grid_dir(
        paths.output_root(args.output_root), EXPERIMENT, args.grid)
    if not input_dir.is_dir():
        raise cli.UsageError(f"no results to draw: {input_dir} does not exist "
                             "(run write_disbatch.py and disBatch first)")
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    from plenexp import errors
    from plenexp.experiments.ps_matlab import results

    metamers, problems = results.find_metamers(input_dir, args.target_dir)
    errors.report(problems)
    if not metamers:
        raise cli.UsageError(f"no MATLAB metamers (metamer.mat in finished runs, "
                             f"or *.mat files) under {input_dir}")
    output_dir = args.output_dir or input_dir / "figures"
    written = results.plot_metamers(metamers, output_dir)
    print(f"{len(written)} figure(s) in {output_dir}")
    if len(written) < len(metamers):
        raise SystemExit(1)


if __name__ == "__main__":
    cli.run(main)
