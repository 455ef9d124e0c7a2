"""Atomic run directories.

A run is written under a hidden temporary name and renamed into place only
after its completion marker is written, so a killed run never looks finished
and a rerun replaces the earlier result in one step.

Hidden directories are named after the attempt that owns them, host and
process id (``.<run>.partial-<host>-<pid>``, ``.<run>.old-<host>-<pid>``), and
a live attempt touches its directory every :data:`HEARTBEAT_S` seconds. On
shared storage another node's attempt cannot be asked whether it lives: its
leftovers are removed only once untouched for :data:`STALE_AFTER_S` seconds.
"""

from __future__ import annotations

import ctypes
import errno
import json
import math
import os
import re
import shutil
import socket
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from plenexp import errors
from plenexp.errors import BadFile, UsageError
from plenexp.runs import files

#: Written last into a run directory; its presence means the run is complete.
DONE_MARKER = "done.json"
#: ``time_process.sh`` sets this to a file where the finished run's path goes.
RUN_DIR_RECORD_ENV = "PLENEXP_RUN_DIR_RECORD"
_PUBLISH_ATTEMPTS = 100
#: A live attempt touches its hidden directory this often (seconds).
HEARTBEAT_S = 60.0
#: Hidden leftovers untouched this long (seconds) are dead wherever they ran.
STALE_AFTER_S = 3600.0
#: This host, as it appears in hidden directory names.
HOST = re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def is_done(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a complete run (its marker is a file)."""
    return (Path(run_dir) / DONE_MARKER).is_file()


def unpublished(run_dir: str | os.PathLike) -> str | None:
    """Why ``run_dir`` is not a published run (``None`` if it is one).

    A published run's ``done.json`` is a regular JSON file (no FIFO, device or
    link out of the run, see :mod:`plenexp.runs.files`) that :func:`publish`
    wrote: a JSON object (its ``finished`` time, where given, a number).
    """
    path = os.path.join(run_dir, DONE_MARKER)
    try:
        marker = files.read_json(path)
    except FileNotFoundError:
        return "missing (not a published run)"
    except BadFile as err:
        return err.strerror
    except (OSError, ValueError) as err:
        return f"unreadable ({errors.describe(err)})"
    if not isinstance(marker, dict):
        return "not a completion marker (no JSON object)"
    finished = marker.get("finished", 0.0)
    if isinstance(finished, bool) or not isinstance(finished, (int, float)) \
            or not math.isfinite(finished) or finished < 0:
        return f"not a completion marker (finished: {finished!r})"
    return None


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
    # Another attempt at the same run may move ``final`` aside and put its own
    # finished run there between any two of these looks: a path that vanishes
    # is absent, and a refusal is only given after a second look.
    for _ in range(3):
        try:
            mode = os.lstat(final).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return  # absent (creating it reports an unwritable parent)
        if not stat.S_ISDIR(mode):  # a file or link: runs are only directories
            raise UsageError(f"{final} exists and is not a run directory: "
                             "give a new or finished run's directory")
        if is_done(final):
            return
        try:
            with os.scandir(final) as entries:
                empty = not any(entries)
        except (FileNotFoundError, NotADirectoryError):
            return
        if empty or is_done(final):
            return
    raise UsageError(f"{final} is a directory that holds no finished run "
                     "(no done.json): refusing to replace it; give a new "
                     "directory")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Give a hidden temporary path that replaces ``path`` when the block ends.

    Readers never see a half-written file: the temporary file sits beside
    ``path`` (same file system, so the rename is atomic) and is removed if the
    block raises. Nothing planted in the output tree is written through: the
    temporary name is unpredictable and created here (``O_CREAT | O_EXCL``,
    which never follows a symlink), and the rename replaces whatever stands
    at ``path`` (a symlink itself, not its target).
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-",
                                dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp's 0o600 would hide results
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def strict_json(obj: object) -> object:
    """``obj`` with every NaN or infinite float made ``None`` (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike, obj: object) -> None:
    """Write strict JSON to ``path`` atomically (NaN and infinities as null)."""
    text = json.dumps(strict_json(obj), indent=2, allow_nan=False, default=str)
    with atomic_path(path) as tmp:
        tmp.write_text(text + "\n")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (a zombie, dead already, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):  # no /proc (not Linux): it exists
        return True


def hidden_dir(final: Path, kind: str, host: str = HOST,
               pid: int | None = None) -> Path:
    """The hidden ``partial`` or ``old`` directory of one attempt at ``final``."""
    pid = os.getpid() if pid is None else pid
    return final.with_name(f".{final.name}.{kind}-{host}-{pid}")


def _owner(path: Path, prefix: str) -> tuple[str | None, int | None]:
    # ".<run>.partial-<host>-<pid>"; older names carry the pid alone
    host, _, pid = path.name[len(prefix):].rpartition("-")
    try:
        return host or None, int(pid)
    except ValueError:
        return host or None, None


def is_stale(path: Path, host: str | None, pid: int | None,
             now: float | None = None) -> bool:
    """Whether the attempt that left ``path`` is provably over.

    Only an attempt of this host whose process is gone is known dead at once;
    any other (another node on shared storage, or a name without a host) is
    dead only once its directory has been untouched for :data:`STALE_AFTER_S`.
    """
    try:
        age = (time.time() if now is None else now) - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    if age > STALE_AFTER_S:
        return True
    return host == HOST and pid is not None and not pid_alive(pid)


def _leftovers(final: Path, kind: str) -> Iterator[Path]:
    prefix = f".{final.name}.{kind}-"
    for path in final.parent.glob(f"{glob_escape(prefix)}*"):
        if is_stale(path, *_owner(path, prefix)):
            yield path


def glob_escape(text: str) -> str:
    """``text`` with glob's special characters matched literally."""
    return re.sub(r"([*?[])", r"[\1]", text)


def _remove_stale_partials(final: Path) -> None:
    # Leftovers of killed attempts at the same run; a live attempt is left alone.
    for partial in _leftovers(final, "partial"):
        shutil.rmtree(partial, ignore_errors=True)
    recover_replaced(final)


def recover_replaced(final: Path) -> None:
    """Put back, or remove, what an attempt killed while publishing left.

    Where directories cannot be exchanged in one step (:func:`exchange`),
    ``publish`` moves the earlier run aside before moving the new one in; an
    attempt killed between the two leaves the earlier, complete run hidden as
    ``.<run>.old-<host>-<pid>``. It is renamed back when nothing took its
    place, and removed otherwise. Only a real directory is put back: a
    symlink planted under that name is removed, never promoted.
    """
    for old in _leftovers(final, "old"):
        try:
            real_dir = stat.S_ISDIR(os.lstat(old).st_mode)
        except FileNotFoundError:
            continue
        if not real_dir:  # a symlink or file: no run of ours
            old.unlink(missing_ok=True)
            continue
        if is_done(old) and not os.path.lexists(final):
            try:
                os.rename(old, final)
                continue
            except OSError:
                pass
        shutil.rmtree(old, ignore_errors=True)


#: ``renameat2`` flag: swap two paths in one step (Linux >= 3.15).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _find_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        func = libc.renameat2  # glibc >= 2.28
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                     ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


#: ``renameat2`` of the C library, or ``None`` where there is none (then
#: :func:`publish` falls back to two renames).
_EXCHANGE = _find_renameat2()


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; ``False`` if not possible.

    Linux's ``renameat2(RENAME_EXCHANGE)``: at no moment is either path
    missing. ``False`` where the system or file system cannot (macOS, some
    network file systems), for the caller's fallback.

    Raises
    ------
    OSError
        If the swap was possible but failed (one of the paths vanished...).
    """
    if _EXCHANGE is None:
        return False
    if _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                 _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def publish(tmp: Path, final: Path, marker: dict | None = None) -> None:
    """Write the completion marker into ``tmp`` and move it to ``final``.

    A finished run at ``final`` is replaced in one step, so that no reader
    (a summary, ``--skip-done``) ever finds the run missing: the two
    directories are exchanged (:func:`exchange`) and the earlier run, now
    under ``tmp``'s hidden name, is removed. Where the system cannot exchange
    directories, the earlier run is moved aside and the new one in (a kill
    between the two leaves the earlier run hidden, put back by the next
    attempt: :func:`recover_replaced`).

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
    recover_replaced(final)
    old = hidden_dir(final, "old")
    # Two attempts at the same run finishing at once (a resubmitted task)
    # race between the two renames; the loser retries, the last one wins.
    for _ in range(_PUBLISH_ATTEMPTS):
        try:
            if os.path.lexists(final):
                check_replaceable(final)
                if exchange(tmp, final):
                    shutil.rmtree(tmp, ignore_errors=True)  # the earlier run
                    break
                os.replace(final, old)
            os.replace(tmp, final)
            break
        except FileNotFoundError:
            continue  # the other writer moved ``final`` away first
        except BaseException as err:
            if isinstance(err, OSError) and err.errno in (errno.ENOTEMPTY,
                                                          errno.EEXIST):
                continue  # the other writer published between our renames
            # interrupted (SIGTERM) or failed between the renames: the
            # earlier run goes back rather than away
            if old.exists() and not final.exists():
                os.replace(old, final)
            raise
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
    created = _make_parents(final.parent)
    try:
        _remove_stale_partials(final)
        tmp = hidden_dir(final, "partial")
        if tmp.is_symlink():  # planted: removed, never followed
            tmp.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir()
        except OSError as err:
            raise _usage_error(final, err) from None
    except BaseException:
        _remove_empty(created)
        raise
    stop = threading.Event()
    threading.Thread(target=_heartbeat, args=(tmp, stop), daemon=True).start()
    LIVE_PARTIALS[tmp] = created
    try:
        yield tmp
        publish(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(created)
        raise
    finally:
        LIVE_PARTIALS.pop(tmp, None)
        stop.set()


#: Partial run directories of this process's runs in progress, each with the
#: parent directories its run created: removed by a SIGTERM that cannot unwind
#: (``plenexp.cli``: one during an import).
LIVE_PARTIALS: dict[Path, list[Path]] = {}


def _heartbeat(path: Path, stop: threading.Event) -> None:
    # Tells attempts on other nodes that this one is alive (see is_stale).
    while not stop.wait(HEARTBEAT_S):
        try:
            os.utime(path)
        except OSError:
            return


def _usage_error(path: Path, err: OSError) -> UsageError:
    return UsageError(f"cannot write {path}: {err.strerror or err}")


def _make_parents(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; give those created, deepest first."""
    missing = []
    for parent in (directory, *directory.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        _remove_empty(missing)
        raise _usage_error(directory, err) from None
    return missing


def _remove_empty(directories: list[Path]) -> None:
    # Directories this attempt created, deepest first; kept once anything is in them.
    for directory in directories:
        try:
            directory.rmdir()
        except OSError:
            return


def done_runs(root: str | os.PathLike,
              problems: list[str] | None = None) -> Iterator[Path]:
    """Every complete run directory below ``root``, hidden ones skipped.

    Uses ``os.scandir`` rather than globbing: summaries walk tens of thousands
    of run directories. Each directory is visited once, however many symlinks
    lead to it (the path without a symlink is preferred), so an alias is
    counted once and a symlink loop ends. A symlink to a run outside
    ``root`` (after its own links are resolved) is left out, and named in
    ``problems``: a run elsewhere is no result of this tree. A symlink to a
    folder elsewhere (an experiment's folder on a scratch disk) is followed.

    Parameters
    ----------
    root
        Where to look.
    problems
        If given, receives one line for each directory that could not be read
        (permissions, a looping symlink), naming its path.
    """
    seen: set[tuple[int, int]] = set()
    # paths as text while walking (a Path per directory costs a fifth of the
    # walk over 10,000 runs); normalized as Path does, so the runs' names are
    stack, aliases = [os.fspath(Path(root))], []
    base = os.path.realpath(root)

    def note(path, err: OSError) -> None:
        if problems is not None:
            problems.append(f"{path}: unreadable ({err.strerror or err})")

    while stack or aliases:
        current = stack.pop() if stack else aliases.pop(0)
        try:
            st = os.stat(current)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if _is_regular(os.path.join(current, DONE_MARKER)):
                # a run: its other entries need no listing (10,000 runs: a
                # tenth of a second saved on each summary)
                yield Path(current)
                continue
            entries = sorted(os.scandir(current), key=lambda e: e.name,
                             reverse=True)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as err:
            note(current, err)
            continue
        if any(e.name == DONE_MARKER and not _is_dir(e) for e in entries):
            # a FIFO, device or socket as the marker: no published run
            if problems is not None:
                marker = os.path.join(current, DONE_MARKER)
                problems.append(f"{marker}: not a regular file (no published "
                                "run); run left out")
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                try:
                    if stat.S_ISDIR(os.stat(entry.path).st_mode):
                        real = os.path.realpath(entry.path)
                        if os.path.commonpath([real, base]) != base and \
                                os.path.isfile(os.path.join(real, DONE_MARKER)):
                            # a run elsewhere is no result of this tree (a
                            # folder of runs elsewhere is the user's layout)
                            if problems is not None:
                                problems.append(
                                    f"{entry.path}: a symlink leading outside "
                                    f"{base} (to {real}); left out")
                            continue
                        aliases.append(entry.path)
                except OSError as err:
                    if err.errno == errno.ELOOP:  # a dangling link is no run
                        note(entry.path, err)
            elif _is_dir(entry):
                stack.append(entry.path)


def _is_regular(path: str) -> bool:
    """Whether ``path`` is a regular file (links followed, as ``is_file``)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def finished_runs(dirs: Sequence[Path]) -> list[Path]:
    """Every finished run in or below ``dirs`` (run directories or parents).

    Each run once, however it was named (a symlink, a parent and a child);
    directories that cannot be read are reported (``errors.report``) and
    skipped.

    Raises
    ------
    UsageError
        If a directory does not exist or none holds a finished run.
    """
    for path in dirs:
        if not path.is_dir():
            raise UsageError(f"no such directory: {path}")
    problems: list[str] = []
    runs = list({os.path.realpath(run): run for path in dirs
                 for run in done_runs(path, problems)}.values())
    errors.report(problems)
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
