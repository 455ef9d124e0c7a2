"""Run a task file through disBatch on this machine's cores and report failures.

Usage: ``python -m plenexp.disbatch_local TASKFILE [--cores N]``. disBatch's own
logs and status file go to ``disbatch_logs/`` beside the task file; a task that
failed is named with its log, and the exit status is 1 if any did.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import cli
from .tasks import safe_name


def failed_tasks(status_file: Path) -> list[str]:
    """Command lines of the tasks that exited non-zero, from a disBatch status file."""
    failed = []
    for line in status_file.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 6 and fields[6].strip().lstrip("-").isdigit() \
                and int(fields[6]) != 0:
            failed.append(fields[-1])
    return failed


def log_of(command: str) -> str:
    """The log file a task line redirects to."""
    words = shlex.split(command)
    return words[words.index(">") + 1] if ">" in words else "?"


def run(taskfile: Path, cores: int) -> int:
    """Run ``taskfile`` with ``cores`` tasks at a time; return the exit status."""
    n_tasks = sum(1 for line in taskfile.read_text().splitlines() if line.strip())
    if n_tasks == 0:
        print(f"{taskfile}: no tasks to run")
        return 0
    disbatch = shutil.which("disbatch") or str(Path(sys.executable).parent / "disbatch")
    log_dir = taskfile.parent / "disbatch_logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    prefix_name = f"{safe_name(taskfile.stem)}_{time.strftime('%Y%m%d-%H%M%S')}"
    # disBatch breaks on a log path with spaces (its helper script is called
    # unquoted): it logs into a plain temporary directory, moved here after.
    scratch = Path(tempfile.mkdtemp(prefix="plenexp-disbatch-"))
    print(f"running {n_tasks} task(s) from {taskfile} on {cores} core(s)...",
          flush=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run([disbatch, "-s", f"localhost:{cores}", "-p",
                               str(scratch / prefix_name), str(taskfile.resolve())],
                              cwd=scratch)
    finally:
        for path in scratch.iterdir():
            shutil.move(path, log_dir / path.name)
        scratch.rmdir()
    elapsed = time.perf_counter() - start
    status = log_dir / f"{prefix_name}_status.txt"
    failed = failed_tasks(status) if status.exists() else []
    print(f"{n_tasks - len(failed)}/{n_tasks} task(s) succeeded in {elapsed:.1f} s "
          f"(status: {status})")
    for command in failed:
        print(f"  failed: see {log_of(command)}")
    return 1 if failed or proc.returncode else 0


def main() -> None:
    """Command-line entry point."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("taskfile", type=Path)
    parser.add_argument("--cores", type=cli.positive_int, default=os.cpu_count(),
                        help="tasks at a time (default: all cores)")
    args = parser.parse_args()
    if not args.taskfile.is_file():
        raise cli.UsageError(f"no task file at {args.taskfile}")
    sys.exit(run(args.taskfile, args.cores))


if __name__ == "__main__":
    cli.run(main)
