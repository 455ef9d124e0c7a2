"""ps_noise figures of runs: one run's figure, the contact sheets.

Every loss number is named where it is shown, with the words of
:data:`.grids.LOSS_LABELS`; representation errors are ``PS(target) -
PS(metamer)`` everywhere, as their axis labels say.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from plenexp.experiments.ps_noise.grids import (  # noqa: E402
    EXPERIMENT,
    LOSS_DEFINITIONS,
    LOSS_LABELS,
    LOSS_SHORT,
    format_weights,
)
from plenexp.experiments.ps_noise.run import INIT_FILE, METAMER_FILE  # noqa: E402
from plenexp.experiments.ps_noise.summary_figures import (  # noqa: E402
    SETTINGS,
    settings_text,
    start_label,
    start_order,
    weights_order,
)
from plenexp.runs import results
from plenexp.summary import draw, facets, figure_files
from plenexp.synth import synthesis  # noqa: E402

#: Stem of a run's figure.
FIGURE = "ps_noise"
#: What a contact-sheet cell says of its metamer.
CELL_LOSSES = ("loss", "l2_no_minmax", "l2_norm")
#: What the seven weights weight, as figure titles say it.
WEIGHTS_TEXT = "weights (mean, var, skew, kurt, min, max, highpass var)"


def _array(image: torch.Tensor) -> np.ndarray:
    return image.detach().cpu().double().numpy()[0, 0]


def _show(ax, image: torch.Tensor, title: str, vmin: float = 0.0,
          vmax: float = 1.0, fontsize: float = 10):
    shown = ax.imshow(_array(image), cmap="gray", vmin=vmin, vmax=vmax,
                      interpolation="none")
    ax.set_title(title, fontsize=fontsize)
    ax.set_axis_off()
    return shown


def named_losses(row: dict, keys=("loss", "l2_no_minmax"), short: bool = False,
                 sep: str = "\n") -> str:
    """Loss numbers of a ``loss.csv`` row, each after the name of its loss."""
    names = LOSS_SHORT if short else LOSS_LABELS
    return sep.join(f"{names[key]} {float(row[key]):.4g}" for key in keys)


# ------------------------------------------------------------- one run ---


def run_figure(model: torch.nn.Module, image: torch.Tensor, init: torch.Tensor,
               metamer: torch.Tensor, args: dict, row: dict):
    """Target | initial image | metamer, above ``PS(target) - PS(metamer)``.

    Target and metamer are drawn on [0, 1] (metamer pixels outside it
    saturate; the title gives its range), the initial image on its own range,
    shown by its colour bar. The loss numbers are the run's ``loss.csv`` row.
    """
    fig = plt.figure(figsize=(17, 10.5), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.05], hspace=0.04)
    axes = top.subplots(1, 3)
    _show(axes[0], image, "target")
    lo, hi = float(init.min()), float(init.max())
    shown = _show(axes[1], init, f"initial image: {args['init_noise_type']} noise,\n"
                  f"amplitude {args['init_noise']:g}, seed {args['seed']}", lo, hi)
    top.colorbar(shown, ax=axes[1], shrink=0.8, label="pixel value")
    _show(axes[2], metamer,
          f"metamer (pixels in [{float(metamer.min()):.2f}, "
          f"{float(metamer.max()):.2f}], drawn on [0, 1])\n"
          + named_losses(row, ("loss", "l2_no_minmax", "l2_norm")))
    ax = bottom.subplots()
    draw.representation_error(model, image, metamer, ax=ax, title=" ")
    bottom.suptitle("PS(target) - PS(metamer) by statistic group; loss "
                    f"{WEIGHTS_TEXT}: {format_weights(args['weights'])}",
                    fontsize=11)
    crop = f" {args['crop']}x{args['crop']}" if args.get("crop") else ""
    seconds = float(row.get("synth_duration", math.nan))
    fig.suptitle(f"{EXPERIMENT}: {row.get('image', args['img'])}{crop}, "
                 f"{args['synth_max_iter']} LBFGS iterations (history "
                 f"{args['history_size']}), {row.get('device', '?')}, synthesis "
                 f"{seconds:.1f} s", fontsize=13)
    return fig


def write_run_figure(out_dir: Path, model, image, init, metamer, args: dict,
                     row: dict) -> list[Path]:
    """Save :func:`run_figure` as ``ps_noise.svg`` and ``ps_noise.png``."""
    fig = run_figure(model, image, init, metamer, args, row)
    return figure_files.save(fig, Path(out_dir) / FIGURE)


# ------------------------------------------------------- contact sheet ---


def _crop_text(value) -> str:
    text = str(value)
    return "" if text.lower() in ("", "none", "nan") else str(int(float(text)))


def _load(run_dir: Path, name: str) -> torch.Tensor:
    saved = synthesis.load_tensors(run_dir / name)
    return saved["_metamer"] if name == METAMER_FILE else saved


def contact_sheet(frame: pd.DataFrame, output_dir: Path, target_of) -> list[Path]:
    """Draw the initial images and metamers of every run, one page per image.

    Columns: the target (top row), the initial image, then one per weight
    set: the metamer on [0, 1], titled with its losses, each named, and its
    pixel range. Every initial image of a page shares one grey range (the
    widest), with a colour bar, so stronger noise looks stronger. Rows:
    initial noise and seed (and iterations, history or device where they
    vary). One page per image (and crop, where an image has several).

    Parameters
    ----------
    target_of
        Function of a run directory giving its target image.
    """
    written = []
    frame = frame.assign(
        start=[start_label(t, a) for t, a in zip(
            frame["noise_type"], frame["noise_amplitude"], strict=True)],
        crop_text=[_crop_text(c) for c in frame["crop"]])
    for (image, crop), sub in frame.groupby(["image", "crop_text"]):
        weights = weights_order(sub)
        order = {label: i for i, label in enumerate(start_order(sub))}
        extras = facets.varying(sub, [c for c in SETTINGS if c != "crop"])
        keys = ["start", "seed", *extras]
        rows = sorted({tuple(r) for r in sub[keys].itertuples(index=False)},
                      key=lambda r: (order[r[0]], *map(facets.level_key, r[1:])))
        n_cols = len(weights) + 2
        fig, axes = plt.subplots(len(rows), n_cols, squeeze=False,
                                 figsize=(2.5 * n_cols + 0.8, 2.8 * len(rows) + 1.0),
                                 layout="constrained")
        for ax in axes.flat:
            ax.set_axis_off()
        for j, weight in enumerate(weights):
            axes[0, j + 2].set_title(f"weights {weight}", fontsize=8)
        low = min(0.0, float(sub["init_min"].min()))
        high = max(1.0, float(sub["init_max"].max()))
        first = Path(sub["run_dir"].iloc[0])
        with results.skipping(first, "target not drawn"):
            _show(axes[0, 0], target_of(first), "target")
        shown = None
        for i, key in enumerate(rows):
            runs = sub[(sub[keys].map(str) == [str(k) for k in key]).all(axis=1)]
            label = f"{key[0]}, seed {key[1]}"
            if extras:
                label += "\n" + settings_text(runs.iloc[0], extras)
            for _, run in runs.iterrows():
                run_dir = Path(run["run_dir"])
                j = weights.index(str(run["weights"])) + 2
                header = f"weights {run['weights']}\n" if i == 0 else ""
                with results.skipping(run_dir / METAMER_FILE, "not drawn"):
                    _show(axes[i, j], _load(run_dir, METAMER_FILE),
                          header + named_losses(run, CELL_LOSSES, short=True)
                          + "\npixels "
                          f"[{run['metamer_min']:.2f}, {run['metamer_max']:.2f}]",
                          fontsize=7.5)
                if not axes[i, 1].images:
                    with results.skipping(run_dir / INIT_FILE, "not drawn"):
                        shown = _show(axes[i, 1], _load(run_dir, INIT_FILE),
                                      ("initial image\n" if i == 0 else "") + label,
                                      low, high, fontsize=8)
        if shown is not None:
            fig.colorbar(shown, ax=axes[:, 1], location="left", shrink=0.6,
                         label="initial pixel value (one range per page)")
        several_crops = frame.loc[frame["image"] == image, "crop_text"].nunique() > 1
        name = f"{image}_crop-{crop}" if several_crops and crop else image
        size = f", {crop}x{crop} crop" if crop else ""
        iters = ", ".join(str(int(v)) for v in sorted(sub["synth_iter"].unique()))
        names = "; ".join(f"{LOSS_SHORT[k]}: {LOSS_DEFINITIONS[k]}"
                          for k in CELL_LOSSES)
        fig.suptitle(f"{EXPERIMENT} metamers of {image}{size}, {iters} iterations, "
                     f"drawn on [0, 1]\n{names}", fontsize=9)
        written += figure_files.save(fig, output_dir / f"contact_sheet_{name}")
    return written
