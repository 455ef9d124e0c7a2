"""Synthesize one PS metamer with the original MATLAB textureSynth code.

Runs ps_matlab/synthesize.m under MATLAB (-batch) or GNU Octave: analysis with
Nsc=4, Nor=4, Na=9 on the target, then --n_iter iterations of
textureSynthesis from --init_img or from textureSynth's own noise of --size.
Writes into the run directory: metamer.mat (res on a 0-255 scale, initToc,
synthToc), metamer.png, target.png (the 8-bit target MATLAB read), init.png
(with --init_img) and provenance.json (engine and version, code commits,
init_duration and synth_duration from the MAT file). Then plenoptic scores the
metamer: loss.csv (its PS loss, overall and by statistic group) and, unless
--no_plots, the figure ps_matlab.{svg,png}.
"""

import sys
from pathlib import Path

from plenexp import cli
from plenexp.synth import matlab

EXPERIMENT = "ps_matlab"
#: This folder: ``synthesize.m`` and its ``nodisplay/`` drawing stubs.
SCRIPT_DIR = Path(__file__).resolve().parent


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", type=cli.one_line_text, default="fig4a",
                        help="target image: built-in name, PS paper figure or file")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    init = parser.add_mutually_exclusive_group()
    init.add_argument("--init_img", type=cli.one_line_text, default=None,
                      help="initial image file (grayscale, the target's size)")
    init.add_argument("--size", type=cli.positive_int, default=None,
                      help="start from textureSynth's Gaussian noise of SIZE x SIZE "
                      "(default: the target's size)")
    parser.add_argument("--n_iter", type=cli.positive_int, default=100,
                        help="textureSynthesis iterations")
    parser.add_argument("--seed", "-s", type=cli.optional_seed, default=0,
                        help="seed of MATLAB's rand and randn (textureAnalysis adds "
                        "noise to the target; None: the engine's own start)")
    matlab.add_matlab_arguments(parser)
    cli.add_device_argument(parser)
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the figure (analyze.py draws it later)")
    cli.add_run_dir_argument(parser, EXPERIMENT)
    cli.add_output_root_argument(parser)
    return vars(parser.parse_args())


def main():
    args = parse_args()
    from plenexp.cli import normalize_device

    if normalize_device(args["device"]) != "cpu":
        raise cli.UsageError(f"textureSynth runs on the CPU only, not --device "
                             f"{args['device']}")
    engine, dirs = matlab.check_setup(args["engine"], args["texturesynth_dir"],
                                      args["pyrtools_dir"])
    import torch

    from plenexp.runs import harness
    from plenexp.synth import images
    from ps_matlab import analyze, metamers, run

    target = run.load_target(args)
    matlab.check_size(*target.shape[-2:], what=f"image {args['img']!r}")
    if args["init_img"]:
        init_image = images.load_image(args["init_img"])
        if init_image.shape != target.shape:
            raise cli.UsageError(
                f"initial image {args['init_img']!r} is "
                f"{tuple(init_image.shape[-2:])}, the target "
                f"{tuple(target.shape[-2:])}: they must be the same size")
    else:
        init_image = None
        size = args["size"]
        shape = (size, size) if size else tuple(target.shape[-2:])
        matlab.check_size(*shape, what="--size")
    init_label = run.init_label(args)
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, run.run_name(args), args=args)

    with harness.started_run(run_dir, args, torch.device("cpu")) as ctx:
        ctx.record.update(engine=engine.name, engine_executable=engine.executable,
                          init=init_label, texturesynth_dir=str(dirs.texturesynth),
                          pyrtools_dir=str(dirs.pyrtools), **dirs.commits())
        images.save_grayscale_png(target, ctx.dir / "target.png")
        if init_image is not None:
            init = ctx.dir / "init.png"
            images.save_grayscale_png(init_image, init)
        else:
            init = shape
        print(f"{engine.name}: textureSynth on {args['img']} "
              f"{target.shape[-2]}x{target.shape[-1]}, {init_label}, "
              f"{args['n_iter']} iterations", flush=True)
        try:
            engine_run = matlab.run_synthesize(
                engine, dirs, ctx.dir / "target.png", init, args["n_iter"],
                ctx.dir / "metamer.mat", ctx.dir / "metamer.png", args["seed"],
                script_dir=SCRIPT_DIR)
        except matlab.EngineError as err:
            sys.exit(f"{sys.argv[0].rsplit('/', 1)[-1]}: error: {err}")
        result = matlab.read_result(ctx.dir / "metamer.mat")
        ctx.record.update(
            engine_version=engine_run.version,
            engine_wall_duration=engine_run.wall_seconds,
            init_duration=result["initToc"],
            synth_duration=result["synthToc"] - result["initToc"],
            seconds_per_iteration=(result["synthToc"] - result["initToc"])
            / args["n_iter"])
        print(f"analysis {result['initToc']:.2f} s, synthesis "
              f"{result['synthToc'] - result['initToc']:.2f} s, engine wall "
              f"{engine_run.wall_seconds:.2f} s", flush=True)
        # the MATLAB side is done: plenoptic scores the metamer
        found = metamers.run_metamer(ctx.dir, args, ctx.flat_record(),
                                     name=run_dir.name)
        row = analyze.score_run(found, ctx.dir, figure=not args["no_plots"])
        print(f"{row['name']}: {run.LOSS_LABEL} {row['loss']:.4g}",
              flush=True)


if __name__ == "__main__":
    cli.run(main)
