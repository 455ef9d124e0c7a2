"""Reading a run's files safely: regular files only, of a bounded size.

A run directory is read by summaries, reports, loaders and analyses that must
never hang or run out of memory on what it holds: a FIFO in place of a table
(opening one waits for a writer), a link to ``/dev/zero`` (never ends), a
socket, or a symlink leading out of the run. :func:`open_regular` opens a
file only if it is a regular file, non-blocking (so a FIFO that appears
between the look and the open cannot stall it), and no larger than the cap of
its kind (:data:`MAX_BYTES`). Anything else raises :class:`BadFile`, an
``OSError`` and a ``ValueError`` at once, so every caller that reports an
unreadable file by path and goes on reports this one too.

Symlinks: a symlink as the file itself is followed only when it resolves
inside ``root`` (by default the directory holding the link, i.e. the run
directory): a run's table may be a link to a file of the same run, never to a
file elsewhere. Directories above the file may be symlinks (aliases of runs
are found by ``rundir.done_runs`` and counted once).
"""

from __future__ import annotations

import json
import os
import stat
from typing import BinaryIO

from plenexp.errors import BadFile

MiB = 1024 * 1024
#: Largest file read, by suffix; others get :data:`DEFAULT_MAX_BYTES`.
MAX_BYTES = {
    ".csv": 16 * MiB,
    ".json": 1 * MiB,
    ".txt": 1 * MiB,
    # saved metamers (with their progress, if stored) and representations
    ".pt": 2048 * MiB,
    ".mat": 256 * MiB,
}
DEFAULT_MAX_BYTES = 64 * MiB
#: The largest table read (also the CSV field size limit of ``results``).
CSV_MAX_BYTES = MAX_BYTES[".csv"]

_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
          | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0))


def max_bytes_for(path: str | os.PathLike) -> int:
    """The size cap of a file of this kind (by suffix)."""
    return MAX_BYTES.get(os.path.splitext(os.fspath(path))[1].lower(),
                         DEFAULT_MAX_BYTES)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _inside(path: str, base: str) -> bool:
    try:
        return os.path.commonpath([path, base]) == base
    except ValueError:  # different drives
        return False


def open_regular(path: str | os.PathLike, max_bytes: int | None = None,
                 root: str | os.PathLike | None = None) -> BinaryIO:
    """Open a regular file for reading in binary, refusing anything else.

    Parameters
    ----------
    path
        The file.
    max_bytes
        Largest size accepted (default: :func:`max_bytes_for` its suffix).
    root
        A symlink at ``path`` is followed only if it resolves inside this
        directory (default: the directory holding ``path``).

    Raises
    ------
    FileNotFoundError
        If nothing is there (callers tell a missing file from a bad one).
    BadFile
        If it is a directory, FIFO, device or socket, a symlink leading out
        of ``root``, larger than the cap, or changed while being opened.
    OSError
        If it cannot be read (permissions, a looping symlink).
    """
    fd, _ = _open_checked(os.fspath(path), max_bytes, root)
    try:
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_checked(path: str, max_bytes: int | None,
                  root: str | os.PathLike | None) -> tuple[int, int]:
    """:func:`open_regular`'s checks; the open descriptor and the file's size."""
    cap = max_bytes_for(path) if max_bytes is None else max_bytes
    target = path
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        base = os.path.realpath(root if root is not None
                                else os.path.dirname(path) or ".")
        if not _inside(real, base):
            raise BadFile(path, f"a symlink leading outside {base} (to {real})")
        target = real
        st = os.stat(target)
    if not stat.S_ISREG(st.st_mode):
        raise BadFile(path, f"{_kind(st.st_mode)}, not a regular file")
    if st.st_size > cap:
        raise BadFile(path, f"{st.st_size} bytes, over the {cap}-byte limit "
                      "for this kind of file")
    fd = os.open(target, _FLAGS)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (
                st.st_dev, st.st_ino):
            raise BadFile(path, "replaced while being opened")
    except BaseException:
        os.close(fd)
        raise
    return fd, now.st_size


def read_bytes(path: str | os.PathLike, max_bytes: int | None = None,
               root: str | os.PathLike | None = None) -> bytes:
    """The content of a regular file (see :func:`open_regular`)."""
    path = os.fspath(path)
    cap = max_bytes_for(path) if max_bytes is None else max_bytes
    fd, size = _open_checked(path, cap, root)
    # plain reads of the descriptor (summaries read tens of thousands of
    # small files: a buffered file object costs more than the reading); the
    # size it has first (a buffer of the cap for a small file costs more than
    # reading it), then the rest if it grew meanwhile, never past the cap
    chunks, total = [], 0
    try:
        while total <= cap:
            chunk = os.read(fd, min(cap + 1 - total,
                                    max(size + 1 - total, 1 << 16)))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > cap:  # grew after the look
        raise BadFile(path, f"over the {cap}-byte limit for this kind of file")
    return b"".join(chunks)


def read_text(path: str | os.PathLike, max_bytes: int | None = None,
              root: str | os.PathLike | None = None) -> str:
    """The UTF-8 text of a regular file (``UnicodeDecodeError`` if not UTF-8)."""
    return read_bytes(path, max_bytes, root).decode("utf-8")


def read_json(path: str | os.PathLike, max_bytes: int | None = None,
              root: str | os.PathLike | None = None) -> object:
    """The JSON content of a regular file (``ValueError`` if not JSON)."""
    return json.loads(read_text(path, max_bytes, root))
