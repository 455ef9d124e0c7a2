"""Figures of metamer images: one run's, and every method at equal time budgets.

Every image is drawn on one grey range, 0 (black) to 1 (white), the range of
the targets; metamer pixels outside it are clipped in the drawing only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from plenexp.experiments.ps_matlab_vs_plen.grids import method_label  # noqa: E402
from plenexp.experiments.ps_matlab_vs_plen.stats import ladder  # noqa: E402
from plenexp.summary import draw, figure_files
from plenexp.synth import images  # noqa: E402

#: Stem of a run's own figure (in the run directory, or plot.py's --output_dir).
RUN_FIGURE = "metamers"
#: The one grey range of every image.
GREY_RANGE = (0.0, 1.0)


def _seconds(value: float) -> str:
    """Seconds in at most three digits, never in exponent notation."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


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
    fig = draw.images_row(panels, titles, f"{label}, {state['img']}, "
                          f"{state['init_img']}, {state['device']} on "
                          f"{state['host'] or 'unknown host'}")
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


def _row_label(text: str, width: int = 22) -> str:
    """A method label broken before its parentheses or brackets when long."""
    if len(text) <= width:
        return text
    return text.replace(" (", "\n(").replace(" [", "\n[")


def budget_grid(cells, target: torch.Tensor, methods: Sequence[str],
                load: Callable[[object], torch.Tensor], title: str,
                time: str = "synth_duration"):
    """Metamers at equal time budgets: rows = methods, columns = 1-2-5 budgets.

    Each cell is the method's metamer with the largest time not above the
    column's budget (blank if it has none), titled with its iterations,
    seconds and overall L2 loss; the target is in the first column. Every
    image is drawn on :data:`GREY_RANGE`.

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
    height, width = target.shape[-2:]
    # inches: label column, cell, gaps, a cell's two-line title, the headers
    label_w, cell_w, gap, cell_title, top = 1.9, 1.55, 0.12, 0.42, 1.05
    cell_h = cell_w * height / width
    n_cols = len(budgets) + 1
    fig_w = label_w + n_cols * (cell_w + gap) + 0.1
    fig_h = top + len(methods) * (cell_h + cell_title + gap) + 0.1
    fig = plt.figure(figsize=(fig_w, fig_h))
    vmin, vmax = GREY_RANGE

    def cell_axes(row: int, col: int):
        x0 = label_w + col * (cell_w + gap)
        y1 = fig_h - top - row * (cell_h + cell_title + gap) - cell_title
        ax = fig.add_axes((x0 / fig_w, (y1 - cell_h) / fig_h, cell_w / fig_w,
                           cell_h / fig_h))
        ax.set_xticks([])
        ax.set_yticks([])
        return ax, (y1 - cell_h / 2) / fig_h, (x0 + cell_w / 2) / fig_w

    def show(ax, image: torch.Tensor) -> None:
        ax.imshow(image.detach().cpu().double().numpy()[0, 0], cmap="gray",
                  vmin=vmin, vmax=vmax, interpolation="none")

    ax, _, x_mid = cell_axes(0, 0)
    show(ax, target)
    ax.set_title("target", fontsize=8)
    for j, budget in enumerate(budgets, start=1):
        x_mid = (label_w + j * (cell_w + gap) + cell_w / 2) / fig_w
        fig.text(x_mid, (fig_h - top + 0.12) / fig_h, f"≤ {budget:g} s",
                 ha="center", va="bottom", fontsize=9, fontweight="bold")
    for i, method in enumerate(methods):
        for j, budget in enumerate(budgets, start=1):
            ax, y_mid, _ = cell_axes(i, j)
            if j == 1:
                fig.text((label_w - 0.12) / fig_w, y_mid, _row_label(method),
                         ha="right", va="center", fontsize=8)
            row = chosen.get((method, budget))
            if row is None:
                for spine in ax.spines.values():
                    spine.set_color("0.85")
                ax.text(0.5, 0.5, "no run\nwithin budget", ha="center",
                        va="center", fontsize=7, color="0.5", transform=ax.transAxes)
                continue
            show(ax, load(row))
            ax.set_title(f"{int(row['synth_iters'])} {_steps_word(row)}, "
                         f"{_seconds(row[time])} s\nL2 {row['loss']:.3g}",
                         fontsize=7)
    fig.suptitle(f"{title}\nmetamer with the largest synthesis time within each "
                 f"budget; every image on one grey range ({vmin:g}-{vmax:g})",
                 fontsize=9, y=1 - 0.1 / fig_h, va="top")
    return fig, budgets
