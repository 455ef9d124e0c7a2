"""Run a task file through disBatch on this machine's cores and report failures.

Usage: ``python -m plenexp.cluster.disbatch_local TASKFILE [--cores N]``. disBatch's own
logs and status file go to ``disbatch_logs/`` beside the task file; a task that
failed is named with its log, and the exit status is 1 if any did.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from plenexp import cli, errors
from plenexp.cluster import tasks
from plenexp.cluster.tasks import safe_name
from plenexp.runs import files

#: Seconds disBatch and its tasks get to stop after SIGTERM, before SIGKILL.
STOP_GRACE_S = 20.0


def failed_tasks(status_file: Path) -> list[str]:
    """Command lines of the tasks that exited non-zero, from a disBatch status file."""
    failed = []
    for line in status_file.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 6 and fields[6].strip().lstrip("-").isdigit() \
                and int(fields[6]) != 0:
            failed.append(fields[-1])
    return failed


def finished_tasks(status_file: Path) -> int:
    """How many tasks a disBatch status file records as ended (any status)."""
    n = 0
    for line in status_file.read_text().splitlines():
        fields = line.split("\t")
        if len(fields) > 6 and fields[6].strip().lstrip("-").isdigit() \
                and "S" not in fields[0]:
            n += 1
    return n


def log_of(command: str) -> str:
    """The log file a task line redirects to."""
    words = shlex.split(command)
    return words[words.index(">") + 1] if ">" in words else "?"


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``; elsewhere none are found)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        ppid = int(text.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal_groups(groups: set[int], signum: int) -> None:
    for group in groups:
        try:
            os.killpg(group, signum)
        except (ProcessLookupError, PermissionError):
            pass


def stop(proc: subprocess.Popen, grace_s: float = STOP_GRACE_S) -> None:
    """Pass SIGTERM to disBatch and each task it runs, then SIGKILL what is left.

    disBatch runs each task in a session of its own, so the tasks are found
    below it and signalled group by group: ``time_process.sh`` passes the
    signal on to the run, which removes its partial directory.
    """
    stop_tree(proc.pid, grace_s, proc.poll)
    proc.wait()


def stop_tree(top: int, grace_s: float = STOP_GRACE_S, done=lambda: True) -> None:
    """SIGTERM to the process groups of ``top`` and below, then SIGKILL."""
    mine = os.getpgrp()
    groups = {top}
    for pid in _descendants(top):
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    groups.discard(mine)
    _signal_groups(groups, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        alive = set()
        for group in groups:
            try:
                os.killpg(group, 0)
                alive.add(group)
            except (ProcessLookupError, PermissionError):
                pass
        if not alive and done() is not None:
            break
        time.sleep(0.1)
    _signal_groups(groups, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # in the guard, between fork and exec
    import ctypes

    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def keep_logs(scratch: Path, log_dir: Path) -> None:
    """Move disBatch's logs (its status file among them) from ``scratch``."""
    for path in scratch.iterdir():
        shutil.move(path, log_dir / path.name)
    scratch.rmdir()


def start_guard(disbatch: int, scratch: Path, log_dir: Path
                ) -> subprocess.Popen | None:
    """A process that stops disBatch and its tasks if this one dies (SIGKILL).

    disBatch runs in a session of its own, which no signal to this process
    reaches; killed outright, this process could not stop it, and its tasks
    would go on publishing while nobody reports them. The guard is told by
    the kernel (Linux ``PR_SET_PDEATHSIG``) when its parent dies; elsewhere
    there is no guard.
    """
    if not sys.platform.startswith("linux"):
        return None
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from plenexp.cluster.disbatch_local "
         "import guard; guard(int(sys.argv[1]), *sys.argv[2:])", str(disbatch),
         str(scratch), str(log_dir)],
        preexec_fn=_die_with_parent, start_new_session=True,
        stdin=subprocess.DEVNULL, env={**os.environ,
                                       "PYTHONPATH": os.pathsep.join(sys.path)})


def guard(disbatch: int, scratch: str | None = None, log_dir: str | None = None
          ) -> None:
    """Wait; on SIGTERM (the parent died), stop ``disbatch`` and its tasks.

    Then disBatch's logs go where the parent would have put them: the status
    file of what finished is what a resume (``-r STATUS -R``) needs.
    """
    def stop_all(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_tree(disbatch)
        if scratch and log_dir:
            try:
                keep_logs(Path(scratch), Path(log_dir))
            except OSError:
                pass  # nothing more to do from here
        os._exit(0)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if os.getppid() == 1:  # the parent died before the guard was set
        stop_all(signal.SIGTERM, None)
    while True:
        time.sleep(3600)


def _open_file_limit() -> int | None:
    try:
        import resource
    except ImportError:
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return None if soft == resource.RLIM_INFINITY else soft


#: The largest task file read (100,000 task lines of about 1 kB).
TASKFILE_MAX_BYTES = 128 * files.MiB


def read_taskfile(taskfile: Path) -> str:
    """A task file's text: a regular file, capped, UTF-8 without NUL bytes.

    Raises
    ------
    UsageError
        For anything else (a FIFO, a huge or binary file), in one line.
    """
    try:
        text = files.read_text(taskfile, TASKFILE_MAX_BYTES,
                               root=Path(taskfile).resolve().parent)
    except UnicodeDecodeError:
        raise errors.UsageError(f"{taskfile}: not a task file (not UTF-8 text)"
                                ) from None
    except (OSError, ValueError) as err:
        raise errors.UsageError(f"{taskfile}: not a task file "
                                f"({errors.describe(err)})") from None
    if "\0" in text:
        raise errors.UsageError(f"{taskfile}: not a task file (holds NUL bytes)")
    return text


def run(taskfile: Path, cores: int) -> int:
    """Run ``taskfile`` with ``cores`` tasks at a time; return the exit status.

    On SIGTERM or Ctrl-C, disBatch and its tasks are stopped (:func:`stop`),
    what finished is reported, and the interruption goes on.
    """
    # "#" lines are comments and #DISBATCH directives, not tasks
    n_tasks = sum(1 for line in read_taskfile(taskfile).splitlines()
                  if line.strip() and not line.lstrip().startswith("#"))
    if n_tasks == 0:
        print(f"{taskfile}: 0 tasks to run (only blank lines or comments)")
        return 0
    # disBatch keeps files open per slot, and slows down with idle slots
    cores = min(cores, n_tasks)
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
    interrupted: BaseException | None = None
    try:
        proc = subprocess.Popen([disbatch, "-s", f"localhost:{cores}", "-p",
                                 str(scratch / prefix_name),
                                 str(taskfile.resolve())],
                                cwd=scratch, start_new_session=True)
        guard = start_guard(proc.pid, scratch, log_dir)
        try:
            proc.wait()
        except (SystemExit, KeyboardInterrupt) as err:  # SIGTERM, Ctrl-C
            interrupted = err
            print("interrupted: stopping disBatch and its tasks...", flush=True)
            for signum in (signal.SIGTERM, signal.SIGINT):  # a second one waits
                signal.signal(signum, signal.SIG_IGN)
            stop(proc)
        finally:
            if guard is not None:
                guard.kill()  # its work is done: no parent death to act on
                guard.wait()
    finally:
        keep_logs(scratch, log_dir)
    elapsed = time.perf_counter() - start
    status = log_dir / f"{prefix_name}_status.txt"
    failed = failed_tasks(status) if status.exists() else []
    finished = finished_tasks(status) if status.exists() else 0
    if interrupted is not None:
        print(f"{finished - len(failed)}/{n_tasks} task(s) succeeded before the "
              f"interruption, after {elapsed:.1f} s (status: {status})")
    else:
        print(f"{n_tasks - len(failed)}/{n_tasks} task(s) succeeded in "
              f"{elapsed:.1f} s (status: {status})")
    for command in failed:
        print(f"  failed: see {log_of(command)}")
    if interrupted is not None:
        raise interrupted
    return 1 if failed or proc.returncode else 0


def main() -> None:
    """Command-line entry point."""
    parser = cli.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("taskfile", type=Path)
    parser.add_argument("--cores", type=cli.positive_int, default=None,
                        help="tasks at a time (default: all cores, or 1 where the "
                        "task file asks for one at a time)")
    args = parser.parse_args()
    if not args.taskfile.is_file():
        raise errors.UsageError(f"no task file at {args.taskfile}")
    text = read_taskfile(args.taskfile)
    if args.cores is None:
        if tasks.wants_one_at_a_time(text):
            print("the task file asks for one task at a time (--cores overrides)")
            args.cores = 1
        else:
            args.cores = os.cpu_count() or 1
    limit = _open_file_limit()
    if limit is not None and args.cores > limit:
        raise errors.UsageError(
            f"--cores {args.cores} is above this shell's open-file limit "
            f"({limit}; see ulimit -n): disBatch could not run that many at once")
    sys.exit(run(args.taskfile, args.cores))


if __name__ == "__main__":
    cli.run(main)
