"""Redraw the figure of saved ps_noise runs.

Target | initial image | metamer (titled with its named losses) above
PS(target) - PS(metamer), titled with device, duration and weights.

The initial image is regenerated from the run's seed, noise type and amplitude
and checked against the ``init.pt`` that synthesis saved; a mismatch (e.g. a
torch version that draws other numbers) is an error unless ``--no-check``,
which draws the saved one. Written into each run's directory, or --output_dir.
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import rundir


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path, help="finished run(s)")
    parser.add_argument("--output_dir", "--output-dir", "-o", type=Path,
                        default=None,
                        help="where to write (default: each run's directory); "
                        "with several runs, one subdirectory per run")
    parser.add_argument("--no-check", "--no_check", dest="check",
                        action="store_false",
                        help="draw the saved initial image without comparing it "
                        "with the regenerated one")
    return parser.parse_args()


def main():
    """Draw each run's figure."""
    args = parse_args()
    destinations = rundir.plot_destinations(args.run_dirs, args.output_dir)
    from plenexp.experiments.ps_noise import results

    for run, out in destinations:
        written = results.plot_run(run, out, check_init=args.check)
        print(f"figure of {run.name}: {written[-1]}")


if __name__ == "__main__":
    cli.run(main)
