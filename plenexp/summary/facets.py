"""Facets from the data: which variables vary, in what order, in which role.

A summary table has one row per run. The steps, each usable on its own:

:func:`varying`
    Which of the experimental variables actually vary in this table.
:func:`order_levels`
    Levels in numeric order whenever they are numbers (history 3, 10, 100,
    200, 1000), natural order otherwise (``iter-2`` before ``iter-10``).
:func:`aggregate`
    One row per configuration: the median over seeds of loss and time (or any
    value), their min and max, and ``n``, the runs behind each point.
:func:`choose_encoding`
    A role for every varying variable: images never share a panel; the others
    become colour, marker or panel, each named in the legend or panel title.
:func:`pareto_front`, :func:`success_table`
    The decision: the configurations no other one beats in both time and loss,
    and the share of runs meeting plenoptic's success criterion
    (:mod:`plenexp.synth.success`) with the median time and evaluations to reach it.

Drawing is :mod:`plenexp.summary.facet_grid` (the figure) and
:mod:`plenexp.summary.axis_ticks` (readable axes); this module needs no matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plenexp.synth import success
from plenexp.text import natural_key, number

#: How a missing level (empty cell, NaN, ``None``) is shown.
MISSING = "None"
#: Markers, in the order levels get them.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


# ---------------------------------------------------------------- levels


def is_missing(value) -> bool:
    """Whether a cell is empty: None, NaN, ``""``, ``"nan"`` or ``"None"``."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return str(value).strip().lower() in ("", "nan", "none")


def as_number(value) -> float | None:
    """``value`` as a float if it reads as one (``"10"``, ``10.0``), else None."""
    return None if is_missing(value) else number(value)


def level_key(value) -> tuple:
    """Sort key: numbers by value, text in natural order, missing values last.

    ``"iter-2"`` sorts before ``"iter-10"`` and ``"0.3"`` before ``"2"``.
    """
    return (2,) if is_missing(value) else natural_key(value)


def order_levels(values: Iterable) -> list:
    """The distinct values, in :func:`level_key` order (missing ones as NaN)."""
    seen: dict = {}
    for value in values:
        key = MISSING if is_missing(value) else value
        seen.setdefault(key, value)
    return sorted(seen.values(), key=level_key)


def format_level(value) -> str:
    """A level as shown: numbers with ``%g``, missing as ``None``."""
    if is_missing(value):
        return MISSING
    number = as_number(value)
    if number is not None and not isinstance(value, str):
        return f"{number:g}"
    return str(value)


def missing_as_level(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every empty cell (:func:`is_missing`) as :data:`MISSING`.

    The same as ``frame.map(lambda v: MISSING if is_missing(v) else v)``,
    decided once per distinct value of a column (sweep tables have thousands
    of rows and few levels); a column without empty cells is kept as it is.
    """
    out = frame.copy()
    for column in out.columns:
        codes, uniques = pd.factorize(out[column], use_na_sentinel=False)
        empty = np.array([is_missing(u) for u in uniques], dtype=bool)
        if empty.any():
            cleaned = np.array(list(uniques), dtype=object)
            cleaned[empty] = MISSING
            out[column] = pd.Series(cleaned[codes], index=out.index, dtype=object)
    return out


def format_levels(values: pd.Series) -> pd.Series:
    """:func:`format_level` of every value, computed once per distinct value.

    The same as ``values.map(format_level)``, without a Python call per row
    (tables of sweeps have thousands of rows and few levels).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    shown = np.array([format_level(u) for u in uniques], dtype=object)
    return pd.Series(shown[codes] if len(codes) else [], index=values.index,
                     dtype=object, name=values.name)


def varying(frame: pd.DataFrame, candidates: Iterable[str]) -> list[str]:
    """The candidate columns present in ``frame`` with more than one level.

    Missing values count as one level (``None``), so a column that is empty
    for some runs and set for others varies.
    """
    out = []
    for column in candidates:
        if column in frame.columns and column not in out:
            levels = {format_level(v) for v in pd.unique(frame[column])}
            if len(levels) > 1:
                out.append(column)
    return out


def parse_duration(value) -> float:
    """Seconds from a number or ``[H:]MM:SS[.f]`` text; NaN when empty."""
    if is_missing(value):
        return math.nan
    text = str(value).strip()
    if ":" in text:
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    return float(text)


def parse_durations(values: pd.Series) -> pd.Series:
    """:func:`parse_duration` of a whole column (numbers read at once)."""
    numbers = pd.to_numeric(values, errors="coerce")
    clock = numbers.isna() & values.astype(str).str.contains(":")
    if clock.any():
        numbers[clock] = values[clock].map(parse_duration)
    return numbers.astype(float)


def sort_frame(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Rows sorted by ``columns``, each in :func:`level_key` order."""
    columns = [c for c in columns if c in frame.columns]
    if not columns:
        return frame.reset_index(drop=True)
    return frame.sort_values(columns, key=_ranks, kind="stable").reset_index(drop=True)


def _ranks(values: pd.Series) -> pd.Series:
    """Each value's place among the column's distinct :func:`level_key` keys.

    Computed once per distinct text (a value's key depends on its text only:
    ``1`` and ``"1"`` sort alike), not once per row.
    """
    codes, _ = pd.factorize(values.astype(str), use_na_sentinel=False)
    keys = [level_key(value) for value in
            values.iloc[np.unique(codes, return_index=True)[1]]]
    rank_of = {key: i for i, key in enumerate(sorted(set(keys)))}
    ranks = np.array([rank_of[key] for key in keys], dtype=np.int64)
    return pd.Series(ranks[codes], index=values.index, dtype=np.int64)


# ------------------------------------------------------------- aggregation


def aggregate(frame: pd.DataFrame, by: Sequence[str],
              values: Sequence[str]) -> pd.DataFrame:
    """One row per configuration: median, min, max of ``values`` and ``n``.

    Parameters
    ----------
    frame
        One row per run.
    by
        The columns that make a configuration (image included, seed not).
    values
        Numeric columns to summarize (loss, seconds, evaluations ...); the
        median keeps its name, the extremes are ``<value>_min``/``<value>_max``.

    Returns
    -------
    table
        Sorted by ``by`` in numeric order, with ``n`` (runs per row).
    """
    by = [c for c in by if c in frame.columns]
    values = [v for v in values if v in frame.columns]
    data = frame[[*by, *values]].copy()
    for column in values:
        data[column] = pd.to_numeric(data[column], errors="coerce")
    if not by:
        data["_all"] = "all"
        by = ["_all"]
    keys = missing_as_level(data[by])
    data[by] = keys
    grouped = data.groupby(by, sort=False, dropna=False)
    parts = [grouped.size().rename("n")]
    for column in values:
        parts += [grouped[column].median().rename(column),
                  grouped[column].min().rename(f"{column}_min"),
                  grouped[column].max().rename(f"{column}_max")]
    table = pd.concat(parts, axis=1).reset_index()
    return sort_frame(table.drop(columns=["_all"], errors="ignore"), by)


def pareto_front(frame: pd.DataFrame, x: str, y: str,
                 by: Sequence[str] = ()) -> pd.Series:
    """Which rows no other row (in the same ``by`` group) beats in both x and y.

    A row is on the front when no other has ``x`` and ``y`` both at most its
    own with one strictly lower. Rows with a missing x or y are not.
    """
    on = pd.Series(False, index=frame.index)
    groups = frame.groupby(list(by), sort=False, dropna=False) if by else [
        (None, frame)]
    for _, group in groups:
        group = group.dropna(subset=[x, y]).sort_values([x, y], kind="stable")
        best = math.inf
        for index, value in zip(group.index, group[y], strict=True):
            if value < best:
                on[index] = True
                best = value
    return on


def success_table(frame: pd.DataFrame, by: Sequence[str], loss: str = "loss",
                  time: str = "synth_duration",
                  evaluations: str = "evaluations") -> pd.DataFrame:
    """Per configuration, how many runs meet plenoptic's success criterion.

    A run succeeds when ``loss`` is at most :data:`success.SUCCESS_LOSS` and,
    where the table records it, ``max_abs_rep_error`` is at most
    :data:`success.SUCCESS_REP_ERROR`. The time and evaluations to reach it are
    those at which the run's trajectory first got the loss there
    (``seconds_to_success_loss``, ``evaluations_to_success_loss``); runs
    without a trajectory count their whole ``time``/``evaluations`` (an upper
    bound), and the ``reach_from`` column says which was used.

    Returns
    -------
    table
        ``by`` columns, ``n``, ``n_success``, ``share``,
        ``median_seconds_to_success``, ``median_evaluations_to_success``,
        ``reach_from`` and ``criterion`` (what was checked).
    """
    data = frame.copy()
    for column in (loss, time, evaluations, "max_abs_rep_error",
                   "seconds_to_success_loss", "evaluations_to_success_loss"):
        if column in data.columns:
            data[column] = pd.to_numeric(data[column], errors="coerce")
    ok = data[loss] <= success.SUCCESS_LOSS
    has_rep = ("max_abs_rep_error" in data.columns
               and data["max_abs_rep_error"].notna().any())
    if has_rep:
        ok &= data["max_abs_rep_error"] <= success.SUCCESS_REP_ERROR
        criterion = success.CRITERION
    else:
        criterion = (f"loss criterion only: loss <= {success.SUCCESS_LOSS:g} (the "
                     "representation error is not in this table)")
    data["_ok"] = ok.fillna(False)

    def first(column: str, fallback: str) -> tuple[pd.Series, pd.Series]:
        source = pd.Series("whole run, an upper bound", index=data.index)
        whole = (data[fallback] if fallback in data.columns
                 else pd.Series(np.nan, index=data.index))
        if column in data.columns:
            found = data[column].notna()
            source[found] = "trajectory"
            return data[column].where(found, whole), source
        return whole, source

    data["_seconds"], data["_from"] = first("seconds_to_success_loss", time)
    data["_evaluations"], _ = first("evaluations_to_success_loss", evaluations)
    by = [c for c in by if c in data.columns]
    data[by] = missing_as_level(data[by])
    good = data[data["_ok"]]
    table = pd.concat([
        data.groupby(by, sort=False).size().rename("n"),
        good.groupby(by, sort=False).size().rename("n_success"),
        good.groupby(by, sort=False)["_seconds"].median().rename(
            "median_seconds_to_success"),
        good.groupby(by, sort=False)["_evaluations"].median().rename(
            "median_evaluations_to_success"),
        good.groupby(by, sort=False)["_from"].agg(
            lambda v: ", ".join(sorted(set(v)))).rename("reach_from"),
    ], axis=1).reset_index()
    table["n_success"] = table["n_success"].fillna(0).astype(int)
    table["share"] = table["n_success"] / table["n"]
    table["reach_from"] = table["reach_from"].fillna("-")
    table["criterion"] = criterion
    columns = [*by, "n", "n_success", "share", "median_seconds_to_success",
               "median_evaluations_to_success", "reach_from", "criterion"]
    return sort_frame(table[columns], by)


# ---------------------------------------------------------------- encoding


@dataclass
class Encoding:
    """Which variable takes which role in a figure.

    Attributes
    ----------
    image
        Column of the image (its levels never share a panel), or None.
    facets
        Columns whose level combinations get a panel each.
    hue, marker
        Columns shown by colour and marker shape (or None).
    labels
        Display names of columns (default: the column name).
    level_names
        Display names of some levels, by column and :func:`format_level` text
        (e.g. ``{"max_eval": {"1.25": "1.25 (None)"}}``).
    """

    image: str | None = None
    facets: list[str] = field(default_factory=list)
    hue: str | None = None
    marker: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    level_names: dict[str, dict[str, str]] = field(default_factory=dict)

    def label(self, column: str) -> str:
        """The display name of ``column``."""
        return self.labels.get(column, column)

    def level(self, column: str, value) -> str:
        """How a level of ``column`` is shown."""
        text = format_level(value)
        return self.level_names.get(column, {}).get(text, text)


def choose_encoding(frame: pd.DataFrame, variables: Sequence[str],
                    image: str | None = None, labels: dict | None = None,
                    max_hues: int = 12, max_markers: int = len(MARKERS),
                    hue_first: Sequence[str] = (),
                    level_names: dict | None = None) -> Encoding:
    """Give every varying variable of ``frame`` a role.

    Parameters
    ----------
    frame
        The (aggregated) table.
    variables
        Candidate columns in order of preference; those that vary take, in
        this order, colour, marker, then panels (combined).
    image
        The image column: never shares a panel.
    labels, level_names
        Display names of columns and of some levels (:class:`Encoding`).
    max_hues, max_markers
        A variable with more levels than this goes to another role.
    hue_first
        Columns that should take colour before the others, if they vary.
    """
    vary = [v for v in varying(frame, [*hue_first, *variables]) if v != image]
    n_levels = {v: len(order_levels(frame[v])) for v in vary}
    enc = Encoding(image=image if image in frame.columns else None,
                   labels=dict(labels or {}), level_names=dict(level_names or {}))
    rest = list(vary)
    for role, limit in (("hue", max_hues), ("marker", max_markers)):
        for column in rest:
            if n_levels[column] <= limit:
                setattr(enc, role, column)
                rest.remove(column)
                break
    enc.facets = rest
    return enc
