"""Time one plenoptic component (or one 10-step synthesis) inside one installation.

The timing runs in the installation's own python: ``run.py`` executed there as
a script (``python -I``: that installation's plenoptic and torch, nothing of
this checkout's), printing one JSON line. This process records it: into the
run directory go ``timings.csv`` (one row per pass and repeat: seconds per
call), ``loss.csv`` (one row per pass: medians, the installation, and for
syntheses the final loss and success criterion), ``result.json`` (the
worker's whole answer: loss trajectory, probe), ``provenance.json`` (the
installation's plenoptic version and commit; its ``pip freeze`` when it has an
environment made by ``write_disbatch.py``) and, for syntheses, ``metamer.pt``,
``representation.pt`` and ``target_representation.pt``.
"""

import os

from plenexp import cli

EXPERIMENT = "ps_speed"
COMPONENTS = ("pyr_forward", "pyr_recon", "pyr_to_tensor", "tensor_to_pyr",
              "ps_coeffs", "lowpass_recon", "ps_forward", "synth_adam",
              "synth_lbfgs_h3", "synth_lbfgs_h100", "synth_lbfgs_h300")


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--install", default="current", type=cli.path_text,
                        help="name of the installation (a label in the tables)")
    parser.add_argument("--baseline", default=None, type=cli.path_text,
                        help="name of the installation this one is compared with "
                        "(default: this one)")
    parser.add_argument("--python", default=None, type=cli.path_text,
                        help="the installation's python (default: this one)")
    parser.add_argument("--component", choices=COMPONENTS, default="ps_forward",
                        help="what to time")
    parser.add_argument("--size", type=cli.positive_int, default=64,
                        help="image height and width (reptile_skin cropped or tiled)")
    parser.add_argument("--dtype", choices=("float32", "float64"),
                        default="float32", help="image and model dtype")
    parser.add_argument("--repeats", type=cli.positive_int, default=10,
                        help="timed repeats (syntheses: whole syntheses)")
    parser.add_argument("--warmup", type=cli.optional_int, default=2,
                        help="untimed calls first (at least one for components)")
    parser.add_argument("--seed", type=cli.seed, default=0,
                        help="seed of the synthesis's initial image (po.set_seed)")
    parser.add_argument("--threads", type=cli.threads,
                        default=int(os.environ.get("OMP_NUM_THREADS") or 1),
                        help="torch and OpenMP threads of the worker (default: "
                        "$OMP_NUM_THREADS, else 1)")
    cli.add_device_argument(parser)
    cli.add_run_dir_argument(parser, EXPERIMENT)
    cli.add_output_root_argument(parser)
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the run's figure (analyze.py draws it later)")
    args = vars(parser.parse_args())
    args["baseline"] = args["baseline"] or args["install"]
    if args["warmup"] is None or args["warmup"] < 0:
        args["warmup"] = 0
    return args


def call_worker(python: str, argv: list[str], timeout: float | None = None) -> dict:
    """Run ``run.py`` in ``python`` and give its JSON answer.

    The child is killed if this process is stopped (SIGTERM unwinds here).

    Raises
    ------
    RunFailed
        If the worker exits non-zero or prints no JSON (its last line of
        standard error is the message).
    """
    import json
    import subprocess
    from pathlib import Path

    worker = Path(__file__).resolve().with_name("run.py")
    child = subprocess.Popen([python, "-I", str(worker), *argv],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        out, err = child.communicate(timeout=timeout)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    lines = out.strip().splitlines()
    if child.returncode or not lines:
        last = (err.strip().splitlines() or ["no output"])[-1]
        raise cli.RunFailed(f"the worker in {python} failed: {last}")
    return json.loads(lines[-1])


def main():
    args = parse_args()
    import json
    import sys
    from pathlib import Path

    from plenexp.runs import devices, harness, results
    from ps_speed import run

    device = devices.resolve_device(args["device"])
    python = args["python"] or sys.executable
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, run.run_name(args), args=args)
    with harness.started_run(run_dir, args, device) as ctx:
        clock = devices.Stopwatch(device)
        worker_argv = ["--component", args["component"], "--size", str(args["size"]),
                       "--dtype", args["dtype"], "--device", str(device),
                       "--repeats", str(args["repeats"]),
                       "--warmup", str(args["warmup"]),
                       "--threads", str(args["threads"]), "--seed", str(args["seed"]),
                       "--out", str(ctx.dir)]
        result = call_worker(python, worker_argv)
        ctx.record["worker_duration"] = clock.elapsed()
        installed = Path(python).parent.parent / "installed.json"
        record = {k: result.get(k) for k in (
            "plenoptic_version", "plenoptic_commit", "plenoptic_path",
            "torch_version", "python_version", "host", "device_name",
            "torch_num_threads", "timed", "private_attribute")}
        record.update(install=args["install"], install_python=python,
                      omp_num_threads=str(args["threads"]),
                      install_environment=str(installed.parent)
                      if installed.is_file() else None)
        ctx.record.update(record)
        if installed.is_file():
            ctx.record["install_pip_freeze"] = json.loads(
                installed.read_text()).get("pip_freeze")
        (ctx.dir / "result.json").write_text(json.dumps(result, indent=1) + "\n")
        results.write_row([{"install": args["install"], "component": args["component"],
                            "pass": name, "repeat": i, "inner": timed["inner"],
                            "seconds": seconds}
                           for name, timed in result["passes"].items()
                           for i, seconds in enumerate(timed["seconds"])],
                          ctx.dir / "timings.csv")
        rows = run.loss_rows(args, result, run.row_record(ctx.flat_record()))
        ctx.record["synth_duration"] = rows[-1]["synth_duration"]
        results.write_row(rows, ctx.dir / "loss.csv")
        if not args["no_plots"]:
            from ps_speed import plot

            plot.write_run_figures(ctx.dir)


if __name__ == "__main__":
    cli.run(main)
