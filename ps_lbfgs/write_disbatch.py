"""Write the disBatch task file of one ps_lbfgs grid (one shell line per run).

Grids: quick (offline, minutes on a laptop), smoke (seconds), full (the last
published sweep, 48 runs), mse and small_lr (the earlier sweeps). Every grid
gives all its runs one budget (``--synth_max_iter``), so shorter budgets are
read from the runs' trajectories rather than run again: a 5-step run computes
exactly the first 5 steps of a 10-step run with the same seed, and no separate
``longest`` grid is needed.
"""

from __future__ import annotations

import itertools

from plenexp import cli
from plenexp.cluster import cost, tasks
from plenexp.cluster.tasks import Task

EXPERIMENT = "ps_lbfgs"

# The sweeps: every combination of the listed values is one run. max_eval is
# a fraction of max_iter (None: LBFGS's own default, 1.25 x max_iter).
PUBLISHED = dict(img=["fig4a", "fig16b"], seed=[0, 1], max_iter=[5, 10, 20, 40],
                 max_eval_fraction=[0.5, 1, None], synth_max_iter=2000)
FULL = dict(PUBLISHED, history_size=[200], lr=[1.0])
MSE = dict(PUBLISHED, history_size=[100], lr=[0.1, 1.0, 10.0, 100.0],
           loss_function="mse")
SMALL_LR = dict(PUBLISHED, history_size=[100],
                lr=[0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.0, 1.1, 2.0])
# Offline, minutes on 2 cores: a builtin texture cropped to 128x128; every run
# gets the same 8 steps with early stopping off, so runs differ in how many
# model passes (and seconds) a step costs and how far it gets.
QUICK = dict(img=["reptile_skin"], crop=128, seed=[0], max_iter=[5, 10, 20],
             max_eval_fraction=[0.5, 1, None], history_size=[100], lr=[1.0],
             synth_max_iter=8, stop=False)
# Two tiny runs (3 steps): checks an installation in seconds.
SMOKE = dict(img=["reptile_skin"], crop=128, seed=[0], max_iter=[5],
             max_eval_fraction=[1, None], history_size=[10], lr=[1.0],
             synth_max_iter=3, stop=False)


def max_eval_count(max_iter: int, fraction: float | None) -> int | None:
    """LBFGS's ``max_eval`` for a fraction of ``max_iter`` (``None`` stays None).

    ``int(fraction x max_iter)``, at least 1: 0.5 x 5 is 2. The one place the
    count is made from the fraction (``synthesize.py --max_eval_fraction``).
    """
    return None if fraction is None else max(1, int(max_iter * fraction))


def run_seconds(img: str, crop: int | None, synth_max_iter: int, max_iter: int,
                max_eval: int | None, line_search_fn: str | None = "strong_wolfe",
                device: str = "cpu") -> float:
    """Estimated seconds of one run (an upper bound: runs may stop early).

    Start-up plus the most PS model evaluations ``synth_max_iter`` LBFGS steps
    may make (``cost.lbfgs_evaluations``) at the image's size.
    """
    if str(line_search_fn).lower() == "none":
        line_search_fn = None
    shape = cost.image_shape({"img": img, "crop": crop})
    evaluations = cost.lbfgs_evaluations(synth_max_iter, max_iter, max_eval,
                                         line_search_fn)
    return cost.plenoptic_seconds(evaluations, shape, device)


def _text(value) -> str:
    return "None" if value is None else f"{value:g}"


def sweep(grid: dict, device: str = "cpu") -> list[Task]:
    """One task per combination of a grid's lists (image, seed, max_iter, ...)."""
    crop, steps = grid.get("crop"), grid["synth_max_iter"]
    line_search, loss = grid.get("line_search_fn", "strong_wolfe"), \
        grid.get("loss_function", "l2_norm")
    todo = []
    for img, seed, max_iter, fraction, history, lr in itertools.product(
            grid["img"], grid["seed"], grid["max_iter"],
            grid["max_eval_fraction"], grid["history_size"], grid["lr"]):
        max_eval = max_eval_count(max_iter, fraction)
        name = (f"{img}_seed-{seed}_ls-{line_search}_iter-{max_iter}"
                f"_eval-{max_eval}_hist-{history}_lr-{lr:g}_loss-{loss}")
        argv = ("--img", img, "--seed", str(seed), "--max_iter", str(max_iter),
                "--max_eval_fraction", _text(fraction),
                "--history_size", str(history),
                "--line_search_fn", str(line_search), "--lr", f"{lr:g}",
                "--synth_max_iter", str(steps), "--loss_function", loss,
                # figures come from analyze.py afterwards: clean process times
                "--no_plots")
        if crop is not None:
            argv += ("--crop", str(crop))
        if not grid.get("stop", True):
            argv += ("--stop_criterion", "None")
        todo.append(Task(name, argv, seconds=run_seconds(
            img, crop, steps, max_iter, max_eval, line_search, device)))
    return todo


GRIDS = {name: (lambda grid: lambda root=None, device="cpu": sweep(grid, device))(g)
         for name, g in (("quick", QUICK), ("smoke", SMOKE), ("full", FULL),
                         ("mse", MSE), ("small_lr", SMALL_LR))}


def main():
    """Write the task file of the grid the command line names."""
    tasks.write_disbatch(EXPERIMENT, GRIDS, description=__doc__)


if __name__ == "__main__":
    cli.run(main)
