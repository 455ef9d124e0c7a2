"""ps_matlab figures: one metamer as plenoptic sees it, and the summaries.

Representation errors are ``PS(target) - PS(metamer)`` everywhere, as their
axis labels say. The MATLAB side is named by its engine (Octave or MATLAB):
the same code runs at other speeds under each.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from plenexp.experiments.ps_matlab.run import FACT_COLUMNS, LOSS, LOSS_LABEL  # noqa: E402
from plenexp.summary import (
    draw,
    facet_grid,
    facets,
    figure_files,  # noqa: E402
)

#: Label values beside their points when a panel has at most this many.
MAX_LABELLED = 6
#: Display names of the summary's variables.
LABELS = {"n_iter": "textureSynth iterations", "engine": "engine", "crop": "crop",
          "init": "initial image", "loss": LOSS_LABEL}


def engine_name(meta: dict) -> str:
    """``Octave 7.3.0``, ``MATLAB R2023a`` or ``textureSynth`` if unknown."""
    engine = str(meta.get("engine") or "")
    if not engine or engine.lower() in ("none", "nan"):
        return "engine not recorded"
    name = {"octave": "Octave", "matlab": "MATLAB"}.get(engine.lower(), engine)
    version = meta.get("engine_version")
    return f"{name} {version}" if version and str(version) != "None" else name


def _iterations(meta: dict) -> str:
    n_iter = meta.get("n_iter")
    if n_iter is None or (isinstance(n_iter, float) and math.isnan(n_iter)):
        return ""
    return f", {int(n_iter)} iterations"


def metamer_figure(name: str, label: str, meta: dict, model: torch.nn.Module,
                   target: torch.Tensor, metamer: torch.Tensor, row: dict):
    """Target | textureSynth metamer (titled with its PS loss), above the error.

    The error is ``PS(target) - PS(metamer)`` by statistic group, as
    plenoptic's ``plot_representation`` draws it.
    """
    fig = plt.figure(figsize=(16, 10.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.05], hspace=0.04)
    axes = top.subplots(1, 2)
    for ax, image, title in (
            (axes[0], target, f"target: {label}"),
            (axes[1], metamer.clip(0, 1),
             f"textureSynth metamer ({engine_name(meta)}{_iterations(meta)})\n"
             f"{LOSS_LABEL}: {float(row['loss']):.4g}")):
        ax.imshow(image.numpy()[0, 0], cmap="gray", vmin=0, vmax=1,
                  interpolation="none")
        ax.set_title(title, fontsize=12)
        ax.set_axis_off()
    ax = bottom.subplots()
    draw.representation_error(model, target, metamer, ax=ax, title=" ")
    bottom.suptitle("plenoptic: PS(target) - PS(textureSynth metamer) by statistic "
                    "group (largest single value "
                    f"{float(row['max_abs_rep_error']):.3g}; correlation panels "
                    "show norms over orientations)", fontsize=12)
    fig.suptitle(name, fontsize=13)
    return fig


def write_metamer_figure(metamer, model, target, res, row: dict,
                         stem: Path) -> list[Path]:
    """Save :func:`metamer_figure` of a ``MatlabMetamer`` as ``stem.{svg,png}``."""
    fig = metamer_figure(metamer.name, metamer.label, metamer.meta, model, target,
                         res, row)
    return figure_files.save(fig, stem)


# ------------------------------------------------------------- summary ---


def group_columns(frame: pd.DataFrame) -> list[str]:
    """The per-statistic-group loss columns of a loss table."""
    return [c for c in frame.columns if c not in FACT_COLUMNS]


def _label_points(fig, agg: pd.DataFrame, enc: facets.Encoding, x: str,
                  y: str) -> None:
    """Write each point's value (and min-max, n) beside it, in sparse panels."""
    for ax in fig.axes:
        gids = {a.get_gid() for a in ax.get_children()}
        images = [g.split(":", 1)[1] for g in gids
                  if isinstance(g, str) and g.startswith("image:")]
        if len(images) != 1:
            continue
        rows = agg[agg[enc.image].map(facets.format_level) == images[0]]
        # facets draws the medians as one scatter per panel (older: lines)
        points = [tuple(xy) for line in ax.lines
                  if line.get_marker() not in (None, "", "None")
                  for xy in line.get_xydata()]
        points += [tuple(xy) for coll in ax.collections
                   if isinstance(coll, PathCollection)
                   for xy in np.asarray(coll.get_offsets())]
        if not points or len(points) > MAX_LABELLED:
            continue
        for px, py in points:
            match = rows[np.isclose(rows[x].astype(float), px)
                         & np.isclose(rows[y].astype(float), py)]
            if not len(match):
                continue
            one = match.iloc[0]
            text = f"{py:.3g}"
            if one["n"] > 1:
                text += f"\n({one[f'{y}_min']:.3g} to {one[f'{y}_max']:.3g},"\
                    f" n={int(one['n'])})"
            ax.annotate(text, (px, py), xytext=(7, 0), textcoords="offset points",
                        va="center", fontsize=7.5, color="0.2")


def loss_overall(frame: pd.DataFrame) -> plt.Figure:
    """PS loss against iterations, one panel per image, seeds aggregated.

    Points are medians over seeds with min-max bars (``n`` in the caption);
    the axis is linear when the values span little (log otherwise, with
    several labelled ticks), and sparse panels write each value beside its
    point. Engine, crop and initial image, where they vary, are colour,
    marker or panels.
    """
    data = frame.assign(engine=[engine_name(r) for r in frame.to_dict("records")])
    by = [c for c in ("image", "n_iter", "engine", "crop", "init")
          if c in data.columns]
    agg = facets.aggregate(data, by, ["loss"])
    enc = facets.choose_encoding(agg, ["engine", "init", "crop"], image="image",
                                 labels=LABELS)
    fig = facet_grid.scatter_grid(
        agg, "n_iter", "loss", enc, xlabels={"n_iter": LABELS["n_iter"]},
        ylabel=LOSS_LABEL,
        title="textureSynth metamers scored by plenoptic's PS model")
    _label_points(fig, agg, enc, "n_iter", "loss")
    for ax in fig.axes:  # iterations are whole numbers
        if ax.axison and ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(
                mticker.MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
    return fig


def row_label(row: dict, several_engines: bool) -> str:
    """``image / seed S / N it`` (and the engine, where several)."""
    seed = facets.format_level(row.get("seed"))
    n_iter = facets.format_level(row.get("n_iter"))
    parts = [str(row["image"]), f"seed {seed}", f"{n_iter} it"]
    if several_engines:
        parts.append(engine_name(row))
    return " / ".join(parts)


def loss_by_group(frame: pd.DataFrame) -> plt.Figure:
    """Heat map of log10 PS loss by statistic group, one row per metamer.

    Rows are labelled image / seed / iterations, in numeric order.
    """
    frame = facets.sort_frame(frame, ["image", "n_iter", "seed", "engine"])
    engines = {engine_name(r) for r in frame.to_dict("records")}
    labels = [row_label(r, len(engines) > 1) for r in frame.to_dict("records")]
    groups = group_columns(frame)
    heat = frame[["loss", *groups]].astype(float)
    heat.index = labels
    heat = np.log10(heat.where(heat > 0)).rename(columns={"loss": "overall"})
    fig, ax = plt.subplots(figsize=(0.75 * len(heat.columns) + 4.5,
                                    max(0.34 * len(heat), 2.2) + 3.2),
                           layout="constrained")
    sns.heatmap(heat, ax=ax, cmap="viridis", annot=len(heat) <= 16, fmt=".1f",
                annot_kws={"fontsize": 8},
                cbar_kws={"label": f"log10 PS loss ({LOSS})"})
    ax.set_xlabel("statistic group")
    ax.set_ylabel("image / seed / iterations" + (" / engine" if len(engines) > 1
                                                 else ""))
    ax.tick_params(axis="x", labelrotation=60)
    ax.tick_params(axis="y", labelrotation=0)
    for text in ax.get_xticklabels():
        text.set_horizontalalignment("right")
    engine_text = ", ".join(e.replace("textureSynth ", "") for e in sorted(engines))
    ax.set_title(f"textureSynth metamers ({engine_text}): plenoptic's PS loss by "
                 "statistic group", fontsize=10)
    return fig
