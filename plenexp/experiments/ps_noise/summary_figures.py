"""ps_noise summary figure, drawn with :mod:`plenexp.summary.facets` (no torch here).

Per-run figures and contact sheets are in :mod:`.figures`. Every loss number
is named with the words of :data:`LOSS_LABELS`.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from plenexp.experiments.ps_noise.grids import EXPERIMENT, LOSS_LABELS  # noqa: E402
from plenexp.summary import axis_ticks, facet_grid, facets
from plenexp.synth import success  # noqa: E402


def start_label(noise_type: str, amplitude: float) -> str:
    """Name the initial image's noise as figures do, e.g. ``normal 2``."""
    return f"{noise_type} {float(amplitude):g}"


def start_order(frame: pd.DataFrame) -> list[str]:
    """Initial-noise labels: uniform first, then by amplitude."""
    pairs = sorted({(t != "uniform", float(a), t) for t, a in
                    zip(frame["noise_type"], frame["noise_amplitude"], strict=True)})
    return [start_label(t, a) for _, a, t in pairs]


def weights_order(frame: pd.DataFrame) -> list[str]:
    """Weight sets in numeric order."""
    return sorted(frame["weights"].astype(str).unique(),
                  key=lambda w: [float(v) for v in w.split(",")])


#: Run settings that, where they vary, tell rows of a contact sheet and
#: points of the summary apart (besides image, start, weights and seed).
SETTINGS = ("synth_iter", "history_size", "crop", "device")
#: Their names in legends and titles.
SETTING_LABELS = {"synth_iter": "iterations", "history_size": "history",
                  "crop": "crop", "device": "device"}


def settings_text(row, columns) -> str:
    """``iterations 25, history 100``: the settings ``columns`` of ``row``."""
    return ", ".join(f"{SETTING_LABELS[c]} {facets.format_level(row[c])}"
                     for c in columns)


#: Rows of the summary figure: ``loss.csv`` column and axis label. The
#: objective (``loss``) is left out: at the end of a run it equals
#: ``l2_no_minmax`` to about 3 digits (see :data:`OBJECTIVE_NOTE`).
MEASURES = {
    "l2_no_minmax": LOSS_LABELS["l2_no_minmax"],
    "l2_norm": LOSS_LABELS["l2_norm"],
    "out_of_range": "fraction of metamer pixels outside [0, 1]",
}
#: Why the objective has no row of its own.
OBJECTIVE_NOTE = (
    f"{LOSS_LABELS['loss']} not drawn: it equals the top row to about 3 digits\n"
    "(min and max are weighted 0; the statistics weighted above 1 end matched);"
    " both are in all_loss.csv")
#: Where the success criterion's loss threshold is drawn.
SUCCESS_ROW = "l2_norm"


def _offsets(n_dodge: int, width: float = 0.7) -> np.ndarray:
    """Offsets along x of ``n_dodge`` series side by side at one position."""
    if n_dodge == 1:
        return np.zeros(1)
    return np.linspace(-width / 2, width / 2, n_dodge)


def summary_figure(frame: pd.DataFrame) -> plt.Figure:
    """Final losses by initial image (x) and weights (colour), one column per image.

    Rows: :data:`MEASURES`. Each point is the median over seeds with min-max
    bars (``n`` in the title); any other setting that varies (iterations,
    history, crop, device) is a marker. A log axis where values span a
    factor 4 or more. The success threshold of the overall L2 is drawn.
    """
    data = frame.assign(start=[start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])
    extras = facets.varying(data, SETTINGS)
    data["setting"] = [settings_text(r, extras) if extras else ""
                       for r in data.to_dict("records")]
    agg = facets.aggregate(data, ["image", "start", "weights", "setting"],
                           list(MEASURES))
    images = facets.order_levels(agg["image"])
    starts = start_order(data)
    weights = weights_order(data)
    settings = facets.order_levels(agg["setting"])
    colours = facet_grid.palette(weights)
    markers = dict(zip(settings, facets.MARKERS, strict=False))
    offsets = _offsets(len(weights) * len(settings))
    n_cols = len(images)
    fig, axes = plt.subplots(len(MEASURES), n_cols, squeeze=False,
                             figsize=(max(3.6 * n_cols, 4.5) + facet_grid.LEGEND_W,
                                      2.6 * len(MEASURES) + 1.4),
                             layout="constrained")
    for r, (measure, label) in enumerate(MEASURES.items()):
        values = agg[[measure, f"{measure}_min", f"{measure}_max"]].to_numpy(float)
        floor = 1e-5 if measure == "out_of_range" else None
        if floor and (values < floor).any():
            label = f"{label}\n(0 drawn at {floor:g})"
        if floor:
            values = np.clip(values, floor, None)
        if measure == SUCCESS_ROW:  # the threshold stays in view
            values = np.append(values, success.SUCCESS_LOSS)
        log = axis_ticks.use_log(values.ravel())
        limits = axis_ticks.padded_limits(values.ravel(), log)
        for c, image in enumerate(images):
            ax = axes[r, c]
            for k, (setting, weight) in enumerate(
                    (s, w) for s in settings for w in weights):
                part = agg[(agg["image"] == image) & (agg["weights"] == weight)
                           & (agg["setting"] == setting)]
                if not len(part):
                    continue
                x = np.array([starts.index(s) for s in part["start"]]) + offsets[k]
                y = part[measure].to_numpy(float)
                low = part[f"{measure}_min"].to_numpy(float)
                high = part[f"{measure}_max"].to_numpy(float)
                if floor:
                    y, low, high = (np.clip(v, floor, None) for v in (y, low, high))
                drawn = ax.errorbar(x, y, yerr=[y - low, high - y],
                                    fmt=markers[setting], color=colours[weight],
                                    markersize=6, elinewidth=0.8, capsize=0)
                for artist in drawn.get_children():
                    artist.set_gid(f"image:{image}")
            if measure == SUCCESS_ROW:
                ax.axhline(success.SUCCESS_LOSS, color="0.4", linestyle=":",
                           linewidth=1)
                ax.annotate(f"success: <= {success.SUCCESS_LOSS:g}",
                            (0.01, success.SUCCESS_LOSS),
                            xycoords=("axes fraction", "data"), xytext=(0, 2),
                            textcoords="offset points", fontsize=7, color="0.3")
            if log:
                ax.set_yscale("log")
            if limits:
                ax.set_ylim(*limits)
            axis_ticks.tidy_axis(ax.yaxis)
            ax.set_xticks(range(len(starts)), starts)
            ax.set_xlim(-0.6, len(starts) - 0.4)
            ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
            ax.tick_params(labelsize=8)
            if r == 0:
                ax.set_title(str(image), fontsize=10)
            if c == 0:
                ax.set_ylabel(label, fontsize=8.5)
        axes[-1, 0].set_xlabel("initial image (noise type, amplitude)", fontsize=9)
    facet_grid.add_legend(fig, _legend(weights, colours, settings, markers),
                          loc="outside right upper", fontsize=8)
    iters = ", ".join(facets.format_level(v)
                      for v in facets.order_levels(data["synth_iter"]))
    fig.suptitle(f"{EXPERIMENT}: losses after {iters} LBFGS iterations\n"
                 f"{facet_grid.caption(agg)}\ndotted line: overall L2 "
                 f"{success.SUCCESS_LOSS:g}, plenoptic's success threshold\n"
                 f"{OBJECTIVE_NOTE}", fontsize=9)
    return fig


def _legend(weights, colours, settings, markers) -> list:
    handles = [facet_grid.legend_header("weights")]
    handles += [Line2D([], [], linestyle="none", marker="o", color=colours[w],
                       label=w) for w in weights]
    if len(settings) > 1:
        handles.append(facet_grid.legend_header("settings"))
        handles += [Line2D([], [], linestyle="none", marker=markers[s],
                           color="0.3", label=s) for s in settings]
    return handles
