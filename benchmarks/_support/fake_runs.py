"""Stand-in ps_lbfgs run directories, for benchmarks and fault tests.

Each directory holds what a real ``ps_lbfgs`` task leaves behind when it is
started from a task line (``--no_plots``): ``loss.csv`` with the same columns,
``provenance.json`` with the same fields (the whole-process seconds too) and the
completion marker, plus the task's log beside the directory. The recorded
arguments come from ``ps_lbfgs/synthesize.py``'s own ``parse_args`` on the
task's command line, so its defaults cannot drift from the script's; only the
numbers (final loss, durations, memory) are drawn at random, so summaries can
be timed on tens of thousands of runs without synthesizing them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import itertools
import os
import random
import re
import sys
import time
from pathlib import Path
from types import ModuleType

from plenexp.cluster.tasks import Task, safe_name
from plenexp.runs import paths, provenance, results, rundir

EXPERIMENT = "ps_lbfgs"
#: The grids whose configurations the stand-in runs repeat, over more seeds.
GRIDS = ("full", "mse", "small_lr")


def load_script(experiment: str, name: str = "synthesize.py") -> ModuleType:
    """Import an experiment's script as a module, without running its ``main``."""
    path = paths.script(experiment, name)
    spec = importlib.util.spec_from_file_location(
        f"_{experiment}_{Path(name).stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script_args(script: ModuleType, argv: list[str]) -> dict:
    """What ``script.parse_args()`` gives for the command line ``argv``."""
    saved = sys.argv
    sys.argv = [str(script.__file__), *argv]
    try:
        parsed = script.parse_args()
    finally:
        sys.argv = saved
    return dict(vars(parsed) if isinstance(parsed, argparse.Namespace) else parsed)


def _experiment_part(part: str) -> ModuleType:
    # The experiment's own module (ps_lbfgs.<part>, its folder's file).
    return importlib.import_module(f"{EXPERIMENT}.{part}")


def _grid_tasks(name: str, root: Path, device: str) -> list[Task]:
    grid = _experiment_part("write_disbatch").GRIDS[name]
    if inspect.signature(grid).parameters:
        return list(grid(root=root, device=device))
    return list(grid())


def ps_lbfgs_tasks(n: int, root: Path = Path("."), device: str = "cpu") -> list[Task]:
    """``n`` distinct tasks: the published grids, repeated over more seeds."""
    configs = [task for grid in GRIDS for task in _grid_tasks(grid, root, device)]
    tasks = []
    for repeat in itertools.count(1):
        for task in configs:
            if len(tasks) == n:
                return tasks
            argv = list(task.argv)
            seed = int(argv[argv.index("--seed") + 1]) + 10 * repeat
            argv[argv.index("--seed") + 1] = str(seed)
            name = re.sub(r"_seed-\d+_", f"_seed-{seed}_", task.name)
            tasks.append(Task(name, tuple(argv)))
    return tasks


def write_run(run_dir: Path, task: Task, base_record: dict, rng: random.Random,
              script: ModuleType, device: str = "cpu") -> None:
    """Write one complete stand-in run directory (and its log) at ``run_dir``.

    Parameters
    ----------
    run_dir
        Where the run appears.
    task
        The grid's task; its command line, with the device and run directory a
        task writer adds, is parsed by ``script``.
    base_record
        Provenance fields shared by every run (versions, host, threads).
    rng
        Source of the random numbers.
    script
        ``ps_lbfgs/synthesize.py`` as a module (:func:`load_script`).
    device
        Device recorded for the run.
    """
    argv = [*task.argv, "--device", device, "--output_dir", str(run_dir)]
    args = script_args(script, argv)
    n_iter = rng.randint(50, args["synth_max_iter"])
    synth = rng.lognormvariate(5.0, 1.0)
    init = rng.uniform(1.5, 3.0)
    elapsed = synth + init + rng.uniform(5.0, 7.0)
    record = {
        **base_record,
        "args": args,
        "argv": [str(script.__file__), *argv],
        "init_duration": init,
        "synth_duration": synth,
        "process_duration": round(elapsed, 3),
        "peak_rss_mb": round(rng.uniform(450, 700), 1),
        "gpu_max_allocated_mb": None,
        "evaluations": n_iter * rng.randint(8, 14),
        "steps": n_iter,
        "max_abs_rep_error": rng.lognormvariate(-1.5, 1.0),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_json(run_dir / "provenance.json", record)
    fields = {k: v for k, v in record.items() if k not in ("args", "argv")}
    row = _experiment_part("run").loss_row(
        args, n_iter, rng.lognormvariate(-3.0, 1.5), synth, fields)
    results.write_row(row, run_dir / "loss.csv")
    rundir.write_json(run_dir / rundir.DONE_MARKER, {"finished": time.time()})
    paths.run_log(run_dir).write_text(
        "".join(f"iteration {i}/{n_iter}: loss 0.1\n"
                for i in range(0, n_iter, max(1, n_iter // 10)))
        + f"results: {run_dir}\nwhole process: {elapsed:.3f} s\n")


def write_ps_lbfgs_runs(grid_dir: str | os.PathLike, n: int, seed: int = 0,
                        device: str = "cpu") -> list[Path]:
    """Write ``n`` complete stand-in ps_lbfgs runs into ``grid_dir``.

    Parameters
    ----------
    grid_dir
        The grid directory, e.g. ``<root>/ps_lbfgs/<grid>``.
    n
        How many runs.
    seed
        Seed of the random numbers (losses, durations).
    device
        Device recorded for every run.

    Returns
    -------
    run_dirs
        The run directories, in the order written.
    """
    grid_dir = Path(grid_dir)
    rng = random.Random(seed)
    script = load_script(EXPERIMENT)
    base = provenance.collect({}, device, "stand-in")
    base["plenoptic_version"] = base["plenoptic_version"] or "2.1.1"
    base.update(omp_num_threads="1", mkl_num_threads="1",
                openblas_num_threads="1", torch_num_threads=1,
                torch_num_interop_threads=2)
    run_dirs = []
    for task in ps_lbfgs_tasks(n, grid_dir.parent.parent, device):
        run_dir = grid_dir / f"{task.name}_device-{safe_name(device)}"
        write_run(run_dir, task, base, rng, script, device)
        run_dirs.append(run_dir)
    return run_dirs
