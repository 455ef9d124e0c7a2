"""Errors every script reports the same way, and the count of skipped files.

Bad input is a :class:`UsageError` (one line, exit status 2); a run that went
wrong a :class:`RunFailed` (one line, exit status 1). Files a summary or
analysis had to skip are reported one line each with :func:`report`; the
script then finishes its work and exits with status 1 (:func:`plenexp.cli.run`).
"""

from __future__ import annotations

import errno
import os
import sys

from plenexp.text import breaks_line, one_line


class UsageError(Exception):
    """Bad input from the user: reported as one line, exit status 2."""


class RunFailed(Exception):
    """A run that went wrong (e.g. its loss is not finite): one line, exit status 1."""


class BadFile(OSError, ValueError):
    """A file a run directory should not hold where a result is read.

    A FIFO, device, socket or directory, a symlink leading out of the run, or
    a file over the size cap of its kind (``plenexp.runs.files``). Both an
    ``OSError`` and a ``ValueError``: whatever reports an unreadable file by
    path and goes on reports this one too; at the top of a script it is one
    line and exit status 1 (``plenexp.cli.run``).
    """

    def __init__(self, path: str, why: str) -> None:
        super().__init__(None, why, path)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


#: Errors of the output location (full, read-only, not a directory): one line.
OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES,
                           errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR,
                           errno.ENAMETOOLONG})

_problems = 0
_reported: list[str] = []


def note_problems(n: int = 1) -> None:
    """Count files skipped as bad; the script then exits with status 1 at the end."""
    global _problems
    _problems += n


def problem_count() -> int:
    """How many files or rows this process has reported as skipped."""
    return _problems


def reported() -> list[str]:
    """Every problem line :func:`report` printed in this process, in order."""
    return list(_reported)


def report(problems: list[str]) -> None:
    """Print each problem on standard error, one line each, and count them."""
    for line in problems:
        print(f"skipped {one_line(line)}", file=sys.stderr, flush=True)
        _reported.append(one_line(line))
    if problems:
        print(f"{len(problems)} file(s) or row(s) skipped", file=sys.stderr)
        note_problems(len(problems))


def where(err: BaseException, default: str | os.PathLike) -> str | os.PathLike:
    """The file an error names (a FIFO ``metamer.pt`` in a run), else ``default``."""
    return getattr(err, "filename", None) or default


def describe(err: BaseException) -> str:
    """An error in a few words, on one line, without a traceback."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_one_line(value: object, where: str) -> None:
    """Refuse a value that would break the line it goes into (``where``).

    Raises
    ------
    UsageError
        If ``str(value)`` holds a line break or other control character.
    """
    if breaks_line(value):
        raise UsageError(f"{str(value)!r} holds a line break or control "
                         f"character, which cannot go into {where}")
