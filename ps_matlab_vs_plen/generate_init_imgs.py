"""Write the uniform-noise initial images ``seed-0.png`` ... shared by all runs.

Each is ``po.set_seed(N); torch.rand(1, 1, H, W)`` as 8-bit pixels, so MATLAB
and plenoptic runs of one seed start from the same pixels. They go to
``<output-root>/ps_matlab_vs_plen/init_images/<H>x<W>/``, where
``synthesize.py --init_img seed-N`` and the task writers look for them.
Rerunning rewrites the same pixels. ``--grid quick`` writes exactly those a
grid's runs start from.
"""

from pathlib import Path

from plenexp import cli
from plenexp.runs import paths


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    from ps_matlab_vs_plen import write_disbatch

    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", choices=write_disbatch.GRID_NAMES, default=None,
                        help="write the initial images this grid's runs start "
                        "from (its size and seeds), instead of --size and --seeds")
    parser.add_argument("--size", default="256", help="image size, N or HxW")
    parser.add_argument("--seeds", type=cli.seed, nargs="+", default=list(range(10)),
                        help="seeds to write")
    parser.add_argument("--output_dir", "--output-dir", dest="output_dir",
                        type=Path, default=None,
                        help="write here instead (the grids and synthesize.py "
                        "--init_img seed-N look under the output root: "
                        "<output-root>/ps_matlab_vs_plen/init_images/<H>x<W>)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main() -> None:
    """Write one PNG per seed and size."""
    args = parse_args()
    from ps_matlab_vs_plen import write_disbatch

    root = paths.output_root(args.output_root)
    if args.grid:
        wanted = write_disbatch.init_images_of(args.grid, root)
    else:
        wanted = {write_disbatch.parse_shape(args.size): args.seeds}
    if any(seed < 0 for seeds in wanted.values() for seed in seeds):
        raise cli.UsageError("seeds must be >= 0")
    if args.output_dir is not None and len(wanted) > 1:
        raise cli.UsageError("--output_dir takes one size; this grid has several")
    from ps_matlab_vs_plen import run

    for shape, seeds in wanted.items():
        out_dir = args.output_dir or write_disbatch.init_image_dir(root, shape)
        written = run.write_init_images(out_dir, seeds, shape)
        print(f"wrote {len(written)} initial image(s) of {shape[0]}x{shape[1]} to "
              f"{out_dir}")


if __name__ == "__main__":
    cli.run(main)
