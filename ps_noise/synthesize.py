"""Synthesize one PS metamer from an initial image far outside the target's range.

The initial image is ``uniform`` noise (amplitude x U[0, 1]) or the target plus
``normal`` noise (image + amplitude x N(0, 1)), drawn from ``--init_seed``. The
loss is the L2 norm of the PS statistics, with seven weights (``--weighted``):
the six pixel statistics (mean, variance, skew, kurtosis, min, max) and the
variance of the highpass residuals. LBFGS (max_iter = max_eval = 10,
strong_wolfe, lr 1), range penalty off with the allowed range widened to cover
the initial image, no stopping criterion: exactly ``--synth_max_iter`` steps.

Writes into the run directory: ``metamer.pt`` (plenoptic save, loads with
``weights_only=True``), ``init.pt`` (the initial image used), ``metamer.png``,
``loss.csv`` (weighted loss, unweighted loss by statistic group, pixel ranges,
initialization and synthesis seconds), ``provenance.json`` and, unless
``--no_plots``, the figure ``ps_noise.{svg,png}``.
"""

from pathlib import Path

from plenexp import cli
from plenexp.experiments import ps_noise

EXPERIMENT = "ps_noise"


def parse_args() -> dict:
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--img", "-i", default="einstein",
                        help="target image: built-in name (einstein, curie, ...), "
                        "PS paper figure or file (default: einstein)")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--init_noise", "-n", type=ps_noise.noise_amplitude,
                        default=1.0, help="noise amplitude (default: 1)")
    parser.add_argument("--init_noise_type", "-t", choices=ps_noise.NOISE_TYPES,
                        default="uniform", help="uniform: amplitude x U[0,1]; "
                        "normal: image + amplitude x N(0,1) (default: uniform)")
    parser.add_argument("--init_seed", "-s", type=cli.seed, default=0,
                        help="seed of the initial noise (default: 0)")
    parser.add_argument("--weighted", type=ps_noise.parse_weights,
                        default=ps_noise.parse_weights(ps_noise.DEFAULT_WEIGHTS),
                        help="seven comma-separated loss weights: pixel mean, "
                        "variance, skew, kurtosis, min, max, then the variance of "
                        f"the highpass residuals (default: {ps_noise.DEFAULT_WEIGHTS})")
    parser.add_argument("--history_size", type=cli.positive_int, default=100,
                        help="LBFGS history size (default: 100)")
    cli.add_device_argument(parser)
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS steps) (default: 200)")
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the figure (plot.py draws it later)")
    parser.add_argument("--output_path", "-f", type=cli.path_text, default=None,
                        help="run directory; a name ending in .pt (as in the "
                        "earlier version) means that name without .pt (default: "
                        "<output-root>/ps_noise/adhoc/<run-name>)")
    cli.add_output_root_argument(parser)
    return vars(parser.parse_args())


def main() -> None:
    """Run one synthesis and write its run directory."""
    args = parse_args()
    import torch

    from plenexp import devices, harness, results, synthesis

    device = devices.resolve_device(args["device"])
    image = ps_noise.load_target(args, device)
    output = args["output_path"]
    if output and output.endswith(".pt"):
        output = str(Path(output).with_suffix(""))
    run_dir = harness.run_dir_for(output, args["output_root"], EXPERIMENT,
                                  ps_noise.run_name(args))
    with harness.started_run(run_dir, args, device) as run:
        clock = devices.Stopwatch(device)
        init = ps_noise.make_initial_image(image, args["init_noise_type"],
                                           args["init_noise"], args["init_seed"])
        model, loss, met = ps_noise.build(args, image, init)
        met.setup(init, optimizer=torch.optim.LBFGS,
                  optimizer_kwargs=synthesis.lbfgs_kwargs(
                      max_iter=10, max_eval=10, history_size=args["history_size"],
                      line_search_fn="strong_wolfe", lr=1.0))
        run.record["init_duration"] = clock.restart()
        synthesis.synthesize(met, args["synth_max_iter"], stop_criterion=None)
        synth_duration = clock.elapsed()
        run.record["synth_duration"] = synth_duration
        run.measure_memory()

        ps_noise.save_results(run.dir, met, init)
        final_loss = float(met.losses[-1])
        row = ps_noise.loss_row(args, model, image, init, met.metamer.detach(),
                                final_loss, len(met.losses) - 1, run.flat_record())
        results.write_row(row, run.dir / ps_noise.TABLE)
        synthesis.log(f"final loss {final_loss:.4g} (unweighted L2 "
                      f"{row['l2_norm']:.4g}) after {len(met.losses) - 1} "
                      f"iterations, {synth_duration:.1f} s")
        if not args["no_plots"]:
            ps_noise.write_run_figure(run.dir, model, image, init,
                                      met.metamer.detach(), args, final_loss,
                                      str(device), synth_duration)


if __name__ == "__main__":
    cli.run(main)
