"""Write the uniform-noise initial images ``seed-0.png`` ... shared by all runs.

Each is ``po.set_seed(N); torch.rand(1, 1, H, W)`` as 8-bit pixels, so MATLAB
and plenoptic runs of one seed start from the same pixels. They go to
``<output-root>/ps_matlab_vs_plen/init_images/<H>x<W>/``, where
``synthesize.py --init_img seed-N`` and the task writers look for them.
Rerunning rewrites the same pixels.
"""

from pathlib import Path

from plenexp import cli


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="256",
                        help="image size, N or HxW (default: 256)")
    parser.add_argument("--seeds", type=cli.seed, nargs="+", default=list(range(10)),
                        help="seeds to write (default: 0 ... 9)")
    parser.add_argument("--output_dir", "-o", type=Path, default=None,
                        help="where to write (default: <output-root>/"
                        "ps_matlab_vs_plen/init_images/<H>x<W>)")
    cli.add_output_root_argument(parser)
    return parser.parse_args()


def main() -> None:
    """Write one PNG per seed."""
    args = parse_args()
    from plenexp import paths
    from plenexp.experiments import ps_matlab_vs_plen as vs

    shape = vs.parse_shape(args.size)
    if any(seed < 0 for seed in args.seeds):
        raise cli.UsageError("seeds must be >= 0")
    out_dir = args.output_dir or vs.init_image_dir(
        paths.output_root(args.output_root), shape)
    written = vs.write_init_images(out_dir, args.seeds, shape)
    print(f"wrote {len(written)} initial image(s) of {shape[0]}x{shape[1]} to "
          f"{out_dir}")


if __name__ == "__main__":
    cli.run(main)
