"""ps_lbfgs summary figures, drawn with :mod:`plenexp.summary.facets` (no torch here).

Per-run figures are in :mod:`.figures`; this module keeps summaries of
thousands of runs free of torch and plenoptic imports.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from plenexp.summary import axis_ticks, facet_grid, facets

#: Display names of the table's columns.
LABELS = {
    "filename": "image",
    "search_func": "line search",
    "LBFGS_max_iter": "max_iter",
    "LBFGS_max_eval_frac": "max_eval / max_iter",
    "LBFGS_history_size": "history",
    "learning_rate": "lr",
    "loss_function": "loss",
    "coarse_to_fine": "coarse to fine",
    "init_reduced": "reduced init",
    "synth_max_iter": "steps",
    "device": "device",
    "crop": "crop",
    "synth_duration": "synthesis time (s)",
    "evaluations": "PS model evaluations",
    "loss": "final loss",
}

#: Levels shown with a word of explanation.
LEVEL_NAMES = {"LBFGS_max_eval_frac": {"1.25": "1.25 (None)"}}

#: Experimental variables, in the order they take colour, marker, then panels.
VARIABLES = ["LBFGS_max_eval_frac", "LBFGS_max_iter", "learning_rate",
             "LBFGS_history_size", "search_func", "coarse_to_fine",
             "init_reduced", "crop", "synth_max_iter", "device"]


def cost_figure(agg: pd.DataFrame, xs: list[str], fixed: str, title: str,
                note: str = "") -> plt.Figure:
    """Final loss against seconds (and evaluations), Pareto front per image."""
    enc = facets.choose_encoding(agg, VARIABLES, image="filename", labels=LABELS,
                                 level_names=LEVEL_NAMES)
    return facet_grid.scatter_grid(
        agg, xs, "loss", enc, xlabels=LABELS, ylabel="final loss",
        title="\n".join(t for t in (title, fixed) if t), front=True, note=note)


def curve_figure(curves: pd.DataFrame, config_columns: list[str],
                 title: str) -> plt.Figure:
    """Loss against seconds beside loss against evaluations, one curve per run.

    ``curves``: one row per trajectory state with ``run``, ``seconds``,
    ``evaluations``, ``loss`` and the configuration columns. One row of panels
    per image; colour and line style from the varying variables (the caller
    checks they are no more than two besides the image and seed).
    """
    enc = facets.choose_encoding(curves, VARIABLES, image="filename",
                                 labels=LABELS, max_markers=4,
                                 level_names=LEVEL_NAMES)
    images_ = facets.order_levels(curves["filename"])
    fig, axes = plt.subplots(len(images_), 2, squeeze=False, layout="constrained",
                             figsize=(9.5, 2.9 * len(images_) + 0.8))
    hues = facets.order_levels(curves[enc.hue]) if enc.hue else [None]
    colours = facet_grid.palette(hues) if enc.hue else {}
    styles = dict(zip(
        map(facets.format_level, facets.order_levels(curves[enc.marker]))
        if enc.marker else [], ["-", "--", ":", "-."], strict=False))
    for row, image in enumerate(images_):
        sub = curves[curves["filename"].map(facets.format_level)
                     == facets.format_level(image)]
        for col, x in enumerate(("seconds", "evaluations")):
            ax = axes[row, col]
            for _, run in sub.groupby("run", sort=False):
                first = run.iloc[0]
                colour = colours.get(facets.format_level(first[enc.hue]), "C0") \
                    if enc.hue else "C0"
                style = styles.get(facets.format_level(first[enc.marker]), "-") \
                    if enc.marker else "-"
                (line,) = ax.plot(run[x], run["loss"], color=colour,
                                  linestyle=style, linewidth=1.1, alpha=0.85)
                line.set_gid(f"image:{facets.format_level(image)}")
            ax.set_yscale("log")
            ax.set_xlabel("seconds since synthesis started" if x == "seconds"
                          else "PS model evaluations", fontsize=8.5)
            if col == 0:
                ax.set_ylabel("loss", fontsize=8.5)
            ax.set_title(facets.format_level(image), fontsize=9)
            ax.tick_params(labelsize=7.5)
            ax.set_ylim(*axis_ticks.padded_limits(sub["loss"], log=True))
            axis_ticks.tidy_axis(ax.xaxis)
            axis_ticks.tidy_axis(ax.yaxis)
            ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    handles = []
    for column, levels, draw_one in (
            (enc.hue, hues, lambda v: dict(color=colours[facets.format_level(v)])),
            (enc.marker, facets.order_levels(curves[enc.marker]) if enc.marker
             else [], lambda v: dict(color="0.3",
                                     linestyle=styles[facets.format_level(v)]))):
        if column:
            handles.append(facet_grid.legend_header(LABELS.get(column, column)))
            handles += [plt.Line2D([], [], label=enc.level(column, v),
                                   **draw_one(v)) for v in levels]
    if handles:
        facet_grid.add_legend(fig, handles, loc="outside right upper", fontsize=8)
    fig.suptitle(facet_grid.wrap_title([title, "one line per run (every seed)"],
                                       fig.get_figwidth()), fontsize=9.5)
    return fig
