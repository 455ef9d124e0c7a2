"""Synthesize one PS metamer with LBFGS; every choice is an argument.

Writes into the run directory: ``metamer.pt`` (plenoptic save, loads with
``weights_only=True``), ``metamer.png``, ``representation.pt``,
``trajectory.csv`` (per step: seconds, loss, PS model evaluations),
``loss.csv``, ``provenance.json`` and, unless ``--no_plots``, the run's figures.
"""

import argparse

from plenexp import cli

EXPERIMENT = "ps_lbfgs"


def fraction(text: str) -> float | None:
    """A positive fraction of ``max_iter``, or the word ``None``."""
    return None if text.lower() == "none" else cli.positive_float(text)


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", type=cli.one_line_text, default="fig4a",
                        help="target image: built-in name, PS paper figure or file")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--coarse_to_fine", action="store_true",
                        help="MetamerCTF, together, scales switched every 7 iters")
    parser.add_argument("--seed", "-s", type=cli.seed, default=0,
                        help="seed of the initial noise image (po.set_seed)")
    parser.add_argument("--max_iter", type=cli.positive_int, default=10,
                        help="LBFGS iterations per optimizer step")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--max_eval", type=cli.optional_positive_int, default=10,
                        help="LBFGS function evaluations per step, or None "
                        "(= 1.25 max_iter)")
    budget.add_argument("--max_eval_fraction", type=fraction,
                        default=argparse.SUPPRESS,
                        help="max_eval as a fraction of max_iter (the grids' "
                        "form; max_eval = max(1, int(fraction x max_iter))), or "
                        "None; recorded as given")
    parser.add_argument("--history_size", type=cli.positive_int, default=100,
                        help="LBFGS history (update pairs kept)")
    parser.add_argument("--line_search_fn", type=cli.optional_str,
                        default="strong_wolfe", choices=[None, "strong_wolfe"],
                        help="strong_wolfe or None")
    cli.add_device_argument(parser)
    parser.add_argument("--init_reduced", action="store_true",
                        help="start from low-contrast noise around the target mean")
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS steps)")
    parser.add_argument("--store_progress", type=cli.optional_non_negative_int,
                        default=None,
                        help="keep the metamer every N iterations")
    parser.add_argument("--lr", type=cli.positive_float, default=1.0,
                        help="LBFGS learning rate (step size before line search)")
    parser.add_argument("--loss_function", "--loss", default="l2_norm",
                        choices=cli.LOSSES,
                        help="loss between PS representations")
    parser.add_argument("--stop_criterion", type=cli.optional_float,
                        default=1e-4, help="stop when the loss changes less than "
                        "this over --stop_iters_to_check iterations; None: never")
    parser.add_argument("--stop_iters_to_check", type=cli.positive_int, default=50,
                        help="window of --stop_criterion, in iterations")
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the figures (analyze.py makes them later)")
    cli.add_run_dir_argument(parser, EXPERIMENT)
    cli.add_output_root_argument(parser)
    args = vars(parser.parse_args())
    from ps_lbfgs.write_disbatch import max_eval_count

    if "max_eval_fraction" in args:
        args["max_eval"] = max_eval_count(args["max_iter"], args["max_eval_fraction"])
    else:
        args["max_eval_fraction"] = (None if args["max_eval"] is None
                                     else args["max_eval"] / args["max_iter"])
    return args


def main():
    args = parse_args()

    from plenexp.runs import devices, harness, results
    from plenexp.synth import images, synthesis
    from ps_lbfgs import plot, run

    device = devices.resolve_device(args["device"])
    image = run.load_target(args, device)
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, run.run_name(args), args=args)
    with harness.started_run(run_dir, args, device) as ctx:
        clock = devices.Stopwatch(device)
        model, _, met = run.build(args, image)
        run.setup(met, args, image)
        trajectory = synthesis.Trajectory(
            met, synchronize=lambda: devices.synchronize(device))
        ctx.record["init_duration"] = clock.restart()
        synthesis.synthesize(met, args["synth_max_iter"], args["store_progress"] or 0,
                             args["stop_criterion"], args["stop_iters_to_check"],
                             trajectory=trajectory)
        synth_duration = clock.elapsed()
        ctx.record.update(synth_duration=synth_duration,
                          evaluations=trajectory.evaluations, steps=trajectory.steps)
        ctx.measure_memory()

        trajectory.write_csv(ctx.dir / "trajectory.csv")
        synthesis.save_metamer(met, ctx.dir / "metamer.pt")
        images.save_grayscale_png(met.metamer.clip(0, 1), ctx.dir / "metamer.png")
        synthesis.save_tensors(model(met.metamer).detach().cpu(),
                               ctx.dir / "representation.pt")
        ctx.record.update(run.outcome_fields(met, args, trajectory.rows))
        row = run.loss_row(args, len(met.losses) - 1, float(met.losses[-1]),
                           synth_duration, ctx.flat_record())
        results.write_row(row, ctx.dir / "loss.csv")
        if not args["no_plots"]:
            plot.write_run_figures(met, ctx.dir, args, synth_duration)


if __name__ == "__main__":
    cli.run(main)
