"""Ready-to-submit SLURM batch scripts for disBatch task files.

``write_disbatch.py --sbatch`` writes ``<task file stem>.sbatch`` beside the
task file: ``#SBATCH`` lines for genoa CPU nodes (``-C genoa -n N -c C``) or
GPU nodes (``--gres gpu:1 -n N -c C``), a time limit from the tasks' cost
estimates, the job's name, its log under the output root, and the disBatch
call. Submitted with a disBatch status file as argument it resumes: only the
tasks that did not finish run again.
"""

from __future__ import annotations

import argparse
import math
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plenexp import cli
from plenexp.cluster import cost
from plenexp.errors import UsageError, check_one_line
from plenexp.runs.rundir import atomic_path

#: Defaults of the two kinds of nodes (the README's commands).
CPU_CONSTRAINT = "genoa"
GPU_PARTITION = "gpu"
DEFAULT_NTASKS = {"cpu": 50, "gpu": 4}
#: The time limit is the estimated makespan times this, plus ``MARGIN_S``.
SAFETY_FACTOR = 1.5
MARGIN_S = 300
#: Where batch logs and disBatch's status files go, inside the grid directory.
LOG_DIR = "slurm"

_TIME = re.compile(
    r"^(?:(?P<d>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?"
    r"|(?P<a>\d+)(?::(?P<b>\d+)(?::(?P<c>\d+))?)?)$")


def parse_time(text: str) -> int:
    """Seconds of a SLURM time limit: ``M``, ``M:S``, ``H:M:S``, ``D-H[:M[:S]]``.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else, or a limit of zero.
    """
    match = _TIME.match(str(text).strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"expected a SLURM time (MM, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]), "
            f"got {text!r}")
    g = {k: int(v) if v is not None else 0 for k, v in match.groupdict().items()}
    if match["d"] is not None:
        seconds = ((g["d"] * 24 + g["dh"]) * 60 + g["dm"]) * 60 + g["ds"]
    elif match["c"] is not None:
        seconds = (g["a"] * 60 + g["b"]) * 60 + g["c"]
    else:
        seconds = g["a"] * 60 + g["b"]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"time limit must be positive, got {text!r}")
    return seconds


def format_time(seconds: float) -> str:
    """``[D-]HH:MM:SS`` of whole seconds (rounded up)."""
    seconds = math.ceil(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def time_limit(costs: Sequence[float], ntasks: int) -> int:
    """Time limit for ``costs`` (in file order) run on ``ntasks`` slots.

    The simulated disBatch makespan times ``SAFETY_FACTOR`` plus ``MARGIN_S``,
    rounded up to whole minutes.
    """
    span = cost.makespan(costs, max(1, ntasks))
    return int(math.ceil((span * SAFETY_FACTOR + MARGIN_S) / 60) * 60)


#: A ``-p``/``-C`` value: one word of names and SLURM's constraint operators
#: (``genoa``, ``a100-80gb``, ``genoa&ib``, ``[rack1|rack2]``), never an
#: option of its own (``genoa --chdir=/tmp``, ``--wrap=...``).
_TOKEN = re.compile(r"[A-Za-z0-9_.\[(][A-Za-z0-9_.,:|&!*()\[\]+-]*")


def slurm_token(text: str) -> str:
    """Parse a ``--partition`` or ``--constraint`` value: one SLURM word.

    Raises
    ------
    argparse.ArgumentTypeError
        For spaces, quotes, option syntax (a leading ``-``, ``=``) or other
        characters that would reach sbatch as something else.
    """
    if not _TOKEN.fullmatch(str(text)):
        raise argparse.ArgumentTypeError(
            f"expected one SLURM name (letters, digits, _ . - and the "
            f"constraint operators & | , : * ! [ ] ( )), got {text!r}")
    return text


#: More slots or cores than any SLURM job gets (sbatch refuses far fewer).
MAX_SLOTS = 1_000_000


def slots(text: str) -> int:
    """Parse ``--ntasks`` or ``--cpus-per-task``: 1 to :data:`MAX_SLOTS`."""
    return cli.int_in(text, 1, MAX_SLOTS, "a positive integer")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sbatch`` and the options that override its choices."""
    group = parser.add_argument_group(
        "SLURM submit script",
        "With --sbatch, the writer puts <task file stem>.sbatch beside the "
        "task file and prints the sbatch command that submits it.")
    group.add_argument("--sbatch", action="store_true",
                       help="also write the batch script (CPU: -C genoa; "
                       "GPU devices: --gres gpu:1 -p gpu)")
    group.add_argument("--partition", type=slurm_token, default=None,
                       help="SLURM partition (default: the cluster's default "
                       f"for CPU, {GPU_PARTITION} for GPU)")
    group.add_argument("--constraint", type=slurm_token, default=None,
                       help=f"node features (default: {CPU_CONSTRAINT} for CPU, "
                       "none for GPU; 'none' for none)")
    group.add_argument("--ntasks", type=slots, default=None,
                       help="disBatch slots, -n (default: the number of tasks, "
                       f"at most {DEFAULT_NTASKS['cpu']} on CPU, "
                       f"{DEFAULT_NTASKS['gpu']} on GPU; 1, on a node of "
                       "its own, for tasks that time each other)")
    group.add_argument("--cpus-per-task", "--cpus_per_task", dest="cpus_per_task",
                       type=slots, default=None,
                       help="cores per slot, -c (default: --threads)")
    group.add_argument("--time", type=parse_time, default=None,
                       help="time limit, e.g. 2:00:00 or 1-12 (default: the "
                       f"estimated makespan x {SAFETY_FACTOR} + "
                       f"{MARGIN_S // 60} min)")


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse the override options without ``--sbatch`` (one line, exit 2)."""
    if args.sbatch:
        return
    given = [f"--{name.replace('_', '-')}" for name in
             ("partition", "constraint", "ntasks", "cpus_per_task", "time")
             if getattr(args, name) is not None]
    if given:
        raise UsageError(f"{', '.join(given)} need --sbatch")


def is_gpu(device: str) -> bool:
    """Whether ``device`` (normalized) needs a GPU node."""
    return str(device).startswith("cuda")


@dataclass(frozen=True)
class Script:
    """Everything a submit script says.

    Attributes
    ----------
    taskfile
        The disBatch task file (absolute).
    job_name
        SLURM job name.
    gpu
        GPU node (``--gres gpu:1``) rather than CPU node.
    ntasks, cpus_per_task
        ``-n`` and ``-c``.
    time_s
        Time limit in seconds.
    log_dir
        Batch log and disBatch status files (absolute, under the output root).
    partition, constraint
        ``-p`` and ``-C``, or ``None`` for none.
    bin_dir
        Directory put first on ``PATH`` (where ``disBatch`` and the Python
        that wrote the task file live).
    exclusive
        The node to this job alone (``--exclusive``): for tasks that time
        themselves, whom other jobs on the node would disturb.
    """

    taskfile: Path
    job_name: str
    gpu: bool
    ntasks: int
    cpus_per_task: int
    time_s: int
    log_dir: Path
    partition: str | None = None
    constraint: str | None = None
    bin_dir: Path = Path(sys.executable).parent
    exclusive: bool = False

    def path(self) -> Path:
        """Where the script goes: beside the task file."""
        return self.taskfile.with_name(self.taskfile.stem + ".sbatch")

    def status_prefix(self) -> str:
        """The ``disBatch -p`` prefix: files named after the task file and job."""
        return str(self.log_dir / f"{self.taskfile.stem}-job")

    def render(self) -> str:
        """The script's text.

        Raises
        ------
        UsageError
            If a value holds a line break or other control character: it
            would start a line of its own in the script.
        """
        for value in (self.taskfile, self.job_name, self.log_dir, self.bin_dir,
                      self.partition or "", self.constraint or ""):
            check_one_line(value, "a batch script")
        # sbatch reads #SBATCH values with simple quoting of its own: each is
        # quoted whole, and one holding a quote or backslash is refused
        for value in (self.job_name, self.log_dir, self.partition or "",
                      self.constraint or ""):
            if any(c in str(value) for c in "'\"\\"):
                raise UsageError(f"{str(value)!r} holds a quote or backslash, "
                                 "which cannot go into an #SBATCH line (rename it)")
        for value in (self.partition, self.constraint):
            if value is not None and not _TOKEN.fullmatch(value):
                raise UsageError(f"{value!r} is not one SLURM name: it cannot "
                                 "go into an #SBATCH line")
        q = shlex.quote
        lines = [
            "#!/bin/bash",
            f"# Runs the disBatch task file {self.taskfile}",
            f"# (written by plenexp's task writer). Submit: sbatch {self.path()}",
            "# Resume a killed job (time limit, scancel, node failure): pass its",
            "# disBatch status file(s); only tasks that did not finish run again",
            "# (after a time limit, give a longer one: sbatch --time ... <script>):",
            f"#   sbatch {self.path()} {self.status_prefix()}<JOBID>_status.txt",
            f"#SBATCH -J {q(self.job_name)}",
        ]
        if self.partition:
            lines.append(f"#SBATCH -p {q(self.partition)}")
        if self.constraint:
            lines.append(f"#SBATCH -C {q(self.constraint)}")
        if self.gpu:
            lines.append("#SBATCH --gres gpu:1")
        if self.exclusive:
            lines.append("#SBATCH --exclusive")
        lines += [
            f"#SBATCH -n {self.ntasks}",
            f"#SBATCH -c {self.cpus_per_task}",
            f"#SBATCH --time {format_time(self.time_s)}",
            # sbatch expands %x, %j... in the -o path: a % of the root doubled
            f"#SBATCH -o {q(str(self.log_dir).replace('%', '%%') + '/%x-%j.out')}",
            "set -euo pipefail",
            f"export PATH={q(str(self.bin_dir))}:$PATH",
            "resume=()",
            'for status in "$@"; do resume+=(-r "$status"); done',
            '[ ${#resume[@]} -eq 0 ] || resume+=(-R)',
            f'exec disBatch "${{resume[@]}}" -p {q(self.status_prefix())}'
            '"$SLURM_JOB_ID" ' + q(str(self.taskfile)),
        ]
        return "\n".join(lines) + "\n"

    def write(self) -> Path:
        """Write the script (atomically) and make its log directory."""
        path = self.path()
        text = self.render()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:  # never through a link planted there
            tmp.write_text(text)
            tmp.chmod(0o755)
        return path


def script_for(args: argparse.Namespace, taskfile: Path, costs: Sequence[float],
               device: str, job_name: str, grid_dir: Path,
               one_at_a_time: bool = False) -> Script:
    """The submit script for a task file, from the writer's parsed options.

    Parameters
    ----------
    args
        The writer's options (``add_arguments``' and ``--threads``).
    taskfile
        The task file.
    costs
        Estimated seconds of its tasks, in file order.
    device
        The runs' device (normalized).
    job_name
        SLURM job name.
    grid_dir
        The grid's output directory; logs go to its ``slurm/``.
    one_at_a_time
        The tasks time themselves against each other: one disBatch slot
        unless ``--ntasks`` says otherwise, on a node of the job's own.
    """
    gpu = is_gpu(device)
    kind = "gpu" if gpu else "cpu"
    ntasks = args.ntasks or (1 if one_at_a_time else
                             max(1, min(len(costs), DEFAULT_NTASKS[kind])))
    constraint = args.constraint
    if constraint is None:
        constraint = None if gpu else CPU_CONSTRAINT
    elif constraint.lower() == "none":
        constraint = None
    partition = args.partition or (GPU_PARTITION if gpu else None)
    return Script(
        taskfile=Path(taskfile).resolve(), job_name=job_name, gpu=gpu,
        ntasks=ntasks, cpus_per_task=args.cpus_per_task or args.threads,
        time_s=args.time or time_limit(costs, ntasks),
        log_dir=Path(grid_dir).resolve() / LOG_DIR, partition=partition,
        constraint=constraint, exclusive=one_at_a_time)
