"""Draw the metamers: initial image | metamer after each iteration count | target.

One figure (SVG + PNG) per optimizer, highpass weight, image, initial image
and device, from the finished results below the grid (or the given
directories); each metamer is titled with its iterations, synthesis seconds
and, once analyze.py has run, its overall L2 loss.
"""

from pathlib import Path

from plenexp import cli, paths

EXPERIMENT = "ps_matlab_vs_plen"


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dirs", nargs="*", type=Path,
                        help="run directories or directories holding runs "
                        "(default: the grid's directory)")
    parser.add_argument("--grid", default="quick",
                        help="grid whose runs to draw (default: quick)")
    parser.add_argument("--output_dir", "-o", type=Path, default=None,
                        help="where to write (default: <grid dir>/summary/metamers)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main() -> None:
    """Write one figure per group of results."""
    args = parse_args()
    grid_dir = paths.grid_dir(paths.output_root(args.output_root), EXPERIMENT,
                              args.grid)
    dirs = args.dirs or [grid_dir]
    for path in dirs:
        if not path.is_dir():
            raise cli.UsageError(f"no such directory: {path}")
    from plenexp.experiments import ps_matlab_vs_plen as vs

    found = [p for p in vs.results_below(dirs) if p.is_dir()]
    if not found:
        raise cli.UsageError("no finished runs under " + ", ".join(map(str, dirs)))
    output_dir = args.output_dir or (dirs[0] if args.dirs else grid_dir) / \
        "summary" / "metamers"
    written = vs.metamer_figures([vs.load_result(p) for p in found], output_dir,
                                 vs.overall_losses(found))
    print(f"{len(written) // 2} figure(s) of {len(found)} run(s) in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
