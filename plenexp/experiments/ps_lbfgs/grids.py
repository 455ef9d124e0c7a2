"""ps_lbfgs grids and run names (no heavy imports: task writing stays fast).

Budgets: every ps_lbfgs run's only budget is ``--synth_max_iter`` (LBFGS steps),
and every grid gives all its runs the same one, so each grid already runs only
the longest budget of each configuration: shorter budgets are prefixes of a
run's ``trajectory.csv`` (a 5-step run computes exactly the first 5 steps of a
10-step run with the same seed), and no separate ``longest`` grid is needed.
"""

from __future__ import annotations

import itertools

from plenexp.cluster.tasks import Task

EXPERIMENT = "ps_lbfgs"

#: The builtin texture of the quick grid, cropped so a run takes seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128


def max_eval_arg(max_iter: int, fraction: float | None) -> str:
    """``--max_eval`` for a fraction of ``max_iter`` (``None``: LBFGS's default)."""
    return "None" if fraction is None else str(max(1, int(max_iter * fraction)))


def _task(img: str, seed: int, max_iter: int, eval_fraction: float | None,
          history_size: int, lr: float, synth_max_iter: int,
          line_search: str | None = "strong_wolfe", loss: str = "l2_norm",
          extra: tuple[str, ...] = (), stop: bool = True) -> Task:
    max_eval = max_eval_arg(max_iter, eval_fraction)
    name = (f"{img}_seed-{seed}_ls-{line_search}_iter-{max_iter}_eval-{max_eval}"
            f"_hist-{history_size}_lr-{lr:g}_loss-{loss}")
    argv = ("--img", img, "--seed", str(seed), "--max_iter", str(max_iter),
            "--max_eval", max_eval, "--history_size", str(history_size),
            "--line_search_fn", str(line_search), "--lr", f"{lr:g}",
            "--synth_max_iter", str(synth_max_iter), "--loss", loss,
            # figures come from analyze.py afterwards, so process times stay clean
            "--no_plots", *extra)
    if not stop:
        argv += ("--stop_criterion", "None")
    return Task(name, argv)


def _sweep(images, seeds, max_iters, eval_fractions, histories, lrs,
           synth_max_iter, **kwargs) -> list[Task]:
    return [
        _task(img, seed, mi, ef, hs, lr, synth_max_iter, **kwargs)
        for img, seed, mi, ef, hs, lr in itertools.product(
            images, seeds, max_iters, eval_fractions, histories, lrs)
    ]


def full_grid(root=None, device: str = "cpu") -> list[Task]:
    """The last published sweep: 48 runs on the paper's fig4a and fig16b."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [200], [1.0], 2000)


def mse_grid(root=None, device: str = "cpu") -> list[Task]:
    """Earlier sweep with the MSE loss and large learning rates (192 runs)."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [100], [0.1, 1.0, 10.0, 100.0], 2000, loss="mse")


def small_lr_grid(root=None, device: str = "cpu") -> list[Task]:
    """Earlier sweep of learning rates at and below 2 (432 runs)."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [100], [0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.0, 1.1, 2.0], 2000)


def quick_grid(root=None, device: str = "cpu") -> list[Task]:
    """Offline, minutes on 2 cores: max_iter x max_eval on a 128x128 texture.

    Every run gets the same number of outer iterations with early stopping
    off, so runs differ in how many model passes (and seconds) each step costs
    and how far each step gets.
    """
    return _sweep([QUICK_IMAGE], [0], [5, 10, 20], [0.5, 1, None], [100], [1.0],
                  8, extra=("--crop", str(QUICK_CROP)), stop=False)


def smoke_grid(root=None, device: str = "cpu") -> list[Task]:
    """Two tiny runs (128x128, 3 iterations): checks an installation in seconds."""
    return _sweep([QUICK_IMAGE], [0], [5], [1, None], [10], [1.0], 3,
                  extra=("--crop", "128"), stop=False)


GRIDS = {
    "quick": quick_grid,
    "smoke": smoke_grid,
    "full": full_grid,
    "mse": mse_grid,
    "small_lr": small_lr_grid,
}


def run_name(args: dict) -> str:
    """Readable name of a run from its arguments.

    Ad hoc runs add a digest of every result-changing argument
    (``harness.run_dir_for(..., args=args)``), so crop, budgets and device
    that the name leaves out still keep runs apart.
    """
    ctf = "_ctf" if args.get("coarse_to_fine") else ""
    red = "_reduced" if args.get("init_reduced") else ""
    crop = f"_crop-{args['crop']}" if args.get("crop") else ""
    return (f"{args['img'].replace('/', '-')}{crop}_seed-{args['seed']}"
            f"_ls-{args['line_search_fn']}_iter-{args['max_iter']}"
            f"_eval-{args['max_eval']}_hist-{args['history_size']}"
            f"_lr-{args['lr']:g}_loss-{args['loss']}"
            f"_steps-{args['synth_max_iter']}{ctf}{red}")
