"""Draw one run's figure: initial image | each kept metamer | target.

Each metamer (a run's checkpoints too) is titled with its iterations,
synthesis seconds and overall L2 loss (from the run's ``loss.csv``: run
analyze.py first on MATLAB runs), every image on one grey range. The figure
(SVG + PNG, ``metamers``) goes into the run directory, or into --output_dir
(one subdirectory per run when several are given). The metamers of every
method at equal time budgets are drawn by summarize.py, with
:func:`budget_grid` here. Every image is drawn on one grey range, 0 (black)
to 1 (white), the range of the targets; metamer pixels outside it are
clipped in the drawing only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli
from plenexp.runs import rundir

if TYPE_CHECKING:
    import torch

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
    from plenexp.summary import draw, figure_files
    from plenexp.synth import images
    from ps_matlab_vs_plen.run import method_label

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
        Gives the metamer of a row (``None``: unreadable, drawn as such).

    Returns
    -------
    fig, budgets
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ps_matlab_vs_plen.stats import ladder

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
            image = load(row)
            if image is None:  # its file unreadable (reported by ``load``)
                ax.text(0.5, 0.5, "metamer\nunreadable", ha="center",
                        va="center", fontsize=7, color="0.5", transform=ax.transAxes)
            else:
                show(ax, image)
            ax.set_title(f"{int(row['synth_iters'])} {_steps_word(row)}, "
                         f"{_seconds(row[time])} s\nL2 {row['loss']:.3g}",
                         fontsize=7)
    fig.suptitle(f"{title}\nmetamer with the largest synthesis time within each "
                 f"budget; every image on one grey range ({vmin:g}-{vmax:g})",
                 fontsize=9, y=1 - 0.1 / fig_h, va="top")
    return fig, budgets


def draw_run(run_dir: Path, stem: Path | None = None, force: bool = False) -> bool:
    """Draw a run's figure (:func:`run_figure`) unless it exists.

    ``stem``: where (default: ``<run_dir>/metamers``). Returns whether it drew.
    """
    run_dir = Path(run_dir)
    stem = run_dir / RUN_FIGURE if stem is None else Path(stem)
    if not force and stem.with_suffix(".png").exists():
        return False
    from plenexp.runs import results as shared_results
    from ps_matlab_vs_plen import run

    result = run.load_result(run_dir)
    rows = shared_results.read_rows(run.table_path(run_dir))
    run_figure(result, run.result_target(result), rows, stem)
    return True


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("run_dirs", nargs="+", type=Path,
                        help="finished run(s), or directories holding runs")
    parser.add_argument("--output_dir", "--output-dir", dest="output_dir", type=Path,
                        default=None, help="where to write (default: each run's "
                        "directory)")
    return parser.parse_args()


def main() -> None:
    """Draw each run's figure."""
    args = parse_args()
    runs = rundir.finished_runs(args.run_dirs)
    from ps_matlab_vs_plen import run

    for run_dir, out in rundir.plot_destinations(runs, args.output_dir):
        if not run.table_path(run_dir).is_file():
            raise cli.UsageError(f"{run_dir} has no loss.csv yet: run analyze.py "
                                 "on it first")
        out.mkdir(parents=True, exist_ok=True)
        draw_run(run_dir, out / RUN_FIGURE, force=True)
        print(f"figure of {run_dir.name} in {out}")


if __name__ == "__main__":
    cli.run(main)
