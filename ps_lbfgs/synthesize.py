"""Synthesize one PS metamer with LBFGS; every choice is an argument.

Writes into the run directory: ``metamer.pt`` (plenoptic save, loads with
``weights_only=True``), ``metamer.png``, ``representation.pt``, ``loss.csv``,
``provenance.json`` and, unless ``--no_plots``, the run's figures.
"""

from plenexp import cli, constants

EXPERIMENT = "ps_lbfgs"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", default="fig4a",
                        help="target image: built-in name, PS paper figure or file")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--coarse_to_fine", action="store_true",
                        help="MetamerCTF, together, scales switched every 7 iters")
    parser.add_argument("--seed", "-s", type=cli.seed, default=0)
    parser.add_argument("--max_iter", type=cli.positive_int, default=10,
                        help="LBFGS iterations per step (default: 10)")
    parser.add_argument("--max_eval", type=cli.optional_positive_int, default=10,
                        help="LBFGS function evaluations per step, or None "
                        "(= 1.25 max_iter) (default: 10)")
    parser.add_argument("--history_size", type=cli.positive_int, default=100)
    parser.add_argument("--line_search_fn", type=cli.optional_str,
                        default="strong_wolfe", choices=[None, "strong_wolfe"],
                        help="strong_wolfe or None (default: strong_wolfe)")
    cli.add_device_argument(parser)
    parser.add_argument("--init_reduced", action="store_true",
                        help="start from low-contrast noise around the target mean")
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS steps) (default: 200)")
    parser.add_argument("--store_progress", type=cli.optional_int, default=None,
                        help="keep the metamer every N iterations")
    parser.add_argument("--lr", type=cli.positive_float, default=1.0)
    parser.add_argument("--loss", default="l2_norm", choices=constants.LOSSES)
    parser.add_argument("--stop_criterion", type=cli.optional_float,
                        default=1e-4, help="stop when the loss changes less than "
                        "this over --stop_iters_to_check iterations; None: never")
    parser.add_argument("--stop_iters_to_check", type=cli.positive_int, default=50)
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the figures (analyze.py makes them later)")
    parser.add_argument("--output_dir", "-o", type=cli.path_text, default=None,
                        help="run directory (default: <output-root>/ps_lbfgs/"
                        "adhoc/<run-name>)")
    cli.add_output_root_argument(parser)
    return vars(parser.parse_args())


def main():
    args = parse_args()
    import torch

    from plenexp import devices, harness, images, results, synthesis
    from plenexp.experiments import ps_lbfgs

    device = devices.resolve_device(args["device"])
    image = ps_lbfgs.load_target(args, device)
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, ps_lbfgs.run_name(args))
    with harness.started_run(run_dir, args, device) as run:
        clock = devices.Stopwatch(device)
        model, _, met = ps_lbfgs.build(args, image)
        synthesis.set_seed(args["seed"])
        init = None
        if args["init_reduced"]:
            init = ((torch.rand_like(image) - 0.5) * 0.1 + image.mean()).clip(0, 1)
        met.setup(init, optimizer=torch.optim.LBFGS,
                  optimizer_kwargs=synthesis.lbfgs_kwargs(
                      args["max_iter"], args["max_eval"], args["history_size"],
                      args["line_search_fn"], args["lr"]))
        run.record["init_duration"] = clock.restart()
        synthesis.synthesize(met, args["synth_max_iter"], args["store_progress"] or 0,
                             args["stop_criterion"], args["stop_iters_to_check"])
        synth_duration = clock.elapsed()
        run.record["synth_duration"] = synth_duration
        run.measure_memory()

        synthesis.save_metamer(met, run.dir / "metamer.pt")
        images.save_grayscale_png(met.metamer.clip(0, 1), run.dir / "metamer.png")
        synthesis.save_tensors(model(met.metamer).detach().cpu(),
                               run.dir / "representation.pt")
        row = ps_lbfgs.loss_row(args, len(met.losses) - 1, float(met.losses[-1]),
                                synth_duration, run.flat_record())
        results.write_row(row, run.dir / "loss.csv")
        if not args["no_plots"]:
            ps_lbfgs.write_figures(met, run.dir, args, synth_duration)


if __name__ == "__main__":
    cli.run(main)
