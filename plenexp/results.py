"""Gathering per-run tables into one, reporting every bad file and going on."""

from __future__ import annotations

import csv
import math
import os
import sys
from pathlib import Path

from . import rundir


def read_rows(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of one small CSV file, as strings.

    Raises
    ------
    ValueError
        If the file is empty, has no data rows, or has ragged rows.
    """
    with open(path, newline="") as f:
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
    root: str | os.PathLike, filename: str, value_column: str | None = "loss"
) -> tuple[list[dict[str, str]], list[str]]:
    """Rows of ``filename`` from every complete run below ``root``.

    Parameters
    ----------
    root
        Where to look; only complete runs (with a completion marker) count.
    filename
        The per-run table, e.g. ``loss.csv``.
    value_column
        Rows whose value here is not a finite number are reported and left out.

    Returns
    -------
    rows
        Every good row, with ``run_dir`` added, and ``process_duration`` (the
        whole-process seconds from ``process_time.json``) where the table
        lacks it.
    problems
        One line per file or row left out, naming its path and why.
    """
    rows: list[dict[str, str]] = []
    problems: list[str] = []
    for run_dir in rundir.done_runs(root):
        path = os.path.join(run_dir, filename)
        try:
            run_rows = read_rows(path)
        except FileNotFoundError:
            problems.append(f"{path}: missing (run analyze.py on this run)")
            continue
        except (ValueError, csv.Error, UnicodeDecodeError) as err:
            problems.append(f"{path}: unreadable ({err})")
            continue
        for row in run_rows:
            if value_column is not None:
                try:
                    value = float(row.get(value_column, "nan"))
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    problems.append(
                        f"{path}: {value_column} is {row.get(value_column)!r}, "
                        "left out"
                    )
                    continue
            row["run_dir"] = str(run_dir)
            if not row.get("process_duration"):
                # time_process.sh writes this after the run is published
                elapsed = rundir.read_process_time(run_dir)
                row["process_duration"] = "" if elapsed is None else str(elapsed)
            rows.append(row)
    return rows, problems


def report(problems: list[str]) -> None:
    """Print each problem on standard error, one line each."""
    for line in problems:
        print(f"skipped {line}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} file(s) or row(s) skipped", file=sys.stderr)


def to_frame(rows: list[dict[str, str]]):
    """A pandas DataFrame with numeric-looking columns converted."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows)
    for column in frame.columns:
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


def write_csv_atomic(frame, path: str | os.PathLike) -> None:
    """Write a DataFrame to CSV through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rundir.atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
