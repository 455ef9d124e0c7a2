"""The figure a reader starts from: per image, the front and each variable's effect.

One row of panels per image (wrapped after :data:`MAX_COLS` panels): the
first panel is final loss against time for every configuration with the
Pareto front of the ``ok`` ones; then one panel per swept variable, the best
median loss reached within each of a few time budgets
(:func:`plenexp.summary.decisions.time_budgets`) as a function of that
variable's levels, every other variable at its best. Stalled and diverged
configurations (``status`` other than ``ok``) are grey crosses in the first
panel and count in no budget line; points beyond the bulk are drawn at the
edge and counted, as in :func:`plenexp.summary.facet_grid.scatter_grid`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from plenexp.summary import decisions, facet_grid, facets, figure_files  # noqa: E402
from plenexp.summary.axis_ticks import bulk_limits, padded_limits, tidy_axis, use_log  # noqa: E402

#: Panels in a row (the figure stays under facet_grid.MAX_WIDTH).
MAX_COLS = 5
#: Panels in one overview figure; more images make more figures.
MAX_PANELS = facet_grid.MAX_PANELS
#: Room below a panel of rotated level names.
ROTATED_GAP = 0.35


def _label(labels: Mapping | None, column: str) -> str:
    return (labels or {}).get(column, column)


def layout(n_images: int, n_variables: int) -> tuple[int, int]:
    """Columns, and rows per image, of the overview of ``n_variables``."""
    panels = 1 + n_variables
    cols = min(panels, MAX_COLS)
    return cols, math.ceil(panels / cols)


def image_groups(images: Sequence, n_variables: int,
                 max_panels: int = MAX_PANELS) -> list[list]:
    """Images split into figures of at most ``max_panels`` panels."""
    per = max(1, max_panels // (1 + n_variables))
    return [list(images[i:i + per]) for i in range(0, len(images), per)]


def overview_figure(agg: pd.DataFrame, *, variables: Sequence[str], loss: str,
                    time: str, image: str | None = None,
                    budgets: Mapping | None = None, status: str = "status",
                    labels: Mapping | None = None, title: str = "",
                    note: str = "", xlabel: str | None = None,
                    ylabel: str | None = None, unit: str = "s") -> plt.Figure:
    """The overview of ``agg`` (from :func:`decisions.aggregate`), one figure.

    Parameters
    ----------
    agg
        One row per configuration (``status``, ``n``, ``<loss>``, ``<time>``).
    variables
        The swept variables; those that vary get an effect panel.
    budgets
        ``{image level (text): [seconds]}``; default
        :func:`decisions.time_budgets`. The figure draws one line per rank of
        budget, at the largest of the images' budgets of that rank (each
        image's fastest front point is within the first).
    unit
        The unit of ``time`` in the legend.
    title, note
        Figure title lines (a hardware warning belongs in ``note``).
    """
    images = facets.order_levels(agg[image]) if image else [None]
    swept = [v for v in facets.varying(agg, variables) if v != image]
    per_image = dict(budgets or decisions.time_budgets(
        agg, time=time, loss=loss, image=image, status=status))
    ranks = max((len(v) for v in per_image.values()), default=0)
    common = sorted({max(v[r] for v in per_image.values() if len(v) > r)
                     for r in range(ranks)})
    budgets = {key: common for key in per_image}
    cols, rows_per = layout(len(images), len(swept))
    n_rows = rows_per * len(images)
    rotate = any(len(facets.order_levels(agg[v])) > 5 for v in swept)
    gap = facet_grid.PANEL_H + (ROTATED_GAP if rotate else 0)
    width = (facet_grid.LEFT_PAD + facet_grid.FIRST_GAP
             + cols * facet_grid.PANEL_W + facet_grid.LEGEND_W)
    heading = facet_grid.wrap_title([title, "each point: median over seeds; "
                                     "effect panels: the best median loss within "
                                     "each budget at that level, every other "
                                     "variable at its best", note], width)
    top = facet_grid.TOP_PAD + facet_grid.TITLE_LINE * (heading.count("\n") + 1)
    height = top + n_rows * gap + 0.1
    fig = plt.figure(figsize=(width, height))
    ok_all = (agg[status].astype(str) == decisions.OK) if status in agg.columns \
        else pd.Series(True, index=agg.index)
    logs = use_log(agg[loss]), use_log(agg[time])
    all_budgets = sorted({b for v in budgets.values() for b in v})
    colours = dict(zip(all_budgets, plt.get_cmap("plasma")(
        np.linspace(0.0, 0.8, max(len(all_budgets), 1))), strict=False))
    any_clipped = any_excluded = False
    for i_img, img in enumerate(images):
        key = facets.format_level(img) if img is not None else "all"
        in_image = (facets.format_levels(agg[image]) == key) if img is not None \
            else pd.Series(True, index=agg.index)
        sub, ok = agg[in_image], ok_all[in_image]
        bulk = sub[ok] if ok.any() else sub
        ylim = bulk_limits(bulk[loss].to_numpy(float), logs[0])
        head = f"{key}{facet_grid.TITLE_SEP}" if img is not None else ""
        for k in range(1 + len(swept)):
            row = i_img * rows_per + k // cols
            col = k % cols
            left = facet_grid.LEFT_PAD + facet_grid.FIRST_GAP + col * facet_grid.PANEL_W
            bottom = height - top - (row + 1) * gap + facet_grid.BOTTOM_GAP + (
                ROTATED_GAP if rotate else 0)
            ax = fig.add_axes([left / width, bottom / height,
                               facet_grid.AXES_W / width, facet_grid.AXES_H / height])
            ax.tick_params(labelsize=facet_grid.MIN_FONT)
            ax.set_yscale("log" if logs[0] else "linear")
            if ylim:
                ax.set_ylim(*ylim)
            if k == 0:
                clipped = _front_panel(ax, sub, ok, loss, time, ylim, logs[1],
                                       status, img)
                any_clipped |= clipped
                any_excluded |= bool((~ok).any())
                ax.set_title(f"{head}front", fontsize=8.5)
                ax.set_xlabel(xlabel or _label(labels, time), fontsize=8.5)
                ax.xaxis.set_label_coords(0.5, -0.17)
                tidy_axis(ax.xaxis)
            else:
                variable = swept[k - 1]
                _effect_panel(ax, sub[ok], variable, loss, time,
                              budgets.get(key, []), colours, rotate, labels, img)
                ax.set_title(f"{head}effect of {_label(labels, variable)}",
                             fontsize=8.5)
            tidy_axis(ax.yaxis)
            ax.minorticks_off()
            ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
            if col == 0:
                ax.set_ylabel(ylabel or _label(labels, loss), fontsize=8.5)
                ax.yaxis.set_label_coords(-0.19, 0.5)
            else:  # the row shares its first panel's y axis
                ax.tick_params(labelleft=False)
    handles = [facet_grid.legend_header("budget")]
    handles += [Line2D([], [], color=colours[b], marker="o", markersize=4,
                       label=f"within {b:.4g} {unit}") for b in all_budgets]
    handles.append(facet_grid.legend_header("reading"))
    handles.append(Line2D([], [], color="0.2", linestyle="--", linewidth=1,
                          label="Pareto front\n(ok runs)"))
    handles.append(Line2D([], [], linestyle="none", marker="o", color="C0",
                          markersize=4, label="configuration"))
    if any_excluded:
        handles.append(Line2D([], [], linestyle="none", marker="x", color="0.45",
                              label="stalled or diverged\n(off the front)"))
    if any_clipped:
        handles.append(Line2D([], [], linestyle="none",
                              marker=facet_grid.CLIPPED_MARKER, color="0.45",
                              label="beyond the axis\n(count in panel)"))
    right = facet_grid.LEFT_PAD + facet_grid.FIRST_GAP + cols * facet_grid.PANEL_W
    facet_grid.add_legend(fig, handles, loc="upper left", fontsize=8,
                          handlelength=1.6,
                          bbox_to_anchor=(right / width, 1 - top / height))
    fig.suptitle(heading, fontsize=9.5, y=1 - 0.08 / height, va="top")
    return fig


def _front_panel(ax, sub, ok, loss, time, ylim, xlog, status, img) -> bool:
    gid = f"image:{facets.format_level(img)}"
    ax.set_xscale("log" if xlog else "linear")
    xlim = padded_limits(sub[time].to_numpy(float), xlog)
    if xlim:
        ax.set_xlim(*xlim)
    style = pd.DataFrame({"colour": [(0.12, 0.47, 0.71, 1.0)] * len(sub),
                          "face": [(0.12, 0.47, 0.71, 1.0)] * len(sub),
                          "path": [facet_grid._marker_path("o")] * len(sub)},
                         index=sub.index)
    grey, cross = (0.45, 0.45, 0.45, 1.0), facet_grid._marker_path("x")
    for index in sub.index[~ok]:
        style.at[index, "colour"] = grey
        style.at[index, "face"] = grey
        style.at[index, "path"] = cross
    on = decisions.front(sub, time, loss, status=status)
    line = sub[on].sort_values(time)
    ax.set_gid(gid)
    if not len(sub):
        return False
    return facet_grid._draw_panel(ax, sub, line, time, loss, style, img, ylim,
                                  sub[status] if status in sub.columns else None)


def _effect_panel(ax, sub, variable, loss, time, budgets, colours, rotate,
                  labels, img) -> None:
    gid = f"image:{facets.format_level(img)}"
    levels = facets.order_levels(sub[variable]) if len(sub) else []
    names = [facets.format_level(v) for v in levels]
    keys = facets.format_levels(sub[variable])
    for budget in budgets:
        within = sub[sub[time] <= budget]
        best = within.groupby(keys[within.index])[loss].min()
        ys = [best.get(name, np.nan) for name in names]
        (drawn,) = ax.plot(range(len(names)), ys, marker="o", markersize=4,
                           color=colours[budget], linewidth=1.1)
        drawn.set_gid(gid)
    ax.set_xlim(-0.5, max(len(names), 1) - 0.5)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=90 if rotate else 0)
    ax.set_xlabel(_label(labels, variable), fontsize=8.5)
    if not rotate:
        ax.xaxis.set_label_coords(0.5, -0.17)
    if not budgets:
        ax.text(0.5, 0.5, "no ok runs", transform=ax.transAxes, ha="center",
                fontsize=8, color="0.4")


def write_overview(agg: pd.DataFrame, stem, *, variables: Sequence[str],
                   loss: str, time: str, image: str | None = None,
                   max_panels: int = MAX_PANELS, **kwargs) -> list:
    """:func:`overview_figure` (split by image when too many panels), SVG and PNG.

    Returns the files written: ``<stem>.svg/.png``, or ``<stem>_<image>...``
    per group of images.
    """
    images = facets.order_levels(agg[image]) if image else [None]
    swept = [v for v in facets.varying(agg, variables) if v != image]
    groups = image_groups(images, len(swept), max_panels)
    written = []
    for group in groups:
        part = agg if image is None or len(groups) == 1 else agg[
            facets.format_levels(agg[image]).isin(
                [facets.format_level(g) for g in group])]
        suffix = "" if len(groups) == 1 else "_" + "_".join(
            facet_grid._safe(facets.format_level(g)) for g in group)
        fig = overview_figure(part, variables=variables, loss=loss, time=time,
                              image=image, **kwargs)
        written += figure_files.save(fig, f"{stem}{suffix}", bbox_inches=None)
    return written
