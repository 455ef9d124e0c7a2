"""disBatch task files: one shell line per run, every argument quoted."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from plenexp import cli, errors
from plenexp.cluster import cost, sbatch
from plenexp.runs import paths, rundir

#: Wraps a task's command in ``py-spy record`` (``--profile``).
PROFILE_SCRIPT = paths.REPO_ROOT / "plenexp" / "runs" / "profile_process.sh"


@dataclass(frozen=True)
class Task:
    """One run of a grid.

    Attributes
    ----------
    name
        Run name, unique within the grid; becomes the run directory's name.
    argv
        Arguments for the experiment's script, except device and output.
    seconds
        The experiment's estimate of the run's duration (``plenexp.cluster.cost``
        has the pieces): task files are written longest first, and a batch
        job's time limit is sized from it.
    """

    name: str
    argv: tuple[str, ...]
    seconds: float | None = None


def safe_name(text: str) -> str:
    """``text`` made safe as one path component."""
    return re.sub(r"[^A-Za-z0-9_.=+-]", "-", str(text))


def task_env(output_root: Path, threads: int = 1) -> dict[str, str]:
    """Environment of every task line.

    No tqdm bars (they flood batch logs), ``threads`` threads per run, the
    interpreter that wrote the file, and a matplotlib cache inside the output
    root (home directories on clusters are often slow or read-only).
    """
    return {
        "TQDM_DISABLE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MPLCONFIGDIR": str(output_root / ".cache" / "matplotlib"),
        "PYTHONUNBUFFERED": "1",
        "PYTHON": sys.executable,
        paths.OUTPUT_ROOT_ENV: str(output_root),
    }


def shell_line(
    command: Sequence[str | os.PathLike], env: dict[str, str], log: Path,
    cwd: Path = paths.REPO_ROOT,
) -> str:
    """One shell line: ``cd``, environment, the command, output to ``log``.

    The log is never written through a symlink planted in its place: the
    line removes what stands at ``log`` (a link itself, not its target) and
    then creates the log afresh with ``set -C`` (noclobber: ``O_EXCL``, which
    refuses a link that reappeared meanwhile, failing the task instead).

    Raises
    ------
    UsageError
        If any part holds a line break or other control character: quoting
        cannot keep such a line one line for disBatch, which reads one task
        per line.
    """
    for part in (cwd, log, *env.values(), *command):
        errors.check_one_line(part, "a task line (rename it)")
    assignments = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
    log_text = shlex.quote(str(log))
    return (
        f"cd {shlex.quote(str(cwd))} && rm -f -- {log_text} && set -C && "
        f"{assignments} {shlex.join(str(c) for c in command)} > {log_text} 2>&1"
    )


#: A task file's first line when its tasks must run one at a time (timings:
#: tasks side by side disturb each other's clocks). A comment to disBatch;
#: ``disbatch_local`` honours it unless given ``--cores``.
ONE_AT_A_TIME = "# plenexp: one task at a time (tasks side by side disturb its timings)"


def write_taskfile(lines: Iterable[str], path: Path, one_at_a_time: bool = False
                   ) -> int:
    """Write task lines to ``path`` (atomically) and return how many.

    ``one_at_a_time`` puts :data:`ONE_AT_A_TIME` first.
    """
    lines = list(lines)
    if any("\n" in line or "\r" in line for line in lines):
        raise ValueError("a task line holds a line break")  # shell_line refuses
    path.parent.mkdir(parents=True, exist_ok=True)
    header = [ONE_AT_A_TIME] if one_at_a_time else []
    with rundir.atomic_path(path) as tmp:
        tmp.write_text("".join(line + "\n" for line in [*header, *lines]))
    return len(lines)


def wants_one_at_a_time(text: str) -> bool:
    """Whether a task file's text asks for its tasks one at a time."""
    return text.startswith(ONE_AT_A_TIME)


#: Task orders of ``--order``; the first is the default.
ORDERS = ("longest-first", "as-grid")


def order_tasks(tasks: Sequence[Task], costs: Sequence[float],
                order: str = ORDERS[0]) -> list[int]:
    """Indices of ``tasks`` in the order they go into the task file.

    ``longest-first``: by estimated cost, largest first, equal costs in grid
    order; ``as-grid``: the grid's order.
    """
    if order == "as-grid":
        return list(range(len(tasks)))
    if order != "longest-first":
        raise ValueError(f"unknown task order {order!r}: expected one of {ORDERS}")
    return cost.longest_first(costs)


def add_writer_arguments(parser: argparse.ArgumentParser, grids: Sequence[str],
                         default_grid: str = "quick") -> None:
    """Arguments every task writer takes."""
    parser.add_argument("taskfile", nargs="?", default=None, type=cli.path_text,
                        help="task file to write (default: "
                        "<output-root>/<experiment>/<grid>/disbatch-<device>.txt)")
    parser.add_argument("--grid", choices=list(grids), default=default_grid,
                        help=f"which set of runs (default: {default_grid})")
    cli.add_device_argument(parser)
    cli.add_output_root_argument(parser)
    parser.add_argument("--skip-done", "--skip_done", dest="skip_done",
                        action="store_true",
                        help="leave out runs whose results are already complete")
    parser.add_argument("--threads", type=cli.threads, default=1,
                        help="threads per run (default: 1, best when runs share "
                        "a node)")
    parser.add_argument("--profile", action="store_true",
                        help="record each run with py-spy: a flame graph "
                        "(<run>.profile.svg) and a speedscope file "
                        "(<run>.profile.speedscope.json) beside the run")
    parser.add_argument("--order", choices=ORDERS, default=ORDERS[0],
                        help="task order: longest-first (by each task's cost "
                        "estimate, so no long task starts last; the default) or "
                        "as-grid (the grid's own order)")
    sbatch.add_arguments(parser)


def local_run_command(taskfile: Path) -> str:
    """The one way to run a task file on this machine (it reports failures).

    A task file that asks for one task at a time says so itself
    (:data:`ONE_AT_A_TIME`): the command is the same.
    """
    return shlex.join(["python", "-m", "plenexp.cluster.disbatch_local", str(taskfile)])


def write_disbatch(
    experiment: str,
    grids: dict[str, Callable[..., list[Task]]],
    timing_script: str = "time_synthesize.sh",
    description: str | None = None,
    argv: Sequence[str] | None = None,
    taskfile_prefix: str = "disbatch",
    extra_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    extra_task_args: Callable[[argparse.Namespace], Sequence[str]] | None = None,
    estimate: Callable[[Task, argparse.Namespace], float] | None = None,
    one_at_a_time: bool = False,
) -> Path:
    """The whole ``write_disbatch.py`` of a synthesis experiment.

    Parameters
    ----------
    experiment
        The experiment's directory name.
    grids
        Grid name to ``grid(root, device) -> list[Task]`` (the resolved output
        root and device: grids may name files under the root, or refuse a
        device).
    timing_script
        Script in the experiment directory that times one run.
    description
        Help text.
    argv
        Command-line arguments (default: ``sys.argv[1:]``).
    taskfile_prefix
        Default task file name is ``<prefix>-<device>.txt``; experiments with
        several writers give each its own.
    extra_arguments
        Adds the writer's own options to the parser.
    extra_task_args
        Arguments appended to every task, from the parsed options (checked
        there, before any file is written).
    estimate
        A task's estimated seconds given the writer's options (default: the
        task's own ``seconds``), for writers whose options change a run's cost.
    one_at_a_time
        The tasks time themselves against each other: the task file asks
        ``disbatch_local`` to run them one at a time (:data:`ONE_AT_A_TIME`),
        and the submit script asks for one slot on a node of its own.

    Returns
    -------
    taskfile
        The task file written.
    """
    parser = cli.ArgumentParser(description=description)
    add_writer_arguments(parser, list(grids))
    if extra_arguments is not None:
        extra_arguments(parser)
    args = parser.parse_args(argv)
    sbatch.check_arguments(args)
    device = cli.normalize_device(args.device)
    extra = tuple(extra_task_args(args)) if extra_task_args is not None else ()
    root = paths.output_root(args.output_root).resolve()
    grid_dir = paths.grid_dir(root, experiment, args.grid)
    taskfile = Path(args.taskfile) if args.taskfile else (
        grid_dir / f"{taskfile_prefix}-{safe_name(device)}.txt")
    env = task_env(root, args.threads)
    script = paths.script(experiment, timing_script)
    grid = grids[args.grid]
    todo, skipped = [], 0
    for task in grid(root=root, device=device):
        run_dir = grid_dir / f"{task.name}_device-{safe_name(device)}"
        if args.skip_done and rundir.is_done(run_dir):
            skipped += 1
            continue
        todo.append((task, run_dir))
    costs = [estimate(task, args) if estimate is not None else task.seconds
             for task, _ in todo]
    if None in costs:
        raise ValueError(f"{experiment}: a task of grid {args.grid!r} has no "
                         "estimated seconds (Task.seconds)")
    lines, ordered_costs = [], []
    for i in order_tasks([task for task, _ in todo], costs, args.order):
        task, run_dir = todo[i]
        command = ["bash", script, *task.argv, *extra, "--device", device,
                   "--output_dir", run_dir]
        if args.profile:
            command = ["bash", PROFILE_SCRIPT, run_dir, *command]
        lines.append(shell_line(command, env, paths.run_log(run_dir)))
        ordered_costs.append(costs[i])
    grid_dir.mkdir(parents=True, exist_ok=True)
    n = write_taskfile(lines, taskfile, one_at_a_time)
    done = f" ({skipped} already done, left out)" if skipped else ""
    print(f"wrote {n} task(s) to {taskfile}{done}")
    if args.sbatch and n:
        submit = sbatch.script_for(
            args, taskfile, ordered_costs, device,
            job_name=f"{experiment}-{args.grid}-{taskfile.stem}",
            grid_dir=grid_dir, one_at_a_time=one_at_a_time).write()
        print(f"submit with: sbatch {shlex.quote(str(submit))}")
    elif args.sbatch:
        print("nothing left to run: no submit script written")
    else:
        print(f"run them here with: {local_run_command(taskfile)}")
        print("on a SLURM cluster: add --sbatch for a ready submit script "
              f"({taskfile.stem}.sbatch beside the task file)")
    return taskfile
