"""Time one plenoptic component (or one 10-step synthesis) in several installations.

Each installation ``--install NAME=PYTHON`` (repeatable; the first is the
baseline A) gets its own interpreter: ``run.py`` executed there as a script
(``python -I``: that installation's plenoptic and torch, nothing of this
checkout's), kept alive for the whole run. After their warm-ups, this process
asks them for one timed repeat at a time, in rounds, alternating the order
(A B, B A, A B, ...; with more installations each takes every position in
turn), each looping the same number of calls, so that a load
that comes and goes on the machine hits every installation alike and the
ratio B/A of one round is free of it.

Into the run directory go ``timings.csv`` (one row per installation, pass and
round: seconds per call, position in the round), ``loss.csv`` (one row per
installation and pass: medians, and for syntheses the final loss and success
criterion), ``result.json`` (each worker's whole answer: loss trajectory,
probe), ``provenance.json`` (under ``installs``: each installation's python,
plenoptic version and commit, and its ``pip freeze`` when it has an environment
made by ``write_disbatch.py``), ``worker-NAME.log`` (each worker's standard
error) and, for syntheses, ``NAME/metamer.pt``, ``NAME/representation.pt`` and
``NAME/target_representation.pt`` (the baseline's also at the top, where
every experiment's run keeps its metamer).
"""

import argparse
import os
import re

from plenexp import cli

EXPERIMENT = "ps_speed"
COMPONENTS = ("pyr_forward", "pyr_recon", "pyr_to_tensor", "tensor_to_pyr",
              "ps_coeffs", "lowpass_recon", "ps_forward", "synth_adam",
              "synth_lbfgs_h3", "synth_lbfgs_h100", "synth_lbfgs_h300")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


def install_argument(text: str) -> tuple[str, str]:
    """Parse ``NAME=PYTHON`` (PYTHON may be ``current``: this interpreter)."""
    name, sep, python = text.partition("=")
    if not sep or not python.strip() or not _NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(
            f"expected NAME=PYTHON (NAME of letters, digits, _.+-), got {text!r}")
    return name, cli.path_text(python.strip())


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--install", action="append", type=install_argument,
                        default=None, metavar="NAME=PYTHON",
                        help="an installation: its name (a label in the tables) "
                        "and its python ('current': this one); repeat it; the "
                        "first is the baseline (default: current=current)")
    parser.add_argument("--component", choices=COMPONENTS, default="ps_forward",
                        help="what to time")
    parser.add_argument("--size", type=cli.positive_int, default=64,
                        help="image height and width (reptile_skin cropped or tiled)")
    parser.add_argument("--dtype", choices=("float32", "float64"),
                        default="float32", help="image and model dtype")
    parser.add_argument("--repeats", type=cli.positive_int, default=10,
                        help="timed rounds (one repeat of each installation each; "
                        "syntheses: one whole synthesis)")
    parser.add_argument("--warmup", type=cli.optional_non_negative_int, default=2,
                        help="untimed calls first (at least one for components)")
    parser.add_argument("--seed", type=cli.seed, default=0,
                        help="seed of the synthesis's initial image (po.set_seed)")
    parser.add_argument("--threads", type=cli.threads,
                        default=int(os.environ.get("OMP_NUM_THREADS") or 1),
                        help="torch and OpenMP threads of each worker (default: "
                        "$OMP_NUM_THREADS, else 1)")
    cli.add_device_argument(parser)
    cli.add_run_dir_argument(parser, EXPERIMENT)
    cli.add_output_root_argument(parser)
    parser.add_argument("--no_plots", action="store_true",
                        help="skip the run's figure (analyze.py draws it later)")
    args = vars(parser.parse_args())
    installs = args["install"] or [("current", "current")]
    names = [name for name, _ in installs]
    if len(set(names)) < len(names):
        parser.error(f"--install names must differ, got {names}")
    args["install"] = [f"{name}={python}" for name, python in installs]
    if args["warmup"] is None:
        args["warmup"] = 0
    return args


class Worker:
    """One installation's ``run.py``, alive: asked for one repeat at a time."""

    def __init__(self, name: str, python: str, argv: list[str], log):
        import subprocess
        from pathlib import Path

        self.name, self.python = name, python
        self.log = log
        worker = Path(__file__).resolve().with_name("run.py")
        self.errors = open(log, "w")  # noqa: SIM115 (closed by stop)
        self.child = subprocess.Popen([python, "-I", str(worker), *argv],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self.errors, text=True, bufsize=1)
        self.passes, self.inner = None, None

    def _answer(self) -> dict:
        import json

        for line in self.child.stdout:
            try:
                value = json.loads(line)
            except ValueError:
                continue  # something the installation printed: not ours
            if isinstance(value, dict):
                return value
        self.child.wait()
        lines = [x for x in self.log.read_text(errors="replace").splitlines()
                 if x.strip()] or ["no output"]
        raise cli.RunFailed(f"the worker of {self.name} ({self.python}) failed: "
                            f"{lines[-1]}")

    def _send(self, line: str) -> None:
        try:
            self.child.stdin.write(line + "\n")
            self.child.stdin.flush()
        except BrokenPipeError:
            pass  # it died: _answer says why

    def ready(self) -> None:
        """Wait for its warm-up; learn its passes and calls per repeat."""
        answer = self._answer()
        self.passes, self.inner = answer["ready"], answer["inner"]

    def repeat(self, name: str, inner: int) -> float:
        """Seconds per call of one timed repeat of pass ``name``: ``inner`` calls."""
        self._send(f"{name} {inner}")
        return float(self._answer()["seconds"])

    def finish(self) -> dict:
        """Its whole answer (every repeat, the probe), once it has ended."""
        self._send("done")
        result = self._answer()
        self.child.wait()
        return result

    def stop(self) -> None:
        """Kill it if still running; close its log."""
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self.errors.close()


def round_order(workers: list, number: int) -> list:
    """The order of round ``number``: every worker takes every position in turn.

    Two workers alternate (A B, B A, ...). With more, reversing alone would
    keep the middle one in the middle of every round, where a position
    effect (caches the others warmed or cooled) would fall on it alone: the
    order is rotated by one each pair of rounds, and reversed every second
    round.
    """
    n = len(workers)
    shift = (number // 2) % n if n > 2 else 0
    order = workers[shift:] + workers[:shift]
    return order if number % 2 == 0 else order[::-1]


def interleave(workers: list, repeats: int) -> list[dict]:
    """Every pass's rounds: one repeat of each worker, in :func:`round_order`.

    Every worker loops the same number of calls per repeat (the largest its
    warm-ups asked for): looped calls run with warmer caches, so unequal loops
    would bias the ratio.

    Returns
    -------
    rows
        One per worker, pass and round: ``install``, ``pass``, ``round``,
        ``position`` (0: first in its round), ``inner``, ``seconds``.
    """
    rows = []
    for name in workers[0].passes:
        # the same calls per repeat for all: as many as the slowest warm-up asks
        inner = max(worker.inner[name] for worker in workers)
        for number in range(repeats):
            for position, worker in enumerate(round_order(workers, number)):
                rows.append({"install": worker.name, "pass": name,
                             "round": number, "position": position,
                             "inner": inner,
                             "seconds": worker.repeat(name, inner)})
    return rows


def main():
    args = parse_args()
    import json
    import shutil
    import sys

    from plenexp.runs import devices, harness, results
    from ps_speed import run

    device = devices.resolve_device(args["device"])
    installs = [spec.split("=", 1) for spec in args["install"]]
    installs = [(name, sys.executable if python == "current" else python)
                for name, python in installs]
    run_dir = harness.run_dir_for(args["output_dir"], args["output_root"],
                                  EXPERIMENT, run.run_name(args), args=args)
    with harness.started_run(run_dir, args, device) as ctx:
        clock = devices.Stopwatch(device)
        worker_argv = ["--component", args["component"], "--size", str(args["size"]),
                       "--dtype", args["dtype"], "--device", str(device),
                       "--warmup", str(args["warmup"]),
                       "--threads", str(args["threads"]), "--seed", str(args["seed"])]
        workers = []
        try:
            for name, python in installs:  # their imports and warm-ups overlap
                workers.append(Worker(name, python,
                                      [*worker_argv, "--out", str(ctx.dir / name)],
                                      ctx.dir / f"worker-{name}.log"))
            for worker in workers:
                worker.ready()
            rows = interleave(workers, args["repeats"])
            answers = {worker.name: {**worker.finish(),
                                     "install_python": worker.python}
                       for worker in workers}
        finally:
            for worker in workers:
                worker.stop()
        for saved in (ctx.dir / installs[0][0]).glob("*.pt"):  # the baseline's
            shutil.copyfile(saved, ctx.dir / saved.name)  # where every run has it
        ctx.record["worker_duration"] = clock.elapsed()
        ctx.record["omp_num_threads"] = str(args["threads"])
        ctx.record["installs"] = {name: run.install_record(name, python,
                                                           answers[name])
                                  for name, python in installs}
        (ctx.dir / "result.json").write_text(json.dumps(answers, indent=1) + "\n")
        results.write_row([{"component": args["component"], **row} for row in rows],
                          ctx.dir / "timings.csv")
        table = run.loss_rows(args, answers, run.row_record(ctx.flat_record()))
        ctx.record["synth_duration"] = table[0]["synth_duration"]
        results.write_row(table, ctx.dir / "loss.csv")
        if not args["no_plots"]:
            from ps_speed import plot

            plot.write_run_figures(ctx.dir)


if __name__ == "__main__":
    cli.run(main)
