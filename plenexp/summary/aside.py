"""Building a summary directory aside and publishing it in one step.

A summary writes several tables, texts and figures. Written in place, a bad
file met half-way (or a kill) would leave the directory half old, half new.
:func:`built_aside` gives a hidden sibling directory to write into, starting
as a copy of the earlier summary (what this summary does not write again
stays), and puts it in place of the
earlier one in one step when the block ends (``rundir.exchange``, as a run is
republished). If the block raises, the earlier summary is left as it was.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.runs import rundir

#: Written into a summary that left runs or files out: which, and why.
SKIPPED_FILE = "skipped.txt"
T = TypeVar("T")


def _holds_runs(directory: Path) -> bool:
    if rundir.is_done(directory):
        return True
    try:
        with os.scandir(directory) as entries:
            return any(not e.name.startswith(".") and e.is_dir(follow_symlinks=False)
                       and rundir.is_done(e.path) for e in entries)
    except OSError:
        return False


@contextmanager
def built_aside(output_dir: str | os.PathLike) -> Iterator[Path]:
    """Give a hidden directory that becomes ``output_dir`` when the block ends.

    ``with built_aside(output_dir) as out: ...`` writes the summary into
    ``out``; at the end, every problem this process reported
    (``errors.report``: the runs and files left out) goes into
    ``skipped.txt``, and ``out`` replaces ``output_dir`` at once. A symlink
    at ``output_dir`` is replaced, never written through.

    Raises
    ------
    UsageError
        If ``output_dir`` is a file, or holds finished runs (a summary is
        never published over the runs themselves).
    """
    final = Path(output_dir)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.lstat(final).st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not (stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise UsageError(f"{final} exists and is not a directory: give a "
                         "summary directory")
    if mode is not None and stat.S_ISDIR(mode) and _holds_runs(final):
        raise UsageError(f"{final} holds finished runs: give a summary "
                         "directory of its own (e.g. a new one)")
    for stale in rundir._leftovers(final, "building"):
        shutil.rmtree(stale, ignore_errors=True)
    aside = rundir.hidden_dir(final, "building")
    _remove(aside)
    aside.mkdir()
    # removed by a SIGTERM that cannot unwind (one during an import)
    rundir.LIVE_PARTIALS[aside] = []
    try:
        if mode is not None and stat.S_ISDIR(mode):
            _copy_summary(final, aside)
        (aside / SKIPPED_FILE).unlink(missing_ok=True)
        yield aside
        if skipped := errors.reported():
            with rundir.atomic_path(aside / SKIPPED_FILE) as tmp:
                # a path that is not UTF-8 (bytes from another system) escaped
                tmp.write_text(f"{len(skipped)} run(s) or file(s) left out of "
                               "this summary:\n" + "".join(
                                   f"  {line}\n" for line in skipped),
                               encoding="utf-8", errors="backslashreplace")
        _publish(aside, final)
    except BaseException:
        shutil.rmtree(aside, ignore_errors=True)
        raise
    finally:
        rundir.LIVE_PARTIALS.pop(aside, None)


#: Largest file of an earlier summary carried into the next one.
_COPY_MAX_BYTES = 1024 * 1024 * 1024


def _copy_summary(source: Path, target: Path) -> None:
    """Copy an earlier summary's regular files and directories into ``target``.

    Copies, not hard links: a writer that rewrites a file in place must never
    change the earlier summary. Anything else planted there (a symlink, which
    the new summary would write through, a FIFO, which would block the copy,
    a socket or device) is left out and reported (``errors.report``).
    Hidden entries (leftovers of other writers) are left out silently.
    """
    from plenexp.runs import files

    with os.scandir(source) as scan:
        entries = sorted(scan, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path, copy = Path(entry.path), target / entry.name
        if entry.is_dir(follow_symlinks=False):
            copy.mkdir()
            _copy_summary(path, copy)
            continue
        try:
            if entry.is_symlink():  # even one leading inside: written through
                raise errors.BadFile(str(path), "a symlink, not a file of its own")
            with files.open_regular(path, _COPY_MAX_BYTES) as src, \
                    open(copy, "xb") as dst:
                shutil.copyfileobj(src, dst)
            shutil.copystat(path, copy, follow_symlinks=False)
        except (OSError, ValueError) as err:
            errors.report([f"{path}: {errors.describe(err)}; left out of the "
                           "new summary"])


def _publish(aside: Path, final: Path) -> None:
    """Put ``aside`` where ``final`` is, in one step where the system can."""
    if not os.path.lexists(final):
        os.rename(aside, final)
        return
    if rundir.exchange(aside, final):
        _remove(aside)  # now the earlier summary
        return
    old = rundir.hidden_dir(final, "replaced")
    _remove(old)
    os.rename(final, old)  # a symlink itself, never its target
    try:
        os.rename(aside, final)
    except BaseException:
        if not os.path.lexists(final):
            os.rename(old, final)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    """Remove a directory tree, or a symlink itself (never what it leads to)."""
    if os.path.islink(path) or os.path.isfile(path):
        path.unlink()
    elif os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def publishes_aside(summarize: Callable[..., T]) -> Callable[..., T]:
    """Make ``summarize(input_dir, output_dir, ...)`` write through :func:`built_aside`.

    The decorated function writes into the hidden sibling it is given as
    ``output_dir``; the summary appears at ``output_dir`` at once when it
    returns, and the earlier one stays whole if it raises.
    """
    @functools.wraps(summarize)
    def wrapper(input_dir, output_dir, *args, **kwargs):
        with built_aside(output_dir) as out:
            return summarize(input_dir, out, *args, **kwargs)

    return wrapper
