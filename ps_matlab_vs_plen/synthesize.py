"""Synthesize one PS metamer with plenoptic, Adam or LBFGS, from a given start.

Adam runs as ``MetamerCTF`` (coarse-to-fine ``together``, a scale added every
7 iterations); LBFGS as ``Metamer`` with ``max_eval = max_iter``,
``strong_wolfe`` line search and ``lr`` 1. The stopping criterion is off, so
every run does exactly ``--synth_max_iter`` iterations. Writes into the run
directory: ``metamer.pt`` (plenoptic save, loads with ``weights_only=True``),
``metamer.png``, ``trajectory.csv`` (per step: seconds, loss, model
evaluations), ``checkpoints.pt`` (the metamer after each ``--checkpoints``
step), ``loss.csv`` (the PS loss of each kept metamer against the target,
every loss function x statistic group, scored as ``analyze.py`` scores every
result) and ``provenance.json`` (``init_duration``: target loading, model and
optimizer set-up, after the imports; ``synth_duration``: the iterations
alone; seconds).

``-o`` is ``--optimizer`` here (the original repository's meaning): give the
run directory as ``--output_dir``.
"""

import argparse

from plenexp import cli

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
    parser.add_argument("--img", "-i", type=cli.one_line_text, default="fig4a",
                        help="target image: built-in name, PS paper figure or file")
    parser.add_argument("--crop", type=cli.positive_int, default=None,
                        help="keep only the central CROP x CROP pixels")
    parser.add_argument("--init_img", type=cli.one_line_text, default="seed-0",
                        help="initial image: a file, or seed-N from "
                        "generate_init_imgs.py under the output root")
    parser.add_argument("--optimizer", "-o", type=optimizer_name, default="Adam",
                        help="Adam (coarse-to-fine) or LBFGS")
    parser.add_argument("--weighted", type=cli.non_negative_float, default=0.0,
                        metavar="W",
                        help="multiply the var_highpass_residual statistic by W in "
                        "the loss; 0: the plain loss")
    parser.add_argument("--loss", default="l2_norm", choices=cli.LOSSES,
                        help="loss function")
    parser.add_argument("--max_iter", type=cli.positive_int, default=10,
                        help="LBFGS iterations (= max_eval) per step")
    parser.add_argument("--history_size", type=cli.positive_int, default=100,
                        help="LBFGS history size")
    cli.add_device_argument(parser)
    parser.add_argument("--synth_max_iter", type=cli.positive_int, default=200,
                        help="synthesis iterations (LBFGS: steps)")
    parser.add_argument("--checkpoints", type=cli.positive_int, nargs="+",
                        default=[], metavar="STEP",
                        help="also keep (and score) the metamer after these "
                        "steps: the results of shorter runs, for free")
    cli.add_run_dir_argument(parser, EXPERIMENT, short=None)
    cli.add_output_root_argument(parser)
    args = vars(parser.parse_args())
    if any(k >= args["synth_max_iter"] for k in args["checkpoints"]):
        parser.error("--checkpoints must be below --synth_max_iter")
    args["checkpoints"] = sorted(set(args["checkpoints"]))
    return args


def main() -> None:
    """Synthesize one metamer into its run directory."""
    args = parse_args()
    from plenexp.runs import devices, harness, paths, results
    from plenexp.synth import images, synthesis
    from ps_matlab_vs_plen import run

    device = devices.resolve_device(args["device"])
    clock = devices.Stopwatch(device)  # initialization: after the imports
    image = run.load_target(args, device)
    root = paths.output_root(args["output_root"])
    init_path = run.resolve_init_image(args["init_img"], root, image.shape[-2:])
    init = run.load_init_image(init_path, image)
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, run.run_name(args), args=args)
    with harness.started_run(run_dir, args, device) as ctx:
        model, _, met = run.build(args, image)
        run.setup(met, args, init)
        ctx.record["init_duration"] = clock.restart()
        trajectory = synthesis.Trajectory(
            met, synchronize=lambda: devices.synchronize(device))
        kept = run.synthesize(met, args["synth_max_iter"], args["checkpoints"],
                              trajectory)
        ctx.record.update(synth_duration=clock.elapsed(), steps=trajectory.steps,
                          evaluations=trajectory.evaluations,
                          init_img_path=str(init_path.resolve()),
                          checkpoints=sorted(kept), final_loss=float(met.losses[-1]),
                          objective=run.objective_name(args))
        ctx.measure_memory()
        synthesis.save_metamer(met, ctx.dir / "metamer.pt")
        images.save_grayscale_png(met.metamer.clip(0, 1), ctx.dir / "metamer.png")
        trajectory.write_csv(ctx.dir / "trajectory.csv")
        if kept:
            run.save_checkpoints(kept, ctx.dir / run.CHECKPOINTS)
        metamers = {f"{run.CHECKPOINTS}:step-{k}": v for k, v in kept.items()}
        metamers["metamer.pt"] = met.metamer.detach()
        record = ctx.flat_record()
        states = run.plenoptic_states(args, record, trajectory.rows)
        extra = {k: record.get(k) for k in run.EXTRA_COLUMNS}
        rows = run.state_rows(states, metamers.__getitem__, model, image,
                              {**extra, "objective": record["objective"]})
        results.write_row(rows, ctx.dir / run.LOSS_TABLE)
        final = next(r["loss"] for r in rows if r["metamer"] == "metamer.pt")
        print(f"init {ctx.record['init_duration']:.2f} s, synthesis "
              f"{ctx.record['synth_duration']:.2f} s, {trajectory.evaluations} "
              f"model evaluations, final objective {met.losses[-1]:.4g}, PS loss "
              f"(L2) {final:.4g}", flush=True)


if __name__ == "__main__":
    cli.run(main)
