"""Synthesize one PS metamer from an initial image far outside the target's range.

The initial image is ``uniform`` noise (amplitude x U[0, 1]) or the target plus
``normal`` noise (image + amplitude x N(0, 1)), drawn from ``--seed``. The loss
is the L2 norm of the PS statistics, with seven weights (``--weights``): the
six pixel statistics (mean, variance, skew, kurtosis, min, max) and the
variance of the highpass residuals. LBFGS (max_iter = max_eval = 10,
strong_wolfe, lr 1), range penalty off with the allowed range widened to cover
the initial image, no stopping criterion: exactly ``--synth_max_iter`` steps.

Writes into the run directory: ``metamer.pt`` (plenoptic save, loads with
``weights_only=True``), ``init.pt`` (the initial image used), ``metamer.png``,
``trajectory.csv`` (per step: seconds, loss, model evaluations), ``loss.csv``
(weighted loss, unweighted loss by statistic group, pixel ranges,
initialization and synthesis seconds, evaluations), ``provenance.json`` and,
unless ``--no_plots``, the figure ``ps_noise.{svg,png}``.
"""

from plenexp import cli
from ps_noise import options
from ps_noise.write_disbatch import EXPERIMENT


def parse_args() -> dict:
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", type=cli.one_line_text, default="einstein",
                        help="target image: built-in name (einstein, curie, ...), "
                        "PS paper figure or file")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--init_noise", "-n", type=options.noise_amplitude,
                        default=1.0, help="noise amplitude")
    parser.add_argument("--init_noise_type", choices=options.NOISE_TYPES,
                        default="uniform", help="uniform: amplitude x U[0,1]; "
                        "normal: image + amplitude x N(0,1)")
    parser.add_argument("--seed", "--init_seed", "-s", dest="seed", type=cli.seed,
                        default=0, help="seed of the initial noise")
    parser.add_argument("--weights", "--weighted", dest="weights",
                        type=options.parse_weights,
                        default=options.parse_weights(options.DEFAULT_WEIGHTS),
                        help="seven comma-separated loss weights: pixel mean, "
                        "variance, skew, kurtosis, min, max, then the variance of "
                        f"the highpass residuals (default: {options.DEFAULT_WEIGHTS})")
    parser.add_argument("--history_size", type=cli.positive_int, default=100,
                        help="LBFGS history size")
    cli.add_device_argument(parser)
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS steps)")
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the figure (analyze.py or plot.py draws it later)")
    cli.add_run_dir_argument(parser, EXPERIMENT)
    cli.add_output_root_argument(parser)
    return vars(parser.parse_args())


def main() -> None:
    """Run one synthesis and write its run directory."""
    args = parse_args()
    from pathlib import Path

    from plenexp.runs import devices, harness, results
    from plenexp.synth import synthesis
    from ps_noise import run

    device = devices.resolve_device(args["device"])
    image = run.load_target(args, device)
    output = args["output_dir"]
    if output and output.endswith(".pt"):  # the earlier version's file name
        output = str(Path(output).with_suffix(""))
    run_dir = harness.run_dir_for(output, args["output_root"], EXPERIMENT,
                                  options.run_name(args), args=args)
    with harness.started_run(run_dir, args, device) as ctx:
        clock = devices.Stopwatch(device)
        init = run.initial_image(args, image)
        model, loss, met = run.build(args, image, init)
        run.setup(met, init, args["history_size"])
        trajectory = synthesis.Trajectory(
            met, synchronize=lambda: devices.synchronize(device))
        ctx.record["init_duration"] = clock.restart()
        synthesis.synthesize(met, args["synth_max_iter"], stop_criterion=None,
                             trajectory=trajectory)
        ctx.record["synth_duration"] = clock.elapsed()
        ctx.record.update(evaluations=trajectory.evaluations,
                          steps=trajectory.steps)
        ctx.measure_memory()

        run.save_results(ctx.dir, met, init)
        trajectory.write_csv(ctx.dir / run.TRAJECTORY)
        metamer = met.metamer.detach()
        row = run.loss_row(args, model, image, init, metamer, float(met.losses[-1]),
                           len(met.losses) - 1, ctx.flat_record())
        results.write_row(row, ctx.dir / run.TABLE)
        print(f"after {row['synth_iter']} iterations, {row['synth_duration']:.1f} s, "
              f"{row['evaluations']} model evaluations: "
              f"{options.LOSS_LABELS['loss']} {row['loss']:.4g}, "
              f"{options.LOSS_LABELS['l2_no_minmax']} {row['l2_no_minmax']:.4g}",
              flush=True)
        if not args["no_plots"]:
            from ps_noise import plot

            plot.write_run_figure(ctx.dir, model, image, init, metamer, args, row)


if __name__ == "__main__":
    cli.run(main)
