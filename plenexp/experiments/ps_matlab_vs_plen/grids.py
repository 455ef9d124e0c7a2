"""Grids, run names and where the initial images live (no heavy imports).

Two sides share one grid directory: the plenoptic runs (``synthesize.py``)
and the MATLAB textureSynth runs (``ps_matlab/synthesize.py``). Both go
through ``time_synthesize.sh``; a MATLAB task's arguments start with the word
``matlab``, which makes the timer run ps_matlab's runner.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path

from plenexp.cluster.tasks import Task, safe_name
from plenexp.errors import UsageError
from plenexp.runs import paths
from plenexp.synth.images import MAX_SIDE, image_label

EXPERIMENT = "ps_matlab_vs_plen"

#: The published sweep: images, seeds and budgets of each method.
FULL_IMAGES = ("fig4a", "fig16b")
FULL_SEEDS = tuple(range(10))
FULL_SHAPE = (256, 256)
ADAM_ITERS = (30, 75, 150, 300, 600)
LBFGS_ITERS = (10, 25, 50, 100, 200)
LBFGS_HISTORIES = (3, 100, 300)
LBFGS_WEIGHT = 100
#: LBFGS iterations (and function evaluations) inside one synthesis step.
LBFGS_MAX_ITER = 10
MATLAB_ITERS = (400, 800)

#: The quick grid: an offline built-in texture, cropped so runs take seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128
QUICK_SEEDS = (0, 1)
QUICK_ADAM_ITERS = (25, 50, 100, 200)
QUICK_LBFGS_ITERS = (2, 5, 10, 20)
QUICK_HISTORIES = (3, 100)
QUICK_MATLAB_ITERS = (5, 10, 20)

#: The statistic group that ``--weighted`` multiplies.
WEIGHTED_GROUP = "var_highpass_residual"
#: First word of a MATLAB task: ``time_synthesize.sh`` then runs ps_matlab's runner.
MATLAB_WORD = "matlab"
#: The two sides of the experiment, as ``write_disbatch.py --side`` names them.
SIDES = ("plenoptic", "matlab")
#: Name of the per-result table; ``summarize.py`` gathers these.
LOSS_TABLE = "loss.csv"
#: Suffix of the grids that run only the longest budget of each plenoptic
#: configuration, keeping the shorter budgets as checkpoints.
LONGEST = "-longest"


# ---------------------------------------------------------------- initial images

def init_image_dir(root: str | os.PathLike, shape: tuple[int, int]) -> Path:
    """Where the initial images of one size live: ``init_images/<H>x<W>``."""
    return Path(root) / EXPERIMENT / "init_images" / f"{shape[0]}x{shape[1]}"


def init_image_path(root: str | os.PathLike, seed: int,
                    shape: tuple[int, int]) -> Path:
    """Give the path of initial image ``seed-<seed>.png`` of size ``shape``."""
    return init_image_dir(root, shape) / f"seed-{seed}.png"


def parse_shape(text: str) -> tuple[int, int]:
    """``256`` or ``256x320`` as ``(height, width)``.

    Raises
    ------
    UsageError
        If the text is not one or two positive integers.
    """
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(text))
    if not match or not 0 < int(match[1]) <= MAX_SIDE \
            or (match[2] and not 0 < int(match[2]) <= MAX_SIDE):
        raise UsageError(f"bad image size {text!r}: expected N or HxW, e.g. 256, "
                         f"sides at most {MAX_SIDE}")
    height = int(match[1])
    return height, int(match[2] or height)


def seed_of(init_label: str) -> int | None:
    """The seed of an initial image named ``seed-N`` (else ``None``)."""
    match = re.fullmatch(r"seed-(\d+)", str(init_label))
    return int(match[1]) if match else None


def table_path(path: str | os.PathLike) -> Path:
    """Say where a result's table goes: its run's ``loss.csv``, else ``<stem>.csv``."""
    path = Path(path)
    return path / LOSS_TABLE if path.is_dir() else path.with_suffix(".csv")


def is_loss_table(table: str | os.PathLike) -> bool:
    """Whether ``table`` exists and is this experiment's loss table (long form).

    A MATLAB run is made by ps_matlab's ``synthesize.py``, which leaves
    ps_matlab's own wide ``loss.csv`` there: that is not this experiment's
    table, so it is written again.
    """
    try:
        with open(table, newline="") as f:
            header = next(csv.reader(f), [])
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return False
    return {"loss_func", "loss_type", "loss"} <= set(header)


def missing_init_images(tasks: Iterable[Task]) -> list[Path]:
    """List the initial image files that the tasks name but that do not exist."""
    missing = []
    for task in tasks:
        argv = list(task.argv)
        path = Path(argv[argv.index("--init_img") + 1])
        if not path.is_file() and path not in missing:
            missing.append(path)
    return missing


# ---------------------------------------------------------------- run names

def optimizer_label(optimizer: str, history_size: int | None = None) -> str:
    """``Adam``, ``LBFGS-<history>`` or ``textureSynth``."""
    return f"LBFGS-{history_size}" if optimizer == "LBFGS" else optimizer


def effective_weight(weighted: float) -> float:
    """Weight on the highpass-residual variance; ``--weighted 0`` means plain (1)."""
    return float(weighted) if weighted else 1.0


def method_label(optimizer: str, weight: float = 1.0, engine: str = "") -> str:
    """A method as figures and tables name it.

    ``Adam``, ``LBFGS-100 (highpass x100)``, ``textureSynth (Octave 7.3.0)``:
    the highpass weight where it is not 1, and textureSynth's engine (its
    speed depends on it), so runs of different engines never share a label.
    """
    if optimizer in ("textureSynth", "matlab"):
        return f"textureSynth ({engine or 'engine unknown'})"
    if weight == weight and weight != 1:  # not NaN, not 1
        return f"{optimizer} (highpass x{weight:g})"
    return optimizer


def plenoptic_run_name(img: str, init_label: str, optimizer: str, weighted: float,
                       history_size: int, synth_iters: int) -> str:
    """Run name: ``<optimizer>_wt-<W>_<img>_<init>_iter-<N>``."""
    return safe_name(f"{optimizer_label(optimizer, history_size)}_wt-{weighted:g}_"
                     f"{image_label(img)}_{init_label}_iter-{synth_iters}")


def matlab_run_name(img: str, init_label: str, synth_iters: int) -> str:
    """Run name: ``matlab_<img>_<init>_iter-<N>``."""
    return safe_name(f"matlab_{image_label(img)}_{init_label}_iter-{synth_iters}")


def run_name(args: dict) -> str:
    """Name of a plenoptic run from ``synthesize.py``'s arguments."""
    return plenoptic_run_name(args["img"], Path(str(args["init_img"])).stem,
                              args["optimizer"], args["weighted"],
                              args["history_size"], args["synth_max_iter"])


# ---------------------------------------------------------------- tasks

def _root(root: str | os.PathLike | None) -> Path:
    return Path(root) if root is not None else paths.output_root().resolve()


def _crop_args(crop: int | None) -> tuple[str, ...]:
    return ("--crop", str(crop)) if crop else ()


def _budgets(iters: Iterable[int], longest: bool) -> list[tuple[int, tuple[str, ...]]]:
    """``(synth_max_iter, extra arguments)`` of each run of one configuration."""
    iters = sorted(iters)
    if not longest:
        return [(n, ()) for n in iters]
    shorter = tuple(str(n) for n in iters[:-1])
    return [(iters[-1], ("--checkpoints", *shorter) if shorter else ())]


def plenoptic_tasks(root, images, seeds, shape, crop, adam_iters, lbfgs_iters,
                    histories, weight, longest: bool = False) -> list[Task]:
    """Adam (coarse-to-fine, plain loss) and weighted LBFGS runs of a sweep.

    With ``longest``, each configuration runs once, at its longest budget,
    keeping the metamer at every shorter budget (``--checkpoints``): the same
    results as one run per budget, since a shorter run is the first steps of a
    longer one, for about half the compute.
    """
    tasks = []
    for img, seed in itertools.product(images, seeds):
        init = str(init_image_path(root, seed, shape))
        common = ("--img", img, *_crop_args(crop), "--init_img", init)
        for n, extra in _budgets(adam_iters, longest):
            tasks.append(Task(
                plenoptic_run_name(img, f"seed-{seed}", "Adam", 0, 0, n),
                (*common, "--optimizer", "Adam", "--weighted", "0",
                 "--synth_max_iter", str(n), *extra)))
        for history in histories:
            for n, extra in _budgets(lbfgs_iters, longest):
                tasks.append(Task(
                    plenoptic_run_name(img, f"seed-{seed}", "LBFGS", weight, history,
                                       n),
                    (*common, "--optimizer", "LBFGS", "--weighted", f"{weight:g}",
                     "--history_size", str(history), "--max_iter",
                     str(LBFGS_MAX_ITER), "--synth_max_iter", str(n), *extra)))
    return tasks


def matlab_tasks(root, images, seeds, shape, crop, iters) -> list[Task]:
    """MATLAB textureSynth runs (``ps_matlab/synthesize.py`` through the timer).

    The initial image's seed also seeds MATLAB's own ``rand``/``randn``
    (textureAnalysis adds noise to the target). ``--no_plots``: process times
    stay free of drawing, as on the plenoptic side; ``analyze.py`` draws.
    """
    tasks = []
    for img, seed, n in itertools.product(images, seeds, iters):
        init = str(init_image_path(root, seed, shape))
        tasks.append(Task(matlab_run_name(img, f"seed-{seed}", n),
                          (MATLAB_WORD, "--img", img, *_crop_args(crop),
                           "--init_img", init, "--seed", str(seed),
                           "--n_iter", str(n), "--no_plots")))
    return tasks


def plenoptic_full(root=None, device: str = "cpu",
                   longest: bool = False) -> list[Task]:
    """Give the published plenoptic sweep: 100 Adam and 300 LBFGS runs."""
    return plenoptic_tasks(_root(root), FULL_IMAGES, FULL_SEEDS, FULL_SHAPE, None,
                           ADAM_ITERS, LBFGS_ITERS, LBFGS_HISTORIES, LBFGS_WEIGHT,
                           longest)


def plenoptic_quick(root=None, device: str = "cpu",
                    longest: bool = False) -> list[Task]:
    """Offline, minutes on 2 cores: 8 Adam and 16 LBFGS runs at 128x128."""
    return plenoptic_tasks(_root(root), [QUICK_IMAGE], QUICK_SEEDS,
                           (QUICK_CROP, QUICK_CROP), QUICK_CROP, QUICK_ADAM_ITERS,
                           QUICK_LBFGS_ITERS, QUICK_HISTORIES, LBFGS_WEIGHT, longest)


def plenoptic_smoke(root=None, device: str = "cpu",
                    longest: bool = False) -> list[Task]:
    """Two tiny runs (128x128, a few iterations): checks an installation."""
    return plenoptic_tasks(_root(root), [QUICK_IMAGE], [0], (QUICK_CROP, QUICK_CROP),
                           QUICK_CROP, [5], [2], [10], LBFGS_WEIGHT, longest)


def _cpu_only(device: str) -> None:
    if device != "cpu":
        raise UsageError(f"MATLAB runs use the CPU only, not --device {device} "
                         "(write them with --side matlab)")


def matlab_full(root=None, device: str = "cpu") -> list[Task]:
    """Give the published MATLAB sweep: 40 runs of 400 and 800 iterations."""
    _cpu_only(device)
    return matlab_tasks(_root(root), FULL_IMAGES, FULL_SEEDS, FULL_SHAPE, None,
                        MATLAB_ITERS)


def matlab_quick(root=None, device: str = "cpu") -> list[Task]:
    """Offline, about a minute on 2 cores with Octave: 6 runs at 128x128."""
    _cpu_only(device)
    return matlab_tasks(_root(root), [QUICK_IMAGE], QUICK_SEEDS,
                        (QUICK_CROP, QUICK_CROP), QUICK_CROP, QUICK_MATLAB_ITERS)


def matlab_smoke(root=None, device: str = "cpu") -> list[Task]:
    """One tiny MATLAB run (128x128, 2 iterations)."""
    _cpu_only(device)
    return matlab_tasks(_root(root), [QUICK_IMAGE], [0], (QUICK_CROP, QUICK_CROP),
                        QUICK_CROP, [2])


_PLENOPTIC = {"quick": plenoptic_quick, "smoke": plenoptic_smoke,
              "full": plenoptic_full}
_MATLAB = {"quick": matlab_quick, "smoke": matlab_smoke, "full": matlab_full}
#: Every grid name: the published ones, and ``<grid>-longest`` for quick and
#: full (the plenoptic side as checkpoints of its longest runs).
GRID_NAMES = ("quick", "smoke", "full", f"quick{LONGEST}", f"full{LONGEST}")


def side_grid(name: str, side: str) -> Callable[..., list[Task]]:
    """The grid function ``grid(root, device)`` of one side of grid ``name``."""
    if name not in GRID_NAMES:
        raise UsageError(f"unknown grid {name!r}: expected one of "
                         f"{', '.join(GRID_NAMES)}")
    base = name.removesuffix(LONGEST)
    if side == "matlab":
        return _MATLAB[base]
    if side != "plenoptic":
        raise UsageError(f"unknown side {side!r}: expected one of {', '.join(SIDES)}")
    longest = name.endswith(LONGEST)

    def grid(root=None, device: str = "cpu") -> list[Task]:
        return _PLENOPTIC[base](root, device, longest=longest)

    grid.__doc__ = _PLENOPTIC[base].__doc__
    return grid


def grid_tasks(name: str, sides: Iterable[str], root=None,
               device: str = "cpu") -> list[Task]:
    """Tasks of grid ``name`` for the given sides, plenoptic first."""
    return [task for side in SIDES if side in sides
            for task in side_grid(name, side)(root=root, device=device)]


def _both(name: str) -> Callable[..., list[Task]]:
    def grid(root=None, device: str = "cpu") -> list[Task]:
        return grid_tasks(name, SIDES, root, device)

    return grid


#: The contract's grids: name to ``grid(root, device)``, both sides.
GRIDS = {name: _both(name) for name in GRID_NAMES}


def init_images_of(name: str, root: str | os.PathLike) -> dict[tuple, list[int]]:
    """The initial images grid ``name``'s runs start from: size to seeds."""
    wanted: dict[tuple, set[int]] = {}
    for task in grid_tasks(name, SIDES, root):
        path = Path(task.argv[list(task.argv).index("--init_img") + 1])
        wanted.setdefault(parse_shape(path.parent.name), set()).add(
            seed_of(path.stem))
    return {shape: sorted(seeds) for shape, seeds in wanted.items()}


def checked(grid: Callable[..., list[Task]]) -> Callable[..., list[Task]]:
    """``grid``, refusing to write tasks whose initial images do not exist yet."""

    def with_init_images(root: Path, device: str) -> list[Task]:
        tasks = grid(root=root, device=device)
        missing = missing_init_images(tasks)
        if missing:
            shape = missing[0].parent.name
            seeds = sorted({int(p.stem.split("-")[1]) for p in missing
                            if p.parent.name == shape})
            raise UsageError(
                f"{len(missing)} initial image(s) missing, e.g. {missing[0]}; make "
                f"them first: python {EXPERIMENT}/generate_init_imgs.py --size "
                f"{shape} --seeds {' '.join(map(str, seeds))} --output-root "
                f"{shlex.quote(str(root))}")
        return tasks

    return with_init_images
