"""Figures of metamer images: one run's, and every method at equal time budgets.

Every image is drawn on one grey range, 0 (black) to 1 (white), the range of
the targets; metamer pixels outside it are clipped in the drawing only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ... import draw, figure_files, images  # noqa: E402
from .grids import method_label  # noqa: E402

#: Stem of a run's own figure (in the run directory, or plot.py's --output_dir).
RUN_FIGURE = "metamers"
#: The one grey range of every image.
GREY_RANGE = (0.0, 1.0)


def ladder(low: float, high: float) -> list[float]:
    """1-2-5 values from the first at or above ``low`` to the first above ``high``.

    (The last is the first at or above ``high``.)
    """
    if not (low > 0 and math.isfinite(low) and math.isfinite(high)):
        return []
    values = []
    exponent = math.floor(math.log10(low))
    while True:
        for mantissa in (1, 2, 5):
            value = round(mantissa * 10.0**exponent, 10)
            if value >= low * (1 - 1e-9):
                values.append(value)
                if value >= high * (1 - 1e-9):
                    return values
        exponent += 1


def _steps_word(row: dict) -> str:
    return "steps" if str(row["optimizer"]).startswith("LBFGS") else "it"


def run_figure(result, target: torch.Tensor, rows: list[dict],
               stem: Path) -> list[Path]:
    """One run: initial image | each kept metamer | target (SVG + PNG).

    Each metamer's title gives its iterations, synthesis seconds and overall
    L2 loss (from the run's ``loss.csv`` rows).
    """
    overall = {r.get("metamer"): r for r in rows
               if r["loss_func"] == "l2_norm" and r["loss_type"] == "overall"}
    panels, titles = [], []
    if result.init_path is not None and result.init_path.is_file():
        panels.append(images.load_image(result.init_path))
        titles.append(f"initial image\n{result.states[0]['init_img']}")
    for state in result.states:
        panels.append(result.metamer(state["source"]))
        row = overall.get(state["source"], {})
        loss = f", L2 {float(row['loss']):.3g}" if row else ""
        titles.append(f"{state['synth_iters']} {_steps_word(state)}\n"
                      f"{float(state['synth_duration']):.1f} s{loss}")
    panels.append(target)
    titles.append(f"target\n{state['img']}")
    label = method_label(state["optimizer"], float(state["res_highpass_weight"]),
                         state["engine"])
    fig = draw.images_row(panels, titles)
    fig.suptitle(f"{label}, {state['img']}, {state['init_img']}, "
                 f"{state['device']} on {state['host'] or 'unknown host'}",
                 fontsize=10)
    fig.tight_layout()
    return figure_files.save(fig, stem)


def at_budgets(cells, budgets: Sequence[float], time: str = "synth_duration"):
    """For each method and budget, the row with the largest time within it.

    Parameters
    ----------
    cells
        One row per kept metamer of one image and seed (``method`` and
        ``time`` columns).

    Returns
    -------
    chosen
        ``{(method, budget): row}``; a pair without any run within the
        budget is absent.
    """
    chosen = {}
    for method, part in cells.groupby("method"):
        part = part.sort_values(time)
        for budget in budgets:
            fits = part[part[time] <= budget * (1 + 1e-9)]
            if len(fits):
                chosen[method, budget] = fits.iloc[-1]
    return chosen


def budget_grid(cells, target: torch.Tensor, methods: Sequence[str],
                load: Callable[[object], torch.Tensor], title: str,
                time: str = "synth_duration"):
    """Metamers at equal time budgets: rows = methods, columns = 1-2-5 budgets.

    Each cell is the method's metamer with the largest time not above the
    column's budget (blank if it has none), titled with its iterations,
    seconds and overall L2 loss; the target is in the first column.

    Parameters
    ----------
    cells
        One row per kept metamer of one image and seed: ``method``,
        ``optimizer``, ``synth_iters``, ``time``, ``loss`` (overall L2) and
        whatever ``load`` needs.
    load
        Gives the metamer of a row.

    Returns
    -------
    fig, budgets
    """
    budgets = ladder(cells[time].min(), cells[time].max())
    chosen = at_budgets(cells, budgets, time)
    n_rows, n_cols = len(methods), len(budgets) + 1
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.9 * n_cols, 2.1 * n_rows + 0.6),
                             squeeze=False)
    vmin, vmax = GREY_RANGE
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    axes[0, 0].imshow(target.detach().cpu().double().numpy()[0, 0], cmap="gray",
                      vmin=vmin, vmax=vmax, interpolation="none")
    axes[0, 0].set_title("target", fontsize=8)
    for i, method in enumerate(methods):
        axes[i, 1].set_ylabel(method, fontsize=8, rotation=0, ha="right",
                              va="center", labelpad=4)
        for j, budget in enumerate(budgets, start=1):
            ax = axes[i, j]
            if i == 0:
                ax.set_title(f"≤ {budget:g} s", fontsize=9, fontweight="bold",
                             pad=24)
            row = chosen.get((method, budget))
            if row is None:
                ax.text(0.5, 0.5, "no run\nwithin budget", ha="center", va="center",
                        fontsize=7, color="0.5", transform=ax.transAxes)
                continue
            ax.imshow(load(row).detach().cpu().double().numpy()[0, 0], cmap="gray",
                      vmin=vmin, vmax=vmax, interpolation="none")
            ax.text(0.5, 1.02, f"{int(row['synth_iters'])} {_steps_word(row)}, "
                    f"{row[time]:.2g} s\nL2 {row['loss']:.3g}", ha="center",
                    va="bottom", fontsize=7, transform=ax.transAxes)
    fig.suptitle(f"{title}\nmetamer with the largest synthesis time within each "
                 f"budget; every image on one grey range ({vmin:g}-{vmax:g})",
                 fontsize=9)
    fig.tight_layout()
    return fig, budgets
