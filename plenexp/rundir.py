"""Atomic run directories.

A run is written under a hidden temporary name and renamed into place only
after its completion marker is written, so a killed run never looks finished
and a rerun replaces the earlier result in one step.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .cli import UsageError

#: Written last into a run directory; its presence means the run is complete.
DONE_MARKER = "done.json"
#: Written by ``time_process.sh`` after the process exits: whole-process seconds.
PROCESS_TIME = "process_time.json"
#: ``time_process.sh`` sets this to a file where the finished run's path goes.
RUN_DIR_RECORD_ENV = "PLENEXP_RUN_DIR_RECORD"
_PUBLISH_ATTEMPTS = 100


def is_done(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a complete run."""
    return (Path(run_dir) / DONE_MARKER).is_file()


def check_replaceable(final: str | os.PathLike) -> None:
    """Refuse to put a run where something other than a finished run stands.

    Only a finished run of this project (its ``done.json``) or an empty
    directory may be replaced: a run pointed at a folder of the user's own files
    must never delete them.

    Raises
    ------
    UsageError
        If ``final`` is a file, or a directory that is not empty and holds no
        finished run.
    """
    final = Path(final)
    if not os.path.lexists(final):
        return
    if final.is_symlink() or not final.is_dir():
        raise UsageError(f"{final} exists and is not a run directory: "
                         "give a new or finished run's directory")
    if is_done(final):
        return
    if any(os.scandir(final)):
        raise UsageError(f"{final} is a directory that holds no finished run "
                         "(no done.json): refusing to replace it; give a new "
                         "directory")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Give a hidden temporary path that replaces ``path`` when the block ends.

    Readers never see a half-written file: the temporary file sits beside
    ``path`` (same file system, so the rename is atomic) and is removed if the
    block raises.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write JSON to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(final: Path) -> None:
    # Leftovers of killed attempts at the same run; a live attempt is left alone.
    for partial in final.parent.glob(f".{final.name}.partial-*"):
        try:
            pid = int(partial.name.rsplit("-", 1)[-1])
        except ValueError:
            continue
        if not _pid_alive(pid):
            shutil.rmtree(partial, ignore_errors=True)


def publish(tmp: Path, final: Path, marker: dict | None = None) -> None:
    """Write the completion marker into ``tmp`` and move it to ``final``.

    Parameters
    ----------
    tmp
        The finished temporary run directory.
    final
        Where the run should appear. An earlier finished run there is replaced;
        anything else there is refused (:func:`check_replaceable`).
    marker
        Extra content for the completion marker.

    Raises
    ------
    UsageError
        If ``final`` is neither absent, empty, nor a finished run.
    """
    check_replaceable(final)
    write_json(tmp / DONE_MARKER, {"finished": time.time(), **(marker or {})})
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    # Two attempts at the same run finishing at once (a resubmitted task)
    # race between the two renames; the loser retries, the last one wins.
    for _ in range(_PUBLISH_ATTEMPTS):
        try:
            if final.exists():
                check_replaceable(final)
                os.replace(final, old)
            os.replace(tmp, final)
            break
        except FileNotFoundError:
            continue  # the other writer moved ``final`` away first
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            continue  # the other writer published between our renames
        finally:
            shutil.rmtree(old, ignore_errors=True)
    else:
        raise OSError(f"could not publish {final}: other writers kept replacing it")
    record = os.environ.get(RUN_DIR_RECORD_ENV)
    if record:
        Path(record).write_text(str(final.resolve()) + "\n")


@contextmanager
def atomic_run_dir(final: str | os.PathLike) -> Iterator[Path]:
    """Give a temporary directory that becomes ``final`` on success.

    Parameters
    ----------
    final
        The run directory to create, or a finished run to replace. Anything
        else there is refused before any work starts.

    Yields
    ------
    tmp
        The directory to write the run's files into. If the block raises (or
        the process is terminated), it is removed and ``final`` is untouched.
    """
    final = Path(final)
    check_replaceable(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(final)
    tmp = final.with_name(f".{final.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def done_runs(root: str | os.PathLike) -> Iterator[Path]:
    """Every complete run directory below ``root``, hidden ones skipped.

    Uses ``os.scandir`` and plain strings rather than globbing and ``Path``
    objects: summaries walk tens of thousands of run directories.
    """
    root = os.fspath(root)
    stack = [root]
    while stack:
        current = stack.pop()
        if current != root and os.path.isfile(os.path.join(current, DONE_MARKER)):
            yield Path(current)  # one stat per run, no listing
            continue
        try:
            entries = list(os.scandir(current))
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        names = {e.name for e in entries}
        if DONE_MARKER in names:
            yield Path(current)
            continue
        stack.extend(
            e.path
            for e in sorted(entries, key=lambda e: e.name, reverse=True)
            if e.is_dir() and not e.name.startswith(".")
        )


def read_process_time(run_dir: str | os.PathLike) -> float | None:
    """Whole-process seconds recorded by ``time_process.sh``, if any."""
    try:
        with open(os.path.join(run_dir, PROCESS_TIME)) as f:
            data = json.load(f)
        return float(data["elapsed_s"])
    except (FileNotFoundError, KeyError, ValueError, TypeError):
        return None


def finished_runs(dirs: Sequence[Path]) -> list[Path]:
    """Every finished run in or below ``dirs`` (run directories or parents).

    Raises
    ------
    UsageError
        If a directory does not exist or none holds a finished run.
    """
    for path in dirs:
        if not path.is_dir():
            raise UsageError(f"no such directory: {path}")
    runs = [run for path in dirs for run in done_runs(path)]
    if not runs:
        raise UsageError("no finished runs (with done.json) under "
                         + ", ".join(map(str, dirs)))
    return runs


def plot_destinations(run_dirs: list[Path], output_dir: Path | None = None
                      ) -> list[tuple[Path, Path]]:
    """Pair each finished run with where its figures go.

    Figures go into the run itself, or into ``output_dir``; with several runs,
    one subdirectory per run there, so no run's figures overwrite another's.

    Raises
    ------
    UsageError
        If a directory is not a finished run.
    """
    for run in run_dirs:
        if not is_done(run):
            raise UsageError(f"{run} is not a finished run (no done.json)")
    if output_dir is None:
        return [(run, run) for run in run_dirs]
    if len(run_dirs) == 1:
        return [(run_dirs[0], output_dir)]
    return [(run, output_dir / run.name) for run in run_dirs]
