"""Summary figures whose facets come from the data (every experiment's summaries).

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
:func:`scatter_grid`
    Median points with min-max bars in both directions, one panel per image
    and panel level, wrapped into a grid of readable aspect, the legend outside
    every axes, ``n`` in the caption, log axes with several tick labels, and
    optionally each image's Pareto front as a line.
:func:`pareto_front`, :func:`success_table`
    The decision: the configurations no other one beats in both time and loss,
    and the share of runs meeting plenoptic's success criterion
    (:mod:`plenexp.success`) with the median time and evaluations to reach it.

``tests/figure_checks.py`` asserts on the figures these functions draw.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.markers import MarkerStyle  # noqa: E402

from . import success  # noqa: E402

#: How a missing level (empty cell, NaN, ``None``) is shown.
MISSING = "None"
#: Markers, in the order levels get them.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: One axes, in inches, and the cell around it (title above, tick labels and
#: axis label below, a gap at the right).
AXES_W, AXES_H = 2.75, 2.0
PANEL_W, PANEL_H = AXES_W + 0.3, AXES_H + 0.85
#: Below each axes: tick labels and the axis label.
BOTTOM_GAP = 0.55
#: Left of the first column: the y label and its tick labels.
LEFT_PAD, FIRST_GAP = 0.1, 0.6
#: Above the panels: the figure title, per line.
TOP_PAD, TITLE_LINE = 0.2, 0.17
#: Widest figure allowed, as width / height.
MAX_ASPECT = 2.8
#: Room for the legend at the right, in inches.
LEGEND_W = 2.2
#: Separates the image from the panel levels in panel titles.
TITLE_SEP = " | "
#: Marks legend entries that are section titles.
HEADER_GID = "legend-header"
#: Height of one legend entry at font size 8, in inches.
LEGEND_ROW = 0.19


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
    if isinstance(value, bool | np.bool_) or is_missing(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def level_key(value) -> tuple:
    """Sort key: numbers by value, text in natural order, missing values last.

    ``"iter-2"`` sorts before ``"iter-10"`` and ``"0.3"`` before ``"2"``.
    """
    if is_missing(value):
        return (2,)
    number = as_number(value)
    if number is not None:
        return (0, number)
    parts = re.split(r"(\d+(?:\.\d+)?)", str(value))
    return (1, tuple((0, float(p), "") if i % 2 else (1, 0.0, p.lower())
                     for i, p in enumerate(parts) if p))


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
    return frame.sort_values(
        columns, key=lambda s: s.map(lambda v: level_key(v)).map(_rank(s)),
        kind="stable").reset_index(drop=True)


def _rank(series: pd.Series):
    ranks = {key: i for i, key in enumerate(sorted(set(series.map(level_key))))}
    return lambda key: ranks[key]


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
    keys = data[by].map(lambda v: MISSING if is_missing(v) else v)
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
        criterion = (f"loss <= {success.SUCCESS_LOSS:g} only (the representation"
                     " error is not in this table)")
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
    data[by] = data[by].map(lambda v: MISSING if is_missing(v) else v)
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


def palette(levels: Sequence) -> dict:
    """Colours by level: a sequential map for numbers, tab10 for names."""
    numeric = all(as_number(v) is not None or is_missing(v) for v in levels)
    if numeric and len(levels) > 2:
        cmap = plt.get_cmap("viridis")
        spots = np.linspace(0.0, 0.88, len(levels))
        return {format_level(v): cmap(s) for v, s in zip(levels, spots, strict=True)}
    cycle = plt.get_cmap("tab10").colors
    return {format_level(v): cycle[i % len(cycle)] for i, v in enumerate(levels)}


# ------------------------------------------------------------------ layout


def grid_shape(n_images: int, n_panels: int, n_x: int = 1,
               panel: tuple[float, float] = (PANEL_W, PANEL_H),
               legend_w: float = LEGEND_W,
               max_aspect: float = MAX_ASPECT) -> tuple[int, int, bool]:
    """Columns of panels, rows, and whether images share a row.

    ``n_images`` blocks of ``n_panels`` panels, each panel ``n_x`` axes wide.
    Each image starts a new row unless whole blocks fit side by side. Picks,
    among shapes at most ``max_aspect`` wide, the one closest to 1.4 wide per 1
    high with the fewest empty slots.

    Returns
    -------
    n_cols, n_rows, packed
        ``packed``: several images' blocks share a row.
    """
    best = None
    total = n_images * n_panels
    for cols in range(1, max(total, 1) + 1):
        packed = cols >= n_panels and cols % n_panels == 0 and n_images > 1
        if packed:
            rows = math.ceil(n_images / (cols // n_panels))
        else:
            if cols > n_panels:
                continue
            rows = n_images * math.ceil(n_panels / cols)
        blocks = cols // n_panels if packed else 1
        width, height = figure_size(cols, rows, n_x, panel, legend_w, blocks)
        aspect = width / height
        empty = 1 - total / (cols * rows)
        score = (aspect > max_aspect, empty + abs(math.log(aspect / 1.4)))
        if best is None or score < best[0]:
            best = (score, cols, rows, packed)
    _, cols, rows, packed = best
    return cols, rows, packed


def figure_size(n_cols: int, n_rows: int, n_x: int = 1,
                panel: tuple[float, float] = (PANEL_W, PANEL_H),
                legend_w: float = LEGEND_W,
                blocks: int = 1) -> tuple[float, float]:
    """Figure size in inches for a grid from :func:`grid_shape` (3-line title).

    ``blocks``: image blocks side by side in a row, each with its own y axis.
    """
    return (LEFT_PAD + blocks * FIRST_GAP + n_cols * n_x * panel[0] + legend_w,
            n_rows * panel[1] + 0.8)


# ------------------------------------------------------------------- axes


def _positive(values: Iterable[float]) -> np.ndarray:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    return array[np.isfinite(array) & (array > 0)]


def use_log(values: Iterable[float], min_ratio: float = 4.0) -> bool:
    """Whether values (all positive) span enough for a log axis to help."""
    array = np.asarray(list(values), dtype=float)
    array = array[np.isfinite(array)]
    if not len(array) or (array <= 0).any():
        return False
    return array.max() / array.min() >= min_ratio


def padded_limits(values: Iterable[float], log: bool) -> tuple[float, float] | None:
    """Axis limits around ``values`` with a 6 % margin (in log space if ``log``)."""
    array = _positive(values) if log else np.asarray(
        [v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if not len(array):
        return None
    low, high = float(array.min()), float(array.max())
    if log:
        low, high = math.log10(low), math.log10(high)
    pad = (high - low) * 0.06 or (abs(high) * 0.05 if high else 0.5)
    if log and high - low < 1e-9:
        pad = 0.05
    low, high = low - pad, high + pad
    return (10**low, 10**high) if log else (low, high)


def visible_tick_labels(axis) -> list[str]:
    """The non-empty major tick labels inside an axis's view limits."""
    low, high = sorted(axis.get_view_interval())
    span = high - low
    locs = [v for v in axis.get_majorticklocs()
            if low - 1e-9 * abs(span) <= v <= high + 1e-9 * abs(span)]
    formatter = axis.get_major_formatter()
    formatter.set_locs(locs)
    return [text for text in (formatter(v) for v in locs) if text.strip()]


def _plain(value: float, _pos=None) -> str:
    return f"{value:g}"


#: Tick sets of log axes, from sparse to dense (multiples of each decade).
LOG_SUBS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0),
            tuple(range(1, 10)))


def log_ticks(low: float, high: float, subs: Sequence[float]) -> list[float]:
    """``s * 10**k`` for ``s`` in ``subs``, inside ``[low, high]``."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [s * 10.0**k for k in range(first, last + 1) for s in subs
            if low <= s * 10.0**k <= high]


def _spread(ticks: list[float], low: float, high: float) -> float:
    """Smallest gap between ticks, as a fraction of a log axis."""
    span = math.log10(high / low)
    places = [math.log10(t / low) / span for t in ticks]
    return min((b - a for a, b in zip(places, places[1:], strict=False)),
               default=1.0)


def tidy_axis(axis, minimum: int = 2, wanted: int = 3) -> None:
    """Enough tick labels, evenly spread; a log axis too narrow becomes linear.

    Log axes get the first tick set of :data:`LOG_SUBS` that labels at least
    ``wanted`` values, else the richest labelling at least ``minimum``, among
    those whose labels fit the axis (``axis.get_tick_space()``) and are not
    crowded at one end of a decade (800 next to 900). The ticks are then fixed
    (a big grid draws several times faster), so call this after the limits are
    set.
    """
    if axis.get_scale() == "log":
        low, high = sorted(axis.get_view_interval())
        decades = math.log10(high / low) if low > 0 else math.inf
        formatter = (mticker.FuncFormatter(_plain) if decades < 4
                     else mticker.LogFormatterSciNotation())
        axis.set_major_formatter(formatter)
        axis.set_minor_formatter(mticker.NullFormatter())
        room = max(minimum, axis.get_tick_space())
        chosen = None
        if math.isfinite(decades) and decades > 0:
            for subs in LOG_SUBS:
                ticks = log_ticks(low, high, subs)
                if not minimum <= len(ticks) <= room \
                        or _spread(ticks, low, high) < 0.6 / room:
                    continue
                chosen = ticks
                if len(ticks) >= wanted:
                    break
            decade_ticks = log_ticks(low, high, (1.0,))
            if chosen is None and len(decade_ticks) > room:
                # many decades: every second, third ... decade
                stride = math.ceil(len(decade_ticks) / room)
                chosen = decade_ticks[::stride]
        if chosen:
            axis.set_major_locator(mticker.FixedLocator(chosen))
            return
        getattr(axis.axes, f"set_{axis.axis_name}scale")("linear")
        getattr(axis.axes, f"set_{axis.axis_name}lim")(low, high)
    axis.set_major_locator(mticker.MaxNLocator(nbins=4, min_n_ticks=minimum))
    axis.set_major_formatter(mticker.FuncFormatter(_plain))
    _fix_ticks(axis)


def _fix_ticks(axis) -> None:
    low, high = sorted(axis.get_view_interval())
    span = high - low
    locs = [v for v in axis.get_majorticklocs()
            if low - 1e-9 * abs(span) <= v <= high + 1e-9 * abs(span)]
    axis.set_major_locator(mticker.FixedLocator(locs))


# ------------------------------------------------------------------ figure


def _panel_title(image, combo: tuple, enc: Encoding) -> str:
    parts = [f"{enc.label(c)}={enc.level(c, v)}"
             for c, v in zip(enc.facets, combo, strict=True)]
    head = [format_level(image)] if image is not None else []
    return TITLE_SEP.join([*head, ", ".join(parts)] if parts else head)


def _legend_handles(agg: pd.DataFrame, enc: Encoding, colours: dict,
                    front: bool, hollow: bool, n_max: int,
                    count: bool = False) -> list:
    if count:  # only how many entries (colours not chosen yet)
        colours = {format_level(v): "k" for v in order_levels(agg[enc.hue])} \
            if enc.hue else {}
    handles = []

    def header(text: str) -> None:
        handles.append(legend_header(text))

    if enc.hue:
        header(enc.label(enc.hue))
        for level in order_levels(agg[enc.hue]):
            handles.append(Line2D([], [], linestyle="none", marker="o",
                                  color=colours[format_level(level)],
                                  label=enc.level(enc.hue, level)))
    if enc.marker:
        header(enc.label(enc.marker))
        for i, level in enumerate(order_levels(agg[enc.marker])):
            handles.append(Line2D([], [], linestyle="none",
                                  marker=MARKERS[i % len(MARKERS)], color="0.3",
                                  label=enc.level(enc.marker, level)))
    if front or hollow:
        header("reading")
    if front:
        handles.append(Line2D([], [], color="0.2", linestyle="--", linewidth=1,
                              label="Pareto front\n(all of this image)"))
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=9,
                              markerfacecolor="none", markeredgecolor="0.1",
                              label="on the front"))
    if hollow:
        handles.append(Line2D([], [], linestyle="none", marker="o",
                              markerfacecolor="white", color="0.3",
                              label=f"fewer than {n_max} runs"))
    return handles


def legend_header(text: str) -> Line2D:
    """A legend entry that is a section title (no symbol).

    :func:`add_legend` draws it in bold.
    """
    line = Line2D([], [], linestyle="none", marker="none", label=text)
    line.set_gid(HEADER_GID)
    return line


def add_legend(fig: plt.Figure, handles: list, **kwargs):
    """``fig.legend`` with :func:`legend_header` entries in bold."""
    legend = fig.legend(handles=handles, frameon=False, **kwargs)
    for handle, text in zip(handles, legend.get_texts(), strict=True):
        if handle.get_gid() == HEADER_GID:
            text.set_fontweight("bold")
    return legend


def scatter_grid(agg: pd.DataFrame, x: str | Sequence[str], y: str,
                 enc: Encoding, *, xlabels: dict | None = None,
                 ylabel: str | None = None, title: str = "",
                 front: bool = False, note: str = "") -> plt.Figure:
    """Medians with min-max bars, one panel per image and panel level.

    Parameters
    ----------
    agg
        From :func:`aggregate`: ``x``, ``y`` (medians), their ``_min``/``_max``,
        ``n`` and the encoding's columns.
    x
        One column, or several drawn side by side in each panel (loss against
        seconds beside loss against evaluations).
    y
        The value on the vertical axis (shared by the panels of one image: only
        the first panel of a row labels it).
    enc
        From :func:`choose_encoding`.
    xlabels, ylabel
        Axis labels (default: the column names).
    title
        First line of the figure title; the caption of what a point is (n,
        bars) follows.
    front
        Draw each image's Pareto front (over all its configurations) in each of
        its panels, as a dashed line.
    note
        One more caption line (assumptions made reading the table ...).
    """
    xs = [x] if isinstance(x, str) else list(x)
    xlabels = dict(xlabels or {})
    images = order_levels(agg[enc.image]) if enc.image else [None]
    combos = _combos(agg, enc.facets)
    n_cols, n_rows, packed = grid_shape(len(images), len(combos), len(xs))
    blocks = n_cols // len(combos) if packed else 1
    width, height = figure_size(n_cols, n_rows, len(xs), blocks=blocks)
    fig = plt.figure(figsize=(width, height))
    heading = wrap_title([title, caption(agg), note], width)
    top = TOP_PAD + TITLE_LINE * (heading.count("\n") + 1)
    n_entries = len(_legend_handles(agg, enc, {}, front, True, 1, count=True))
    fig.set_figheight(max(height - 0.8, n_entries * LEGEND_ROW + 0.2) + top)
    height = fig.get_figheight()
    keys = agg.assign(**{c: agg[c].map(format_level)
                         for c in [enc.image, *enc.facets] if c})
    hue_levels = order_levels(agg[enc.hue]) if enc.hue else []
    colours = palette(hue_levels) if enc.hue else {}
    marker_of = ({format_level(v): MARKERS[i % len(MARKERS)]
                  for i, v in enumerate(order_levels(agg[enc.marker]))}
                 if enc.marker else {})
    n_max = int(agg["n"].max()) if "n" in agg.columns and len(agg) else 1
    style = _point_styles(agg, enc, colours, marker_of, n_max)
    logs = {col: use_log(agg[col]) for col in [*xs, y]}
    xlims = {col: padded_limits(np.concatenate(
        [agg[c].to_numpy(float) for c in (col, f"{col}_min", f"{col}_max")
         if c in agg.columns]), logs[col]) for col in xs}
    xticks: dict = {}
    places = {(i, j): _place(i, j, len(combos), n_cols, packed)
              for i in range(len(images)) for j in range(len(combos))}
    lowest = {}
    for row, col in places.values():
        lowest[col] = max(row, lowest.get(col, row))
    for i_img, image in enumerate(images):
        in_image = (keys[enc.image] == format_level(image)) if image is not None \
            else pd.Series(True, index=agg.index)
        sub = agg[in_image]
        fronts = {xcol: _front_rows(sub, xcol, y) for xcol in xs} if front else {}
        ylim = padded_limits(np.concatenate(
            [sub[c].to_numpy(float) for c in (y, f"{y}_min", f"{y}_max")
             if c in sub.columns]), logs[y])
        for i_combo, combo in enumerate(combos):
            row, col = places[i_img, i_combo]
            mask = in_image.copy()
            for column, value in zip(enc.facets, combo, strict=True):
                mask &= keys[column] == format_level(value)
            cell = agg[mask]
            for k, xcol in enumerate(xs):
                slot = col * len(xs) + k
                # each image block has its own y axis, at the block's left
                block, first = divmod(slot, len(combos) * len(xs)) if packed \
                    else (0, slot)
                left = LEFT_PAD + (block + 1) * FIRST_GAP + slot * PANEL_W
                bottom = height - top - (row + 1) * PANEL_H + BOTTOM_GAP
                ax = fig.add_axes([left / width, bottom / height, AXES_W / width,
                                   AXES_H / height])
                _draw_panel(ax, cell, fronts.get(xcol), xcol, y,
                            style.loc[cell.index], image)
                # fixed title and label places: no bounding-box search at
                # every draw (a third of the drawing time of a big grid)
                ax.set_title(_panel_title(image, combo, enc), fontsize=8.5,
                             y=1.0, pad=4)
                ax.set_xlabel(xlabels.get(xcol, xcol), fontsize=8.5)
                ax.xaxis.set_label_coords(0.5, -0.17)
                ax.tick_params(labelsize=7.5)
                ax.set_xscale("log" if logs[xcol] else "linear")
                ax.set_yscale("log" if logs[y] else "linear")
                if xlims[xcol]:
                    ax.set_xlim(*xlims[xcol])
                if ylim:
                    ax.set_ylim(*ylim)
                if xcol in xticks:  # the same limits: the same ticks
                    scale, locs, formatter = xticks[xcol]
                    ax.set_xscale(scale)
                    ax.set_xlim(*xlims[xcol])
                    ax.xaxis.set_major_locator(mticker.FixedLocator(locs))
                    ax.xaxis.set_major_formatter(formatter)
                else:
                    tidy_axis(ax.xaxis)
                    xticks[xcol] = (ax.xaxis.get_scale(), ax.get_xticks(),
                                    ax.xaxis.get_major_formatter())
                ax.minorticks_off()
                if row == lowest[col]:
                    ax.xaxis.grid(True, which="major", linewidth=0.4, alpha=0.5)
                else:
                    # the column shares the x axis of its lowest panel (the
                    # same limits): grid lines only, as in a facet grid
                    ax.xaxis.set_visible(False)
                    _grid_lines(ax, xticks[xcol][1], "x")
                if first == 0:
                    tidy_axis(ax.yaxis)
                    ax.yaxis.grid(True, which="major", linewidth=0.4, alpha=0.5)
                    ax.set_ylabel(ylabel or y, fontsize=8.5)
                    ax.yaxis.set_label_coords(-0.19, 0.5)
                    row_ticks = ax.get_yticks()
                else:
                    # the block shares its first panel's y axis: its grid lines
                    # only (an axis of ticks per panel doubles drawing time)
                    ax.yaxis.set_visible(False)
                    _grid_lines(ax, row_ticks, "y")
    hollow = "n" in agg.columns and agg["n"].nunique() > 1
    handles = _legend_handles(agg, enc, colours, front, hollow, n_max)
    if handles:
        right = LEFT_PAD + blocks * FIRST_GAP + n_cols * len(xs) * PANEL_W
        add_legend(fig, handles, loc="upper left", fontsize=8, handlelength=1.6,
                   bbox_to_anchor=(right / width, 1 - top / height))
    fig.suptitle(heading, fontsize=9.5, y=1 - 0.08 / height, va="top")
    return fig


def wrap_title(lines: Sequence[str], width_in: float,
               legend_w: float = LEGEND_W, fontsize: float = 9.5) -> str:
    """Lines of a figure title, wrapped to fit beside the legend."""
    chars = max(40, int((width_in - legend_w) * 130 / fontsize))
    return "\n".join(textwrap.fill(line, chars) for text in lines if text
                     for line in text.splitlines())


def caption(agg: pd.DataFrame) -> str:
    """What a point is: the median of how many runs, and what the bars span."""
    if "n" not in agg.columns or not len(agg):
        return ""
    low, high = int(agg["n"].min()), int(agg["n"].max())
    runs = f"n = {low} run{'s' if low > 1 else ''}" if low == high else \
        f"n = {low} to {high} runs"
    if high == 1:
        return f"each point: one run ({runs}); no seeds to aggregate"
    return f"each point: median of {runs} (seeds); bars: min to max"


def _grid_lines(ax, ticks, axis: str) -> None:
    """Grid lines at ``ticks`` of a hidden axis: one line, NaN-separated."""
    ticks = np.asarray(ticks, dtype=float)
    across = np.tile([0.0, 1.0, np.nan], len(ticks))
    along = np.repeat(ticks, 3)
    if axis == "x":
        line = Line2D(along, across, transform=ax.get_xaxis_transform())
    else:
        line = Line2D(across, along, transform=ax.get_yaxis_transform())
    line.set(linewidth=0.4, alpha=0.5, color="#b0b0b0", zorder=0.5)
    ax.add_artist(line)


def _place(i_image: int, i_combo: int, n_combos: int, n_cols: int,
           packed: bool) -> tuple[int, int]:
    """Row and column of a panel (:func:`grid_shape`'s layout)."""
    if packed:
        return divmod(i_image * n_combos + i_combo, n_cols)
    rows_per_image = math.ceil(n_combos / n_cols)
    return i_image * rows_per_image + i_combo // n_cols, i_combo % n_cols


def _combos(agg: pd.DataFrame, facets: Sequence[str]) -> list[tuple]:
    if not facets:
        return [()]
    keys = {tuple(format_level(v) for v in row): tuple(row)
            for row in agg[list(facets)].itertuples(index=False)}
    return sorted(keys.values(), key=lambda combo: tuple(map(level_key, combo)))


def _front_rows(rows: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows on the Pareto front of ``x`` and ``y``, by increasing ``x``."""
    return rows[pareto_front(rows, x, y)].sort_values(x)


def _point_styles(agg: pd.DataFrame, enc: Encoding, colours: dict,
                  marker_of: dict, n_max: int) -> pd.DataFrame:
    """Colour, marker path and face colour of every row's point."""
    colour = (agg[enc.hue].map(lambda v: colours[format_level(v)])
              if enc.hue else pd.Series([to_rgba("C0")] * len(agg), index=agg.index))
    shape = (agg[enc.marker].map(lambda v: marker_of[format_level(v)])
             if enc.marker else pd.Series("o", index=agg.index))
    paths = {m: _marker_path(m) for m in set(shape)}
    full = agg["n"] >= n_max if "n" in agg.columns else pd.Series(
        True, index=agg.index)
    face = [c if f else (1.0, 1.0, 1.0, 1.0)
            for c, f in zip(colour.map(to_rgba), full, strict=True)]
    return pd.DataFrame({"colour": colour.map(to_rgba), "path": shape.map(paths),
                         "face": face}, index=agg.index)


def _marker_path(marker: str):
    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform())


def _front_rows(rows: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The rows on the Pareto front of ``x`` and ``y``, by increasing ``x``."""
    return rows[pareto_front(rows, x, y)].sort_values(x)


def _draw_panel(ax, cell: pd.DataFrame, line: pd.DataFrame | None,
                x: str, y: str, style: pd.DataFrame, image) -> None:
    """Bars (one collection), markers (one collection), the front."""
    gid = f"image:{format_level(image)}"
    if line is not None and len(line):
        (drawn,) = ax.plot(line[x].to_numpy(float), line[y].to_numpy(float),
                           linestyle="--", color="0.2", linewidth=1, zorder=1)
        drawn.set_gid(gid)
        mine = cell.index.intersection(line.index)
        if len(mine):
            ring = ax.scatter(cell.loc[mine, x], cell.loc[mine, y], s=110,
                              facecolors="none", edgecolors="0.1",
                              linewidths=0.9, zorder=3)
            ring.set_gid(gid)
    if not len(cell):
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center",
                fontsize=8, color="0.4")
        return
    colour = style["colour"].tolist()
    xv, yv = cell[x].to_numpy(float), cell[y].to_numpy(float)
    segments, seg_colours = [], []
    for column, horizontal in ((x, True), (y, False)):
        low, high = f"{column}_min", f"{column}_max"
        if low not in cell.columns or high not in cell.columns:
            continue
        for i, (a, b) in enumerate(zip(cell[low].to_numpy(float),
                                       cell[high].to_numpy(float), strict=True)):
            if np.isfinite(a) and np.isfinite(b) and b > a:
                segments.append([(a, yv[i]), (b, yv[i])] if horizontal
                                else [(xv[i], a), (xv[i], b)])
                seg_colours.append(colour[i])
    if segments:
        bars = LineCollection(segments, colors=seg_colours, linewidths=0.7,
                              alpha=0.85, zorder=2)
        bars.set_gid(gid)
        ax.add_collection(bars, autolim=False)
    points = ax.scatter(xv, yv, s=26, zorder=2.5, edgecolors=colour,
                        facecolors=style["face"].tolist(), linewidths=0.9,
                        alpha=0.9)
    points.set_paths(style["path"].tolist())
    points.set_gid(gid)
