"""Stand-in ps_lbfgs run directories, for benchmarks and fault tests.

Each directory holds what a real ``ps_lbfgs`` task leaves behind when it is
started from a task line (``--no_plots``): ``loss.csv`` with the same columns,
``provenance.json`` with the same fields, ``process_time.json`` and the
completion marker, plus the task's log beside the directory. Only the numbers
(final loss, durations, memory) are drawn at random, so summaries can be
timed on tens of thousands of runs without synthesizing them.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from . import provenance, results, rundir
from .experiments.ps_lbfgs import grids as ps_lbfgs
from .experiments.ps_lbfgs import run as ps_lbfgs_run
from .tasks import Task, safe_name

#: ``synthesize.py``'s defaults, for options a task line leaves out.
DEFAULT_ARGS = {
    "img": "fig4a", "crop": None, "coarse_to_fine": False, "seed": 0,
    "max_iter": 10, "max_eval": 10, "history_size": 100,
    "line_search_fn": "strong_wolfe", "device": "cpu", "init_reduced": False,
    "synth_max_iter": 200, "store_progress": None, "lr": 1.0, "loss": "l2_norm",
    "stop_criterion": 1e-4, "stop_iters_to_check": 50, "no_plots": False,
    "output_dir": None, "output_root": None,
}

_TYPES = {"crop": int, "seed": int, "max_iter": int, "history_size": int,
          "synth_max_iter": int, "lr": float, "stop_iters_to_check": int}


def task_args(task: Task, run_dir: Path, device: str = "cpu") -> dict:
    """The parsed arguments ``synthesize.py`` would record for ``task``."""
    args = dict(DEFAULT_ARGS)
    words = list(task.argv)
    i = 0
    while i < len(words):
        key = words[i].lstrip("-")
        if i + 1 < len(words) and not words[i + 1].startswith("--"):
            value: object = words[i + 1]
            i += 2
        else:
            value = True
            i += 1
        if value in ("None", "none"):
            value = None
        elif key in _TYPES:
            value = _TYPES[key](value)
        elif key == "max_eval":
            value = int(value)
        elif key == "stop_criterion":
            value = float(value)
        args[key] = value
    args.update(device=device, output_dir=str(run_dir))
    return args


def ps_lbfgs_tasks(n: int) -> list[Task]:
    """``n`` distinct tasks: the published grids, repeated over more seeds."""
    configs = [*ps_lbfgs.full_grid(), *ps_lbfgs.mse_grid(),
               *ps_lbfgs.small_lr_grid()]
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
              device: str = "cpu") -> None:
    """Write one complete stand-in run directory (and its log) at ``run_dir``."""
    args = task_args(task, run_dir, device)
    n_iter = rng.randint(50, args["synth_max_iter"])
    synth = rng.lognormvariate(5.0, 1.0)
    init = rng.uniform(1.5, 3.0)
    record = {
        **base_record,
        "args": args,
        "argv": [str(ps_lbfgs_script()), *task.argv, "--device", device,
                 "--output_dir", str(run_dir)],
        "init_duration": init,
        "synth_duration": synth,
        "peak_rss_mb": round(rng.uniform(450, 700), 1),
        "gpu_max_allocated_mb": None,
        "evaluations": n_iter * rng.randint(8, 14),
        "steps": n_iter,
        "max_abs_rep_error": rng.lognormvariate(-1.5, 1.0),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    rundir.write_json(run_dir / "provenance.json", record)
    fields = {k: v for k, v in record.items() if k not in ("args", "argv")}
    row = ps_lbfgs_run.loss_row(args, n_iter, rng.lognormvariate(-3.0, 1.5), synth,
                            fields)
    results.write_row(row, run_dir / "loss.csv")
    rundir.write_json(run_dir / rundir.DONE_MARKER, {"finished": time.time()})
    elapsed = synth + init + rng.uniform(5.0, 7.0)
    (run_dir / rundir.PROCESS_TIME).write_text(json.dumps(
        {"elapsed_s": round(elapsed, 3), "start_epoch": 0.0,
         "end_epoch": round(elapsed, 3), "host": record["host"]}) + "\n")
    log = run_dir.with_name(run_dir.name + ".log")
    log.write_text("".join(f"iteration {i}/{n_iter}: loss 0.1\n"
                           for i in range(0, n_iter, max(1, n_iter // 10)))
                   + f"results: {run_dir}\nwhole process: {elapsed:.3f} s\n")


def ps_lbfgs_script() -> Path:
    """Path of ``ps_lbfgs/synthesize.py`` in this checkout."""
    from .paths import script

    return script(ps_lbfgs.EXPERIMENT, "synthesize.py")


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
    base = provenance.collect({}, device, "stand-in")
    base["plenoptic_version"] = base["plenoptic_version"] or "2.1.1"
    base.update(omp_num_threads="1", mkl_num_threads="1",
                openblas_num_threads="1", torch_num_threads=1,
                torch_num_interop_threads=2)
    run_dirs = []
    for task in ps_lbfgs_tasks(n):
        run_dir = grid_dir / f"{task.name}_device-{safe_name(device)}"
        write_run(run_dir, task, base, rng, device)
        run_dirs.append(run_dir)
    return run_dirs
