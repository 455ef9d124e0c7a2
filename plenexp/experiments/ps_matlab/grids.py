"""ps_matlab grids and run names (no heavy imports: ``--help``, task files)."""

from __future__ import annotations

from collections.abc import Callable

from plenexp.cluster.tasks import Task, safe_name
from plenexp.errors import UsageError
from plenexp.synth import images, matlab

EXPERIMENT = "ps_matlab"

#: The offline built-in texture of the quick grid, cropped so a run takes seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128
QUICK_SEEDS, QUICK_ITERS = (0, 1), 20
#: The original study: every PS paper figure, 100 iterations at full size.
FULL_IMAGES, FULL_ITERS, FULL_SEED = tuple(images.PAPER_IMAGES), 100, 0


def init_label(args: dict) -> str:
    """``init-<file stem>`` (``--init_img``), ``size-target`` or ``size-<N>x<N>``."""
    if args.get("init_img"):
        return f"init-{images.image_label(str(args['init_img']))}"
    size = args.get("size")
    return f"size-{size}x{size}" if size else "size-target"


def run_name(args: dict) -> str:
    """Run name: ``<image>[_crop-N]_<init>_seed-<S>_iter-<N>``.

    ``args`` holds ``img``, ``crop``, ``seed`` (``None``: the engine's own
    start), ``n_iter`` and ``init_img`` or ``size``.
    """
    crop = f"_crop-{args['crop']}" if args.get("crop") else ""
    seed = "none" if args.get("seed") is None else str(args["seed"])
    return safe_name(f"{images.image_label(str(args['img']))}{crop}_"
                     f"{init_label(args)}_seed-{seed}_iter-{args['n_iter']}")


def _tasks(imgs, seeds, n_iter: int, crop: int | None) -> list[Task]:
    crop_args = ("--crop", str(crop)) if crop else ()
    return [Task(run_name({"img": img, "crop": crop, "seed": seed,
                           "n_iter": n_iter}),
                 ("--img", img, *crop_args, "--seed", str(seed),
                  "--n_iter", str(n_iter), "--no_plots"))
            for img in imgs for seed in seeds]


def _cpu_only(device: str) -> None:
    if device != "cpu":
        raise UsageError(f"textureSynth runs use the CPU only, not --device {device}")


def full_grid(root=None, device: str = "cpu") -> list[Task]:
    """The original study: 38 PS paper figures, 100 iterations, 256x256."""
    _cpu_only(device)
    return _tasks(FULL_IMAGES, [FULL_SEED], FULL_ITERS, None)


def quick_grid(root=None, device: str = "cpu") -> list[Task]:
    """Offline, well under a minute on 2 cores: reptile_skin 128x128, 2 seeds."""
    _cpu_only(device)
    return _tasks([QUICK_IMAGE], QUICK_SEEDS, QUICK_ITERS, QUICK_CROP)


def smoke_grid(root=None, device: str = "cpu") -> list[Task]:
    """One tiny run (128x128, 2 iterations): checks an installation."""
    _cpu_only(device)
    return _tasks([QUICK_IMAGE], [0], 2, QUICK_CROP)


GRIDS: dict[str, Callable[..., list[Task]]] = {
    "quick": quick_grid, "smoke": smoke_grid, "full": full_grid}


def code_arguments(args) -> tuple[str, ...]:
    """Check the code directories once and give the options that name them.

    ``args`` holds the options of :func:`plenexp.synth.matlab.add_matlab_arguments`
    (a namespace or a dict).

    Task files then record exactly which code each run uses, and batch jobs do
    not depend on the environment reaching them. The engine is not looked for
    here: task files are often written where it is not installed.
    """
    if not isinstance(args, dict):
        args = vars(args)
    dirs = matlab.resolve_code_dirs(args["texturesynth_dir"], args["pyrtools_dir"])
    return ("--engine", args["engine"], "--texturesynth-dir", str(dirs.texturesynth),
            "--pyrtools-dir", str(dirs.pyrtools))
