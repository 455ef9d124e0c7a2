"""Write the disBatch task file of one ps_matlab grid (one shell line per run).

Grids: quick (offline: reptile_skin cropped to 128x128, seeds 0 and 1, 20
iterations), smoke (one run of 2 iterations) and full (the original study: the
38 PS paper figures, 100 iterations, 256x256). CPU only. The textureSynth and
matlabPyrTools directories are checked here and written into every task, with
the engine.
"""

from __future__ import annotations

from functools import lru_cache

from plenexp import cli
from plenexp.cluster import cost, tasks
from plenexp.cluster.tasks import Task
from plenexp.errors import UsageError
from plenexp.synth import images, matlab

EXPERIMENT = "ps_matlab"

# The sweeps: every image x seed x iteration count (crop None: the full image).
#: Offline, well under a minute on 2 cores: the built-in reptile_skin, cropped
#: so a run takes seconds, two seeds.
QUICK = dict(images=["reptile_skin"], crop=128, seeds=[0, 1], n_iter=[20])
#: One tiny run: checks an installation.
SMOKE = dict(images=["reptile_skin"], crop=128, seeds=[0], n_iter=[2])
#: The original study: every PS paper figure, 100 iterations at full size.
FULL = dict(images=list(images.PAPER_IMAGES), crop=None, seeds=[0], n_iter=[100])
SWEEPS = {"quick": QUICK, "smoke": SMOKE, "full": FULL}


def sweep_tasks(sweep: dict, device: str = "cpu", engine: str = "auto"
                ) -> list[Task]:
    """The tasks of one sweep, each with its estimated seconds under ``engine``.

    ``auto`` is estimated as Octave (the slower engine).
    """
    if device != "cpu":
        raise UsageError(f"textureSynth runs use the CPU only, not --device {device}")
    from ps_matlab.run import run_name

    crop = sweep["crop"]
    crop_args = ("--crop", str(crop)) if crop else ()
    found = []
    for img in sweep["images"]:
        shape = (crop, crop) if crop else cost.image_shape({"img": img})
        for n_iter in sweep["n_iter"]:
            for seed in sweep["seeds"]:
                name = run_name({"img": img, "crop": crop, "seed": seed,
                                 "n_iter": n_iter})
                argv = ("--img", img, *crop_args, "--seed", str(seed),
                        "--n_iter", str(n_iter), "--no_plots")
                found.append(Task(name, argv, seconds=cost.texturesynth_seconds(
                    n_iter, shape, engine)))
    return found


def _grid(name: str):
    def grid(root=None, device: str = "cpu") -> list[Task]:
        return sweep_tasks(SWEEPS[name], device)

    grid.__doc__ = f"The {name} sweep's tasks (``{name.upper()}``)."
    return grid


GRIDS = {name: _grid(name) for name in SWEEPS}


@lru_cache
def _seconds(grid: str, engine: str) -> dict[str, float]:
    return {task.name: task.seconds for task in sweep_tasks(SWEEPS[grid],
                                                            engine=engine)}


def estimate(task: Task, args) -> float:
    """A task's seconds under the writer's ``--engine``."""
    return _seconds(args.grid, args.engine)[task.name]


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


def main() -> None:
    """Check the code directories, then write the task file."""
    tasks.write_disbatch(EXPERIMENT, GRIDS, description=__doc__,
                         extra_arguments=matlab.add_matlab_arguments,
                         extra_task_args=code_arguments, estimate=estimate)


if __name__ == "__main__":
    cli.run(main)
