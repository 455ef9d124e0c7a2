"""Gathering per-run tables into one, reporting every bad file and going on."""

from __future__ import annotations

import csv
import functools
import io
import os
import pickle
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from plenexp import errors
from plenexp.runs import files, forking, rundir
from plenexp.text import is_finite_number, number

# a table's field may be as large as the table itself (csv's default: 128 kB)
csv.field_size_limit(files.CSV_MAX_BYTES)


def read_rows(path: str | os.PathLike, root: str | os.PathLike | None = None
              ) -> list[dict[str, str]]:
    """Rows of one small CSV file, as strings.

    Only a regular file of at most ``files.CSV_MAX_BYTES`` is read; a symlink
    only if it resolves inside ``root`` (default: its own directory); see
    :func:`plenexp.runs.files.open_regular`.

    Raises
    ------
    FileNotFoundError
        If there is no file.
    plenexp.errors.BadFile
        If it is a FIFO, device, directory..., a symlink out of ``root``, or
        too large.
    ValueError
        If the file is empty, not UTF-8, has no data rows, or has ragged rows.
    """
    text = files.read_text(path, files.CSV_MAX_BYTES, root)
    with io.StringIO(text, newline="") as f:
        reader = csv.reader(f)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError("empty file") from None
        rows = [row for row in reader if row]
    if not rows:
        raise ValueError("no data rows")
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row of {len(row)} fields under a {len(header)}-field "
                             "header (truncated?)")
    return [dict(zip(header, row, strict=True)) for row in rows]


def gather(
    root: str | os.PathLike, filename: str, value_column: str | None = "loss",
    required: Sequence[str] = (), numeric: Sequence[str] = (),
    non_negative: Sequence[str] = (), one_row: bool = False,
    measured: Sequence[str] = (),
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of ``filename`` from every published run below ``root``.

    Nothing in one run stops the others: each run that cannot be used is left
    out whole (never some of its rows: a run is one result) and named in
    ``problems``.

    Parameters
    ----------
    root
        Where to look; only published runs count (a ``done.json`` that is a
        regular JSON file recording when the run finished), each once however
        many symlinks lead to it.
    filename
        The per-run table, e.g. ``loss.csv``.
    value_column
        A run with a row whose value here is not a finite number is left out.
    required
        Columns a table must have (the summary reads them).
    numeric
        Columns whose values must be finite numbers.
    non_negative
        Columns whose values must also be ``>= 0`` (losses, durations: a
        negative one is no measurement).
    one_row
        The table holds exactly one row per run (the experiment's result):
        a table of several rows is a damaged run, not several runs.
    measured
        Columns that may be empty, NaN or None (not measured in every row), but
        where given hold finite numbers ``>= 0`` (durations, losses of some
        rows).

    Returns
    -------
    rows
        Every good run's rows, with ``run_dir`` added (``process_duration``,
        the whole-process seconds, is empty where the run had no such clock).
    problems
        One line per run left out, naming its path and why.
    """
    return start_gather(root, filename, value_column, required, numeric,
                        non_negative, one_row, measured)()


def start_gather(
    root: str | os.PathLike, filename: str, value_column: str | None = "loss",
    required: Sequence[str] = (), numeric: Sequence[str] = (),
    non_negative: Sequence[str] = (), one_row: bool = False,
    measured: Sequence[str] = (),
) -> Callable[[], tuple[list[dict[str, str]], list[str]]]:
    """:func:`gather` begun now: the runs are found here, read in forked children.

    This process is free meanwhile: a summary of thousands of runs imports
    what it draws with while they are read. Calling what it returns waits
    and gives ``(rows, problems)`` as :func:`gather` does (where nothing is
    forked, the reading happens in that call).
    """
    problems: list[str] = []
    numeric = list(dict.fromkeys([*([value_column] if value_column else []),
                                  *numeric, *non_negative]))
    run_dirs = list(rundir.done_runs(root, problems))
    # tens of thousands of runs: read side by side on every core
    read = functools.partial(_read_runs, filename=filename, required=required,
                             numeric=numeric, non_negative=non_negative,
                             one_row=one_row, measured=measured)
    pending = forking.start_chunks(read, run_dirs)

    def rows_and_problems() -> tuple[list[dict[str, str]], list[str]]:
        rows: list[dict[str, str]] = []
        for (header, values), problem in pending():
            if problem is not None:
                problems.append(problem)
            rows += [dict(zip(header, row, strict=True)) for row in values]
        return rows, problems

    return rows_and_problems


def _read_runs(run_dirs: Sequence[Path], filename: str, required: Sequence[str],
               numeric: Sequence[str], non_negative: Sequence[str],
               one_row: bool, measured: Sequence[str] = ()
               ) -> list[tuple[tuple, str | None]]:
    """:func:`gather`'s reading of some runs: each run's rows, or why none.

    Each run's rows come as ``(header, value tuples)``, one header object per
    distinct header: what a forked reader sends back pickles in a third of
    the time of a dict per row.
    """
    headers: dict[tuple, tuple] = {}
    out = []
    for run_dir in run_dirs:
        rows, problem = _read_run(run_dir, filename, required, numeric,
                                  non_negative, one_row, measured)
        header = tuple(rows[0]) if rows else ()
        header = headers.setdefault(header, header)
        out.append(((header, [tuple(row.values()) for row in rows]), problem))
    return out


def _read_run(run_dir: Path, filename: str, required: Sequence[str],
              numeric: Sequence[str], non_negative: Sequence[str],
              one_row: bool, measured: Sequence[str] = ()
              ) -> tuple[list[dict[str, str]], str | None]:
    """One published run's rows of ``filename`` and ``None``, or ``[]`` and why."""
    path = run_dir / filename
    if not _encodable(str(run_dir)):
        return [], f"{run_dir}: name is not UTF-8 text (rename it)"
    if why := rundir.unpublished(run_dir):
        return [], f"{run_dir / rundir.DONE_MARKER}: {why}; run left out"
    try:
        run_rows = read_rows(path)
    except FileNotFoundError:
        return [], f"{path}: missing (run analyze.py on this run)"
    except (OSError, ValueError, csv.Error) as err:
        # a directory, a looping symlink, not UTF-8, truncated...
        return [], f"{path}: unreadable ({errors.describe(err)})"
    if missing := [c for c in [*required, *numeric] if c not in run_rows[0]]:
        return [], (f"{path}: no {', '.join(missing)} column "
                    "(not this experiment's table?)")
    if why := bad_rows(run_rows, numeric, non_negative, one_row, measured):
        return [], f"{path}: {why}; run left out whole"
    for row in run_rows:
        row["run_dir"] = str(run_dir)
        if not is_finite_number(row.get("process_duration")):
            row["process_duration"] = ""
    return run_rows, None


def bad_rows(rows: list[dict[str, str]], numeric: Sequence[str] = (),
             non_negative: Sequence[str] = (), one_row: bool = False,
             measured: Sequence[str] = ()) -> str | None:
    """Why one run's table is no result (``None`` if it is one).

    Parameters
    ----------
    rows
        The run's table (:func:`read_rows`).
    numeric
        Columns that must hold finite numbers.
    non_negative
        Columns that must hold finite numbers ``>= 0``.
    one_row
        Whether the table must be one row.
    measured
        Columns that may be empty, NaN or None, else finite numbers ``>= 0``.
    """
    if one_row and len(rows) != 1:
        return f"{len(rows)} rows, expected one (one run, one result)"
    required = set(numeric) | set(non_negative)
    bounded = set(non_negative) | set(measured)
    # (column, must be there, must be >= 0), made once for every row
    checks = [(c, c in required, c in bounded)
              for c in dict.fromkeys([*numeric, *non_negative, *measured])]
    for i, row in enumerate(rows):
        for column, needed, positive in checks:
            value = row.get(column)
            if not needed and (value is None or str(value).strip().lower()
                               in ("", "nan", "none")):
                continue  # measured in some rows only: not in this one
            x = number(value)
            if x is None or (positive and x < 0):
                where = f"row {i + 1}: " if len(rows) > 1 else ""
                if x is None:
                    return f"{where}{column} is {value!r}, not a finite number"
                return f"{where}{column} is {value}, below 0 (no such value)"
    return None


#: The columns of a run's ``trajectory.csv`` (``synthesis.Trajectory``).
TRAJECTORY_COLUMNS = ("step", "seconds", "loss", "evaluations")


def checked_rows(path: str | os.PathLike, numeric: Sequence[str] = (),
                 non_negative: Sequence[str] = ()) -> list[dict[str, str]]:
    """One run's small table (a ``trajectory.csv``...) as rows of text.

    Read as :func:`read_rows` does (a regular file of the run, capped); the
    ``numeric`` columns must be there and hold finite numbers, the
    ``non_negative`` ones numbers ``>= 0`` too.

    Raises
    ------
    FileNotFoundError
        If there is no file.
    ValueError
        If it is empty, damaged, lacks a column or holds a value out of
        range (``BadFile`` for a FIFO, device, link out of the run...).
    """
    rows = read_rows(path)
    if missing := [c for c in [*numeric, *non_negative] if c not in rows[0]]:
        raise ValueError(f"no {', '.join(missing)} column")
    if why := bad_rows(rows, numeric, non_negative):
        raise ValueError(why)
    return rows


def read_trajectory(run_dir: str | os.PathLike):
    """A run's ``trajectory.csv`` (:func:`checked_rows`, as a DataFrame), or None.

    An empty, damaged or hostile file is reported (:func:`errors.report`) and
    left out of the curves; a missing one raises ``FileNotFoundError``.
    """
    rows = trajectory_rows(run_dir)
    return None if rows is None else to_frame(rows)


def trajectory_rows(run_dir: str | os.PathLike) -> list[dict[str, str]] | None:
    """:func:`read_trajectory`'s rows as text.

    Summaries of thousands of runs make one DataFrame of them all (one per
    run costs seconds).
    """
    path = Path(run_dir) / "trajectory.csv"
    try:
        return checked_rows(path, TRAJECTORY_COLUMNS, non_negative=("loss",))
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as err:  # empty, damaged, a FIFO...
        errors.report([f"{path}: {errors.describe(err)}; curve left out"])
        return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


#: What reading one damaged or hostile result file may raise.
DATA_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, KeyError, IndexError, TypeError, AttributeError,
    RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)
#: What working on one result may raise, a result that does not fit what it
#: claims (``UsageError``) included. Each such result is reported and skipped;
#: a summary or analysis goes on with the rest.
READ_ERRORS = (*DATA_ERRORS, errors.UsageError)


@contextmanager
def skipping(path: str | os.PathLike, what: str = "") -> Iterator[None]:
    """Report a result that cannot be read, by path, and go on with the next.

    ``with results.skipping(run): ...`` around the work on one result turns
    any of :data:`READ_ERRORS` into one line on standard error; the script
    goes on and exits with status 1 at the end.
    """
    try:
        yield
    except READ_ERRORS as err:
        errors.report([f"{errors.where(err, path)}: {what + ': ' if what else ''}"
                       f"{errors.describe(err)}"])


#: Runs per forked analysis at least: each fork imports torch and matplotlib
#: again (about 3 s of CPU), which only pays for itself over a few runs.
ANALYZE_MIN_CHUNK = 3


def analyze_runs(dirs: Sequence[Path], analyze_run: Callable[..., bool],
                 figures: bool = True, force: bool = False) -> int:
    """Give every finished run below ``dirs`` to an experiment's ``analyze_run``.

    One run that cannot be read is reported by path and the others go on (the
    script then exits 1); progress is one line per run written. Runs are
    split over the cores in forked processes when there are enough of them
    (:data:`ANALYZE_MIN_CHUNK` per core; drawing a run's figures takes
    seconds).

    Parameters
    ----------
    dirs
        Run directories, or directories holding runs.
    analyze_run
        The experiment's ``results.analyze_run(run_dir, figures, force)``.
    figures, force
        Passed on: draw the figures too; rebuild what exists.

    Returns
    -------
    n_analyzed
        How many runs had something written.
    """
    runs = rundir.finished_runs(list(dirs))

    def analyze(chunk: Sequence[Path]) -> list[tuple[bool, int]]:
        # (written, problems reported) per run: a forked child's count of
        # problems dies with it, so every chunk's is counted below, once
        start, outcomes = errors.problem_count(), []
        for run in chunk:
            before, changed = errors.problem_count(), False
            with skipping(run):
                changed = analyze_run(run, figures=figures, force=force)
                if changed:
                    print(f"analyzed {run}", flush=True)
            outcomes.append((bool(changed), errors.problem_count() - before))
        errors.note_problems(start - errors.problem_count())
        return outcomes

    outcomes = forking.map_chunks(analyze, runs, min_chunk=ANALYZE_MIN_CHUNK)
    errors.note_problems(sum(problems for _, problems in outcomes))
    n_analyzed = sum(changed for changed, _ in outcomes)
    print(f"{n_analyzed} of {len(runs)} run(s) analyzed")
    return n_analyzed


def to_frame(rows: list[dict[str, str]], columns: Sequence[str] | None = None):
    """A pandas DataFrame with numeric-looking columns converted.

    ``columns``: only these are looked at (the others keep their values).
    """
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    for column in frame.columns if columns is None else columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        # keep text columns (names, None) as text
        if converted.notna().sum() == frame[column].replace("", None).notna().sum():
            frame[column] = converted
    return frame


def write_row(row: dict | list[dict], path: str | os.PathLike) -> None:
    """Write one row (or rows with the same columns), with a header, as CSV.

    Written atomically (readers never see half a table), without pandas (this
    is on the synthesis path); ``None`` is written as ``None``.
    """
    rows = [row] if isinstance(row, dict) else list(row)
    with rundir.atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "None" if v is None else v for k, v in r.items()}
                         for r in rows)


def drop_damaged(path: str | os.PathLike) -> bool:
    """Remove a run's table that cannot be read, before it is rebuilt.

    A damaged table (empty, truncated, not UTF-8), a FIFO or a link out of
    the run in its place is removed (a link itself, never its target), so
    that what reads the run on the way to rebuilding it (``load_run``) does
    not stop on it.

    Returns
    -------
    dropped
        Whether something was removed.
    """
    path = Path(path)
    try:
        read_rows(path)
    except FileNotFoundError:
        return False
    except (OSError, ValueError, csv.Error):
        try:
            path.unlink()
        except (IsADirectoryError, PermissionError):
            return False  # not ours to remove; the rebuild reports it
        return True
    return False


def write_csv_atomic(frame, path: str | os.PathLike) -> None:
    """Write a DataFrame to CSV through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rundir.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
