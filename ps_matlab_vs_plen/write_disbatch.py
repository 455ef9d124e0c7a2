"""Write the disBatch task file of one grid: plenoptic runs, MATLAB runs, or both.

Every task runs time_synthesize.sh: plenoptic runs through synthesize.py,
MATLAB (textureSynth) runs through ps_matlab/synthesize.py (their arguments
start with the word ``matlab``). Grids:

- quick: offline, reptile_skin cropped to 128x128, seeds 0-1; plenoptic: Adam
  at 25-200 iterations, LBFGS (history 3 and 100, highpass weight 100) at 2-20
  steps (24 runs, minutes on 2 cores); MATLAB: 5/10/20 iterations (6 runs);
- smoke: one tiny run of each method;
- full: the published sweep: fig4a and fig16b, seeds 0-9; plenoptic: Adam at
  30/75/150/300/600 iterations and LBFGS at 10/25/50/100/200 steps x history
  3/100/300 (400 runs); MATLAB: 400 and 800 iterations (40 runs);
- quick-longest, full-longest: the same results with the plenoptic side run
  once per configuration, at its longest budget, keeping the metamer at each
  shorter budget (--checkpoints): about 1.9x less plenoptic compute. The
  MATLAB side is the quick or full grid's.

MATLAB runs are CPU only: write them with --side matlab (the textureSynth and
matlabPyrTools directories, --texturesynth-dir and --pyrtools-dir or
$TEXTURESYNTH_DIR and $MATLABPYRTOOLS_DIR, are checked here and written into
every task, with --engine). The initial images must exist first
(generate_init_imgs.py). Default task file:
<output-root>/ps_matlab_vs_plen/<grid>/<side>-<device>.txt (``disbatch-``
for both sides).
"""

from __future__ import annotations

import itertools
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from plenexp import cli
from plenexp.cluster import cost, tasks
from plenexp.cluster.tasks import Task, safe_name
from plenexp.errors import UsageError
from plenexp.runs import paths
from plenexp.synth.images import MAX_SIDE, image_label

EXPERIMENT = "ps_matlab_vs_plen"

#: The published sweep: images, seeds, and the budgets of each method
#: (Adam iterations, LBFGS steps x history sizes, textureSynth iterations).
FULL = dict(images=["fig4a", "fig16b"], seeds=list(range(10)), crop=None,
            shape=(256, 256),
            adam_iters=[30, 75, 150, 300, 600],
            lbfgs_iters=[10, 25, 50, 100, 200], histories=[3, 100, 300],
            matlab_iters=[400, 800])
#: Offline, minutes on 2 cores: a built-in texture cropped to 128x128.
QUICK = dict(images=["reptile_skin"], seeds=[0, 1], crop=128, shape=(128, 128),
             adam_iters=[25, 50, 100, 200],
             lbfgs_iters=[2, 5, 10, 20], histories=[3, 100],
             matlab_iters=[5, 10, 20])
#: One tiny run of each method: checks an installation.
SMOKE = dict(images=["reptile_skin"], seeds=[0], crop=128, shape=(128, 128),
             adam_iters=[5],
             lbfgs_iters=[2], histories=[10],
             matlab_iters=[2])
#: Every LBFGS run: the highpass residuals' variance weighted 100x in the loss,
#: 10 iterations (and function evaluations) per step, strong-Wolfe line search.
LBFGS_WEIGHT = 100
LBFGS_MAX_ITER = 10
LBFGS_LINE_SEARCH = "strong_wolfe"

#: First word of a MATLAB task: ``time_synthesize.sh`` then runs ps_matlab's runner.
MATLAB_WORD = "matlab"
#: The two sides of the experiment, as ``--side`` names them.
SIDES = ("plenoptic", "matlab")
#: Suffix of the grids that run only the longest budget of each plenoptic
#: configuration, keeping the shorter budgets as checkpoints.
LONGEST = "-longest"
#: Default task file prefix of each --side.
PREFIX = {"plenoptic": "plenoptic", "matlab": "matlab", "both": "disbatch"}


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


def missing_init_images(found: Iterable[Task]) -> list[Path]:
    """List the initial image files that the tasks name but that do not exist."""
    missing = []
    for task in found:
        argv = list(task.argv)
        path = Path(argv[argv.index("--init_img") + 1])
        if not path.is_file() and path not in missing:
            missing.append(path)
    return missing


# ---------------------------------------------------------------- run names

def optimizer_label(optimizer: str, history_size: int | None = None) -> str:
    """``Adam``, ``LBFGS-<history>`` or ``textureSynth``."""
    return f"LBFGS-{history_size}" if optimizer == "LBFGS" else optimizer


def plenoptic_run_name(img: str, init_label: str, optimizer: str, weighted: float,
                       history_size: int, synth_iters: int) -> str:
    """Run name: ``<optimizer>_wt-<W>_<img>_<init>_iter-<N>``."""
    return safe_name(f"{optimizer_label(optimizer, history_size)}_wt-{weighted:g}_"
                     f"{image_label(img)}_{init_label}_iter-{synth_iters}")


def matlab_run_name(img: str, init_label: str, synth_iters: int) -> str:
    """Run name: ``matlab_<img>_<init>_iter-<N>``."""
    return safe_name(f"matlab_{image_label(img)}_{init_label}_iter-{synth_iters}")


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


def plenoptic_tasks(root, grid: dict, device: str = "cpu",
                    longest: bool = False) -> list[Task]:
    """Adam (coarse-to-fine, plain loss) and weighted LBFGS runs of a sweep.

    With ``longest``, each configuration runs once, at its longest budget,
    keeping the metamer at every shorter budget (``--checkpoints``): the same
    results as one run per budget, since a shorter run is the first steps of a
    longer one, for about half the compute. A task's seconds: Adam makes one
    model evaluation per step, LBFGS up to ``LBFGS_MAX_ITER`` (its
    ``max_eval``) per step.
    """
    shape = grid["shape"]
    found = []
    for img, seed in itertools.product(grid["images"], grid["seeds"]):
        init = str(init_image_path(root, seed, shape))
        common = ("--img", img, *_crop_args(grid["crop"]), "--init_img", init)
        for n, extra in _budgets(grid["adam_iters"], longest):
            found.append(Task(
                plenoptic_run_name(img, f"seed-{seed}", "Adam", 0, 0, n),
                (*common, "--optimizer", "Adam", "--weighted", "0",
                 "--synth_max_iter", str(n), *extra),
                seconds=cost.plenoptic_seconds(n, shape, device)))
        for history in grid["histories"]:
            for n, extra in _budgets(grid["lbfgs_iters"], longest):
                evaluations = cost.lbfgs_evaluations(n, LBFGS_MAX_ITER,
                                                     LBFGS_MAX_ITER,
                                                     LBFGS_LINE_SEARCH)
                found.append(Task(
                    plenoptic_run_name(img, f"seed-{seed}", "LBFGS", LBFGS_WEIGHT,
                                       history, n),
                    (*common, "--optimizer", "LBFGS", "--weighted",
                     f"{LBFGS_WEIGHT:g}", "--history_size", str(history),
                     "--max_iter", str(LBFGS_MAX_ITER), "--synth_max_iter", str(n),
                     *extra),
                    seconds=cost.plenoptic_seconds(evaluations, shape, device)))
    return found


def matlab_tasks(root, grid: dict, engine: str = "auto",
                 code_args: Sequence[str] = ()) -> list[Task]:
    """MATLAB textureSynth runs (``ps_matlab/synthesize.py`` through the timer).

    The initial image's seed also seeds MATLAB's own ``rand``/``randn``
    (textureAnalysis adds noise to the target). ``--no_plots``: process times
    stay free of drawing, as on the plenoptic side; ``analyze.py`` draws.
    ``code_args`` (``--engine`` and the code directories) end every task;
    ``engine`` sets its seconds (``auto`` counts as Octave).
    """
    shape = grid["shape"]
    found = []
    for img, seed, n in itertools.product(grid["images"], grid["seeds"],
                                          grid["matlab_iters"]):
        init = str(init_image_path(root, seed, shape))
        found.append(Task(matlab_run_name(img, f"seed-{seed}", n),
                          (MATLAB_WORD, "--img", img, *_crop_args(grid["crop"]),
                           "--init_img", init, "--seed", str(seed),
                           "--n_iter", str(n), "--no_plots", *code_args),
                          seconds=cost.texturesynth_seconds(n, shape, engine)))
    return found


def plenoptic_full(root=None, device: str = "cpu",
                   longest: bool = False) -> list[Task]:
    """Give the published plenoptic sweep: 100 Adam and 300 LBFGS runs."""
    return plenoptic_tasks(_root(root), FULL, device, longest)


def plenoptic_quick(root=None, device: str = "cpu",
                    longest: bool = False) -> list[Task]:
    """Offline, minutes on 2 cores: 8 Adam and 16 LBFGS runs at 128x128."""
    return plenoptic_tasks(_root(root), QUICK, device, longest)


def plenoptic_smoke(root=None, device: str = "cpu",
                    longest: bool = False) -> list[Task]:
    """Two tiny runs (128x128, a few iterations): checks an installation."""
    return plenoptic_tasks(_root(root), SMOKE, device, longest)


def _cpu_only(device: str) -> None:
    if device != "cpu":
        raise UsageError(f"MATLAB runs use the CPU only, not --device {device} "
                         "(write them with --side matlab)")


def matlab_full(root=None, device: str = "cpu", engine: str = "auto",
                code_args: Sequence[str] = ()) -> list[Task]:
    """Give the published MATLAB sweep: 40 runs of 400 and 800 iterations."""
    _cpu_only(device)
    return matlab_tasks(_root(root), FULL, engine, code_args)


def matlab_quick(root=None, device: str = "cpu", engine: str = "auto",
                 code_args: Sequence[str] = ()) -> list[Task]:
    """Offline, about a minute on 2 cores with Octave: 6 runs at 128x128."""
    _cpu_only(device)
    return matlab_tasks(_root(root), QUICK, engine, code_args)


def matlab_smoke(root=None, device: str = "cpu", engine: str = "auto",
                 code_args: Sequence[str] = ()) -> list[Task]:
    """One tiny MATLAB run (128x128, 2 iterations)."""
    _cpu_only(device)
    return matlab_tasks(_root(root), SMOKE, engine, code_args)


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


#: The contract's grids: name to ``grid(root, device)``, both sides (the
#: MATLAB tasks without the code options ``main`` adds).
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
        found = grid(root=root, device=device)
        missing = missing_init_images(found)
        if missing:
            shape = missing[0].parent.name
            seeds = sorted({int(p.stem.split("-")[1]) for p in missing
                            if p.parent.name == shape})
            raise UsageError(
                f"{len(missing)} initial image(s) missing, e.g. {missing[0]}; make "
                f"them first: python {EXPERIMENT}/generate_init_imgs.py --size "
                f"{shape} --seeds {' '.join(map(str, seeds))} --output-root "
                f"{shlex.quote(str(root))}")
        return found

    return with_init_images


def side_grids(sides: Iterable[str], code_args: Sequence[str] = (),
               engine: str = "auto", check: bool = True
               ) -> dict[str, Callable[..., list[Task]]]:
    """Grid name to ``grid(root, device)`` of the chosen sides.

    MATLAB tasks end with ``code_args``; ``check``: refuse tasks whose
    initial images do not exist yet.
    """
    sides = [side for side in SIDES if side in sides]

    def for_name(name):
        def grid(root=None, device: str = "cpu"):
            found = []
            for side in sides:
                if side == "matlab":
                    found += side_grid(name, side)(root, device, engine, code_args)
                else:
                    found += side_grid(name, side)(root=root, device=device)
            return found

        return checked(grid) if check else grid

    return {name: for_name(name) for name in GRID_NAMES}


# ---------------------------------------------------------------- the script

def add_side_arguments(parser) -> None:
    """``--side`` and the MATLAB code options (used by the MATLAB side only)."""
    from plenexp.synth import matlab

    parser.add_argument("--side", choices=list(PREFIX), default="plenoptic",
                        help="which runs: plenoptic, MATLAB textureSynth, or both")
    matlab.add_matlab_arguments(parser)


def parse_args(argv):
    """Parse the command line as the shared writer will."""
    parser = cli.ArgumentParser(description=__doc__)
    tasks.add_writer_arguments(parser, GRID_NAMES)
    add_side_arguments(parser)
    return parser.parse_args(argv)


def code_arguments(args) -> tuple[str, ...]:
    """Check the MATLAB code directories once; the options that name them.

    Task files then record exactly which code each run uses, and batch jobs
    do not depend on the environment reaching them. The engine is not looked
    for here: task files are often written where it is not installed.
    """
    from plenexp.synth import matlab

    dirs = matlab.resolve_code_dirs(args.texturesynth_dir, args.pyrtools_dir)
    return ("--engine", args.engine, "--texturesynth-dir", str(dirs.texturesynth),
            "--pyrtools-dir", str(dirs.pyrtools))


def main() -> None:
    """Check the options, then write the task file."""
    argv = sys.argv[1:]
    args = parse_args(argv)
    sides = SIDES if args.side == "both" else (args.side,)
    code_args = code_arguments(args) if "matlab" in sides else ()
    tasks.write_disbatch(EXPERIMENT, side_grids(sides, code_args, args.engine),
                         description=__doc__, argv=argv,
                         taskfile_prefix=PREFIX[args.side],
                         extra_arguments=add_side_arguments)


if __name__ == "__main__":
    cli.run(main)
