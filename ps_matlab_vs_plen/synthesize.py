"""Synthesize one PS metamer with plenoptic, Adam or LBFGS, from a given start.

Adam runs as ``MetamerCTF`` (coarse-to-fine ``together``, a scale added every
7 iterations); LBFGS as ``Metamer`` with ``max_eval = max_iter``,
``strong_wolfe`` line search and ``lr`` 1. The stopping criterion is off, so
every run does exactly ``--synth_max_iter`` iterations. Writes into the run
directory: ``metamer.pt`` (plenoptic save, loads with ``weights_only=True``),
``metamer.png``, and ``provenance.json`` with ``init_time`` (target loading,
model and optimizer set-up, after the imports) and ``synth_time`` (the
iterations alone), in seconds. ``analyze.py`` turns the run into its loss table.
"""

import argparse

from plenexp import cli, constants

EXPERIMENT = "ps_matlab_vs_plen"


def optimizer_name(text: str) -> str:
    """Accept Adam or LBFGS in any case."""
    names = {"adam": "Adam", "lbfgs": "LBFGS"}
    if text.lower() not in names:
        raise argparse.ArgumentTypeError(
            f"expected Adam or LBFGS, got {text!r}")
    return names[text.lower()]


def parse_args() -> dict:
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", default="fig4a",
                        help="target image: built-in name, PS paper figure or file "
                        "(default: fig4a)")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--init_img", "-t", default="seed-0",
                        help="initial image: a file, or seed-N from "
                        "generate_init_imgs.py under the output root (default: "
                        "seed-0)")
    parser.add_argument("--optimizer", type=optimizer_name, default="Adam",
                        help="Adam (coarse-to-fine) or LBFGS (default: Adam)")
    parser.add_argument("--weighted", type=cli.non_negative_float, default=0.0,
                        help="multiply the var_highpass_residual statistic by W in "
                        "the loss; 0: the plain loss (default: 0)")
    parser.add_argument("--loss", default="l2_norm", choices=constants.LOSSES,
                        help="loss function (default: l2_norm)")
    parser.add_argument("--max_iter", type=cli.positive_int, default=10,
                        help="LBFGS iterations (= max_eval) per step (default: 10)")
    parser.add_argument("--history_size", type=cli.positive_int, default=100,
                        help="LBFGS history size (default: 100)")
    cli.add_device_argument(parser)
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS: steps) (default: 200)")
    parser.add_argument("--output_path", "--output_dir", "-o", dest="output_path",
                        type=cli.path_text, default=None,
                        help="run directory (default: <output-root>/"
                        "ps_matlab_vs_plen/adhoc/<run-name>)")
    cli.add_output_root_argument(parser)
    return vars(parser.parse_args())


def main() -> None:
    """Synthesize one metamer into its run directory."""
    args = parse_args()
    import torch

    from plenexp import devices, harness, images, paths, synthesis
    from plenexp.experiments import ps_matlab_vs_plen as vs

    device = devices.resolve_device(args["device"])
    clock = devices.Stopwatch(device)  # initialization: after the imports
    image = images.load_image(args["img"], crop=args["crop"]).to(device)
    root = paths.output_root(args["output_root"])
    init_path = vs.resolve_init_image(args["init_img"], root, image.shape[-2:])
    init = vs.load_init_image(init_path, image)
    name = vs.plenoptic_run_name(args["img"], init_path.stem, args["optimizer"],
                                 args["weighted"], args["history_size"],
                                 args["synth_max_iter"])
    run_dir = harness.run_dir_for(args["output_path"], args["output_root"],
                                  EXPERIMENT, name)
    with harness.started_run(run_dir, args, device) as run:
        model = synthesis.make_model(image, images.n_scales_for(args["img"]))
        weights = {vs.WEIGHTED_GROUP: args["weighted"]} if args["weighted"] else None
        loss = synthesis.make_loss(args["loss"], model, image, weights)
        if args["optimizer"] == "Adam":
            met = synthesis.make_metamer(image, model, loss, coarse_to_fine=True)
            met.setup(init)
        else:
            met = synthesis.make_metamer(image, model, loss)
            met.setup(init, optimizer=torch.optim.LBFGS,
                      optimizer_kwargs=synthesis.lbfgs_kwargs(
                          args["max_iter"], args["max_iter"], args["history_size"],
                          "strong_wolfe", 1.0))
        run.record["init_time"] = clock.restart()
        synthesis.synthesize(met, args["synth_max_iter"], stop_criterion=None)
        run.record["synth_time"] = clock.elapsed()
        run.record.update(init_img_path=str(init_path.resolve()),
                          synth_iters=len(met.losses) - 1,
                          final_loss=float(met.losses[-1]))
        synthesis.save_metamer(met, run.dir / "metamer.pt")
        images.save_grayscale_png(met.metamer.clip(0, 1), run.dir / "metamer.png")
        synthesis.log(f"init {run.record['init_time']:.2f} s, synthesis "
                      f"{run.record['synth_time']:.2f} s, final loss "
                      f"{met.losses[-1]:.4g}")


if __name__ == "__main__":
    cli.run(main)
