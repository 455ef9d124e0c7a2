"""The summary figure: medians with min-max bars in a wrapped grid of panels.

:func:`scatter_grid` draws an aggregated table
(:func:`plenexp.summary.facets.aggregate`) with the roles
:func:`plenexp.summary.facets.choose_encoding` gave its variables: one
panel per image and panel level, wrapped into a grid of readable aspect, the
legend outside every axes, ``n`` in the caption, log axes with several tick
labels (:mod:`plenexp.summary.axis_ticks`), and optionally each image's Pareto front
as a line. :func:`palette`, :func:`add_legend`, :func:`legend_header`,
:func:`wrap_title` and :func:`caption` serve the experiments' own figures too.

``tests/figure_checks.py`` asserts on the figures these functions draw.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence

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

from plenexp.summary import figure_files  # noqa: E402
from plenexp.summary.axis_ticks import (  # noqa: E402
    bulk_extent,
    bulk_limits,
    padded_limits,
    tidy_axis,
    use_log,
)
from plenexp.summary.facets import (  # noqa: E402
    MARKERS,
    Encoding,
    as_number,
    format_level,
    format_levels,
    is_missing,
    level_key,
    order_levels,
    pareto_front,
)

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
#: Smallest font size of a summary figure (tick labels), in points.
MIN_FONT = 7.5
#: Widest figure, in inches: its smallest text stays 8 px high when the PNG
#: is shown 1400 px wide (7.5 pt / 72 x 1400 / 18 = 8.1 px).
MAX_WIDTH = 18.0
#: Most panels in one figure; a bigger table is split (:func:`split_for_reading`).
MAX_PANELS = 24
#: Marker of a point beyond the axis, drawn at the edge.
CLIPPED_MARKER = "^"


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
               max_aspect: float = MAX_ASPECT,
               max_width: float = MAX_WIDTH) -> tuple[int, int, bool]:
    """Columns of panels, rows, and whether images share a row.

    ``n_images`` blocks of ``n_panels`` panels, each panel ``n_x`` axes wide.
    Each image starts a new row unless whole blocks fit side by side. Picks,
    among shapes at most ``max_aspect`` wide, the one closest to 1.4 wide per 1
    high with the fewest empty slots, and at most ``max_width`` inches wide
    whenever one column fits.

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
        score = (width > max_width and cols > 1, aspect > max_aspect,
                 empty + abs(math.log(aspect / 1.4)))
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


# ------------------------------------------------------------------ figure


def _panel_title(image, combo: tuple, enc: Encoding, n_x: int = 1) -> str:
    parts = [f"{enc.label(c)}={enc.level(c, v)}"
             for c, v in zip(enc.facets, combo, strict=True)]
    head = [format_level(image)] if image is not None else []
    text = TITLE_SEP.join([*head, ", ".join(parts)] if parts else head)
    # wrapped to the axes' width: titles of neighbouring panels never meet
    chars = int(AXES_W * n_x * 72 / (8.5 * 0.55))
    return "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False)) \
        if len(text) > chars else text


def _legend_handles(agg: pd.DataFrame, enc: Encoding, colours: dict,
                    front: bool, hollow: bool, n_max: int,
                    count: bool = False, excluded: bool = False,
                    clipped: bool = False) -> list:
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
    if front or hollow or excluded or clipped:
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
    if excluded:
        handles.append(Line2D([], [], linestyle="none", marker="x", color="0.45",
                              label="stalled or diverged\n(off the front)"))
    if clipped:
        handles.append(Line2D([], [], linestyle="none", marker=CLIPPED_MARKER,
                              color="0.45", label="beyond the axis\n(count in panel)"))
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
                 front: bool = False, note: str = "",
                 status: str | None = "status", clip: bool = True) -> plt.Figure:
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
    status
        Column of ``agg`` saying which rows are ``ok``
        (:func:`plenexp.summary.decisions.aggregate`); the others are drawn
        as grey crosses, never on the front and never setting the y axis.
    clip
        The y axis spans the bulk of the ``ok`` points
        (:func:`axis_ticks.bulk_limits`); points beyond it are drawn at the
        edge (a triangle) and counted in the panel ("3 runs > 10, diverged").
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
    n_entries = len(_legend_handles(agg, enc, {}, front, True, 1, count=True)) + 2
    fig.set_figheight(max(height - 0.8, n_entries * LEGEND_ROW + 0.2) + top)
    height = fig.get_figheight()
    keys = agg.assign(**{c: format_levels(agg[c])
                         for c in [enc.image, *enc.facets] if c})
    hue_levels = order_levels(agg[enc.hue]) if enc.hue else []
    colours = palette(hue_levels) if enc.hue else {}
    marker_of = ({format_level(v): MARKERS[i % len(MARKERS)]
                  for i, v in enumerate(order_levels(agg[enc.marker]))}
                 if enc.marker else {})
    n_max = int(agg["n"].max()) if "n" in agg.columns and len(agg) else 1
    ok = (agg[status].astype(str) == "ok") if status and status in agg.columns \
        else pd.Series(True, index=agg.index)
    style = _point_styles(agg, enc, colours, marker_of, n_max)
    cross, grey = _marker_path("x"), to_rgba("0.45")
    style.loc[~ok, "path"] = pd.Series([cross] * int((~ok).sum()),
                                       index=style.index[~ok], dtype=object)
    style.loc[~ok, "colour"] = pd.Series([grey] * int((~ok).sum()),
                                         index=style.index[~ok], dtype=object)
    style.loc[~ok, "face"] = pd.Series([grey] * int((~ok).sum()),
                                       index=style.index[~ok], dtype=object)
    any_clipped = False
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
        fronts = ({xcol: _front_rows(sub[ok[in_image]], xcol, y) for xcol in xs}
                  if front else {})
        extent = None
        if clip:
            bulk = sub[ok[in_image]] if ok[in_image].any() else sub
            values = bulk[y].to_numpy(float)
            extra = np.concatenate([bulk[c].to_numpy(float)
                                    for c in (f"{y}_min", f"{y}_max")
                                    if c in bulk.columns])
            ylim = bulk_limits(values, logs[y], extra=extra)
            if ok[in_image].any():
                extent = bulk_extent(values, logs[y], extra=extra)
        else:
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
                clipped = _draw_panel(ax, cell, fronts.get(xcol), xcol, y,
                                      style.loc[cell.index], image,
                                      ylim if clip else None,
                                      agg.loc[cell.index, status]
                                      if status in agg.columns else None,
                                      extent)
                any_clipped |= clipped
                # fixed title and label places: no bounding-box search at
                # every draw (a third of the drawing time of a big grid)
                ax.set_title(_panel_title(image, combo, enc, len(xs)), fontsize=8.5,
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
    handles = _legend_handles(agg, enc, colours, front, hollow, n_max,
                              excluded=bool((~ok).any()), clipped=any_clipped)
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
                x: str, y: str, style: pd.DataFrame, image,
                ylim: tuple[float, float] | None = None,
                status: pd.Series | None = None,
                extent: tuple[float, float] | None = None) -> bool:
    """Bars (one collection), markers (one collection), the front.

    Points beyond ``ylim`` are drawn at the edge and counted in the panel,
    and so are stalled or diverged ones (``status`` not ``ok``) beyond
    ``extent``, the values of the ``ok`` bulk: in the axis's margin they
    would sit on its frame, half hidden. Returns whether there were any.
    """
    gid = f"image:{format_level(image)}"
    clipped = False
    if ylim is not None and len(cell):
        values = cell[y].to_numpy(float)
        high = ~(values <= ylim[1])  # NaN and inf too
        low = values < ylim[0]
        bounds = {">": ylim[1], "<": ylim[0]}
        if extent is not None and status is not None:
            not_ok = (status.astype(str) != "ok").to_numpy()
            above, below = not_ok & (values > extent[1]), not_ok & (values < extent[0])
            if (above & ~high).any():
                high, bounds[">"] = high | above, extent[1]
            if (below & ~low).any():
                low, bounds["<"] = low | below, extent[0]
        for mask, edge, marker, sign in ((high, 0.985, CLIPPED_MARKER, ">"),
                                         (low, 0.015, "v", "<")):
            if not mask.any():
                continue
            clipped = True
            out = cell[mask]
            edge_points = ax.scatter(out[x].to_numpy(float), [edge] * len(out),
                                     transform=ax.get_xaxis_transform(),
                                     marker=marker, s=30, color="0.45",
                                     zorder=3, clip_on=False)
            edge_points.set_gid(gid)
            runs = int(out["n"].sum()) if "n" in out.columns else len(out)
            kinds = (sorted(set(status[out.index].astype(str)) - {"ok"})
                     if status is not None else [])
            bound = bounds[sign]
            text = (f"{runs} run{'s' if runs != 1 else ''} {sign} {bound:.2g}"
                    + (", " + "/".join(kinds) if kinds else ""))
            ax.text(0.02, 0.95 if sign == ">" else 0.05, text,
                    transform=ax.transAxes, ha="left",
                    va="top" if sign == ">" else "bottom", fontsize=MIN_FONT,
                    color="0.25", zorder=4,
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.8,
                              pad=1))
        cell = cell[~high & ~low]
        style = style.loc[cell.index]
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
        if not clipped:
            ax.text(0.5, 0.5, "no runs", transform=ax.transAxes, ha="center",
                    fontsize=8, color="0.4")
        return clipped
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
    return clipped


# --------------------------------------------------------- big tables


def n_panels(agg: pd.DataFrame, enc: Encoding, n_x: int = 1) -> int:
    """Axes :func:`scatter_grid` would draw for ``agg``."""
    images = len(order_levels(agg[enc.image])) if enc.image else 1
    return images * len(_combos(agg, enc.facets)) * n_x


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def split_for_reading(agg: pd.DataFrame, enc: Encoding, n_x: int = 1,
                      max_panels: int = MAX_PANELS,
                      ) -> list[tuple[str, str, pd.DataFrame]]:
    """``agg`` in parts of at most ``max_panels`` axes each.

    Small enough: one part. Else one part per image, and, while a part is
    still too big, per level of the slowest-varying panel variable (the first
    of ``enc.facets``), then the next.

    Returns
    -------
    parts
        ``(suffix, heading, rows)``: the file name suffix (``""``, or
        ``_fig4a_lr-0.3``), a title line naming the part, and its rows.
    """
    if n_panels(agg, enc, n_x) <= max_panels:
        return [("", "", agg)]
    parts = []
    images = order_levels(agg[enc.image]) if enc.image else [None]
    for image in images:
        rows = agg if image is None else agg[
            format_levels(agg[enc.image]) == format_level(image)]
        suffix = "" if image is None else f"_{_safe(format_level(image))}"
        heading = "" if image is None else f"image {format_level(image)}"
        stack = [(suffix, heading, rows, 0)]
        while stack:
            suffix_, heading_, part, depth = stack.pop(0)
            one = Encoding(image=enc.image, facets=enc.facets[depth:], hue=enc.hue,
                           marker=enc.marker)
            if n_panels(part, one, n_x) <= max_panels or depth >= len(enc.facets):
                parts.append((suffix_, heading_, part))
                continue
            column = enc.facets[depth]
            for level in order_levels(part[column]):
                mine = part[format_levels(part[column]) == format_level(level)]
                stack.append((f"{suffix_}_{_safe(enc.label(column))}-"
                              f"{_safe(enc.level(column, level))}",
                              f"{heading_}, {enc.label(column)} "
                              f"{enc.level(column, level)}", mine, depth + 1))
    return parts


def write_figures(agg: pd.DataFrame, x: str | Sequence[str], y: str,
                  enc: Encoding, stem, *, title: str = "",
                  max_panels: int = MAX_PANELS, **kwargs) -> list:
    """:func:`scatter_grid` of every :func:`split_for_reading` part, SVG and PNG.

    ``stem`` (a path without suffix) names the files; parts add their suffix.
    ``kwargs`` go to :func:`scatter_grid`. Returns the files written.
    """
    return [path for job in figure_jobs(agg, x, y, enc, stem, title=title,
                                        max_panels=max_panels, **kwargs)
            for path in job()]


def figure_jobs(agg: pd.DataFrame, x: str | Sequence[str], y: str,
                enc: Encoding, stem, *, title: str = "",
                max_panels: int = MAX_PANELS, **kwargs) -> list:
    """:func:`write_figures` as one job per figure (for ``FigureJobs``).

    Each job draws and saves one part and returns its files.
    """
    xs = [x] if isinstance(x, str) else list(x)
    parts = split_for_reading(agg, enc, len(xs), max_panels)
    jobs = []
    for suffix, heading, part in parts:
        head = title if not heading else f"{title} ({heading}; {len(parts)} figures)"
        jobs.append(functools.partial(_save_part, part, xs, y, enc,
                                      f"{stem}{suffix}", head, kwargs))
    return jobs


def _save_part(part: pd.DataFrame, xs: list[str], y: str, enc: Encoding,
               stem: str, title: str, kwargs: dict) -> list:
    fig = scatter_grid(part, xs, y, enc, title=title, **kwargs)
    return figure_files.save(fig, stem, bbox_inches=None)
