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
from matplotlib.lines import Line2D  # noqa: E402

from . import success  # noqa: E402

#: How a missing level (empty cell, NaN, ``None``) is shown.
MISSING = "None"
#: Markers, in the order levels get them.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Panel size in inches (one axes).
PANEL_W, PANEL_H = 3.3, 2.7
#: Widest figure allowed, as width / height.
MAX_ASPECT = 2.8
#: Room for the legend at the right, in inches.
LEGEND_W = 2.4
#: Separates the image from the panel levels in panel titles.
TITLE_SEP = " | "


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
            levels = {MISSING if is_missing(v) else format_level(v)
                      for v in frame[column]}
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
    keys = data[by].map(lambda v: MISSING if is_missing(v) else v)
    data[by] = keys
    rows = []
    for key, group in data.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        good = group[group["_ok"]]
        rows.append({
            **dict(zip(by, key, strict=True)),
            "n": len(group), "n_success": len(good),
            "share": len(good) / len(group),
            "median_seconds_to_success":
                good["_seconds"].median() if len(good) else np.nan,
            "median_evaluations_to_success":
                good["_evaluations"].median() if len(good) else np.nan,
            "reach_from": ", ".join(sorted(set(good["_from"]))) or "-",
            "criterion": criterion,
        })
    return sort_frame(pd.DataFrame(rows), by)


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
        width = cols * n_x * panel[0] + legend_w
        height = rows * panel[1] + 0.8
        aspect = width / height
        empty = 1 - total / (cols * rows)
        score = (aspect > max_aspect, empty + abs(math.log(aspect / 1.4)))
        if best is None or score < best[0]:
            best = (score, cols, rows, packed)
    _, cols, rows, packed = best
    return cols, rows, packed


def figure_size(n_cols: int, n_rows: int, n_x: int = 1,
                panel: tuple[float, float] = (PANEL_W, PANEL_H),
                legend_w: float = LEGEND_W) -> tuple[float, float]:
    """Figure size in inches for a grid from :func:`grid_shape`."""
    return n_cols * n_x * panel[0] + legend_w, n_rows * panel[1] + 0.8


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


def tidy_axis(axis, minimum: int = 2, wanted: int = 3) -> None:
    """Enough tick labels: decades, else 1-2-5, 1-2-3-5, 1..9; else linear.

    Log axes get the first of those tick sets that labels at least ``wanted``
    values, or the richest one labelling at least ``minimum``, among those
    whose labels fit the axis (``axis.get_tick_space()``); a log axis over too
    narrow a range for that becomes linear. Call after the limits are set.
    """
    if axis.get_scale() == "log":
        low, high = sorted(axis.get_view_interval())
        decades = math.log10(high / low) if low > 0 else math.inf
        formatter = (mticker.FuncFormatter(_plain) if decades < 4
                     else mticker.LogFormatterSciNotation())
        room = max(minimum, axis.get_tick_space())
        good = []
        for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0),
                     tuple(range(1, 10))):
            axis.set_major_locator(mticker.LogLocator(base=10, subs=subs))
            axis.set_major_formatter(formatter)
            axis.set_minor_formatter(mticker.NullFormatter())
            count = len(visible_tick_labels(axis))
            if minimum <= count <= room:
                good.append(subs)
                if count >= wanted:
                    return
        if good:
            axis.set_major_locator(mticker.LogLocator(base=10, subs=good[-1]))
            return
        getattr(axis.axes, f"set_{axis.axis_name}scale")("linear")
        getattr(axis.axes, f"set_{axis.axis_name}lim")(low, high)
    axis.set_major_locator(mticker.MaxNLocator(nbins=4, min_n_ticks=minimum))
    axis.set_major_formatter(mticker.FuncFormatter(_plain))


# ------------------------------------------------------------------ figure


def _panel_title(image, combo: tuple, enc: Encoding) -> str:
    parts = [f"{enc.label(c)}={enc.level(c, v)}"
             for c, v in zip(enc.facets, combo, strict=True)]
    head = [format_level(image)] if image is not None else []
    return TITLE_SEP.join([*head, ", ".join(parts)] if parts else head)


def _bars(frame: pd.DataFrame, column: str) -> np.ndarray | None:
    low, high = f"{column}_min", f"{column}_max"
    if low not in frame.columns or high not in frame.columns:
        return None
    center = frame[column].to_numpy(float)
    return np.vstack([np.clip(center - frame[low].to_numpy(float), 0, None),
                      np.clip(frame[high].to_numpy(float) - center, 0, None)])


def _legend_handles(agg: pd.DataFrame, enc: Encoding, colours: dict,
                    front: bool, hollow: bool, n_max: int) -> list:
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
    """A legend entry that is a bold section title (no symbol)."""
    return Line2D([], [], linestyle="none", marker="none",
                  label=f"$\\bf{{{_tex(text)}}}$")


def _tex(text: str) -> str:
    return re.sub(r"([_%&#$ ])", lambda m: "\\ " if m.group(1) == " "
                  else "\\" + m.group(1), str(text))


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
        The value on the vertical axis (shared by the panels of one image).
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
    fig = plt.figure(figsize=figure_size(n_cols, n_rows, len(xs)),
                     layout="constrained")
    axes = fig.subplots(n_rows, n_cols * len(xs), squeeze=False)
    used = set()
    hue_levels = order_levels(agg[enc.hue]) if enc.hue else []
    colours = palette(hue_levels) if enc.hue else {}
    marker_of = ({format_level(v): MARKERS[i % len(MARKERS)]
                  for i, v in enumerate(order_levels(agg[enc.marker]))}
                 if enc.marker else {})
    n_max = int(agg["n"].max()) if "n" in agg.columns and len(agg) else 1
    logs = {col: use_log(agg[col]) for col in [*xs, y]}
    for i_img, image in enumerate(images):
        sub = agg if image is None else agg[agg[enc.image].map(format_level)
                                            == format_level(image)]
        ylim = padded_limits(np.concatenate(
            [sub[c].to_numpy(float) for c in (y, f"{y}_min", f"{y}_max")
             if c in sub.columns]), logs[y])
        for i_combo, combo in enumerate(combos):
            if packed:
                slot = i_img * len(combos) + i_combo
                row, col = divmod(slot, n_cols)
            else:
                block = math.ceil(len(combos) / n_cols)
                row = i_img * block + i_combo // n_cols
                col = i_combo % n_cols
            cell = _select(sub, enc.facets, combo)
            for k, xcol in enumerate(xs):
                ax = axes[row, col * len(xs) + k]
                used.add(ax)
                _draw_panel(ax, cell, sub if front else None, xcol, y, enc,
                            colours, marker_of, n_max, image)
                ax.set_title(_panel_title(image, combo, enc), fontsize=8.5)
                ax.set_xlabel(xlabels.get(xcol, xcol), fontsize=8.5)
                if col == 0 and k == 0:
                    ax.set_ylabel(ylabel or y, fontsize=8.5)
                ax.tick_params(labelsize=7.5)
                if logs[xcol]:
                    ax.set_xscale("log")
                if logs[y]:
                    ax.set_yscale("log")
                xlim = padded_limits(np.concatenate(
                    [agg[c].to_numpy(float) for c in
                     (xcol, f"{xcol}_min", f"{xcol}_max") if c in agg.columns]),
                    logs[xcol])
                if xlim:
                    ax.set_xlim(*xlim)
                if ylim:
                    ax.set_ylim(*ylim)
                tidy_axis(ax.xaxis)
                tidy_axis(ax.yaxis)
                ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    for ax in axes.flat:
        if ax not in used:
            ax.set_axis_off()
    hollow = "n" in agg.columns and agg["n"].nunique() > 1
    handles = _legend_handles(agg, enc, colours, front, hollow, n_max)
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize=8,
                   frameon=False, handlelength=1.6)
    fig.suptitle(wrap_title([title, caption(agg), note], fig.get_figwidth()),
                 fontsize=9.5)
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


def _combos(agg: pd.DataFrame, facets: Sequence[str]) -> list[tuple]:
    if not facets:
        return [()]
    keys = {tuple(format_level(v) for v in row): tuple(row)
            for row in agg[list(facets)].itertuples(index=False)}
    return sorted(keys.values(), key=lambda combo: tuple(map(level_key, combo)))


def _select(frame: pd.DataFrame, columns: Sequence[str], combo: tuple):
    mask = pd.Series(True, index=frame.index)
    for column, value in zip(columns, combo, strict=True):
        mask &= frame[column].map(format_level) == format_level(value)
    return frame[mask]


def _draw_panel(ax, cell: pd.DataFrame, image_rows: pd.DataFrame | None,
                x: str, y: str, enc: Encoding, colours: dict, marker_of: dict,
                n_max: int, image) -> None:
    gid = f"image:{format_level(image)}"
    if image_rows is not None and len(image_rows):
        on = pareto_front(image_rows, x, y)
        line = image_rows[on].sort_values(x)
        (drawn,) = ax.plot(line[x], line[y], linestyle="--", color="0.2",
                           linewidth=1, zorder=1)
        drawn.set_gid(gid)
        mine = cell.index.intersection(line.index)
        if len(mine):
            (ring,) = ax.plot(cell.loc[mine, x], cell.loc[mine, y], linestyle="none",
                              marker="o", markersize=11, markerfacecolor="none",
                              markeredgecolor="0.1", markeredgewidth=0.9, zorder=3)
            ring.set_gid(gid)
    if not len(cell):
        ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center",
                fontsize=8, color="0.4")
        return
    group_cols = [c for c in (enc.hue, enc.marker) if c]
    groups = cell.groupby([cell[c].map(format_level) for c in group_cols],
                          sort=False) if group_cols else [((), cell)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        level = dict(zip(group_cols, key, strict=True))
        colour = colours.get(level.get(enc.hue), "C0") if enc.hue else "C0"
        marker = marker_of.get(level.get(enc.marker), "o") if enc.marker else "o"
        for full, rows in part.groupby(part["n"] >= n_max if "n" in part
                                       else pd.Series(True, index=part.index)):
            container = ax.errorbar(
                rows[x], rows[y], xerr=_bars(rows, x), yerr=_bars(rows, y),
                fmt=marker, color=colour, markersize=5, elinewidth=0.7,
                capsize=0, alpha=0.85, zorder=2,
                markerfacecolor=colour if full else "white")
            for artist in container.get_children():
                artist.set_gid(gid)
