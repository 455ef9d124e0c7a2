"""Write the disBatch task file of one ps_noise grid (one shell line per run).

Grids: quick (offline, 128x128 crops, a few minutes on a laptop), smoke (two
3-iteration runs), full (the published sweep: curie and einstein, seeds 0 and
1, normal noise of amplitude 1 and 2, three weight sets, 200 iterations; 24
runs).
"""

from __future__ import annotations

import itertools

from plenexp import cli
from plenexp.cluster import cost, tasks
from plenexp.cluster.tasks import Task
from ps_noise.options import parse_weights, run_name

EXPERIMENT = "ps_noise"

#: The published sweep: 2 images x 2 seeds x 3 weights x 2 starts = 24 runs,
#: 256x256, normal noise (``(noise type, amplitude)``), 200 LBFGS steps.
FULL = dict(
    images=["curie", "einstein"],
    seeds=[0, 1],
    weights=["1,1,1,1,0,0,100", "10,10,10,1,0,0,100", "10,10,10,10,0,0,100"],
    starts=[("normal", 1.0), ("normal", 2.0)],
    history_size=[100],
    synth_max_iter=[200],
    crop=[None],
)
#: The same questions on 128x128 crops, 15 steps, seed 0, two of the weight
#: sets, plus the ``uniform`` amplitude-1 start (plenoptic's usual initial
#: image, inside the target's range) with the second weight set: the baseline
#: to recover to. 10 runs.
QUICK = dict(
    images=["curie", "einstein"],
    seeds=[0],
    weights=["1,1,1,1,0,0,100", "10,10,10,1,0,0,100"],
    starts=[("normal", 1.0), ("normal", 2.0)],
    history_size=[100],
    synth_max_iter=[15],
    crop=[128],
)
QUICK_BASELINE = dict(QUICK, starts=[("uniform", 1.0)],
                      weights=["10,10,10,1,0,0,100"])
#: Two tiny runs (128x128, 3 steps, history 10): checks an installation.
SMOKE = dict(
    images=["einstein"],
    seeds=[0],
    weights=["10,10,10,1,0,0,100"],
    starts=[("normal", 2.0), ("uniform", 1.0)],
    history_size=[10],
    synth_max_iter=[3],
    crop=[128],
)

#: The LBFGS settings ``synthesize.py`` uses for every run (``run.LBFGS``).
LBFGS_MAX_ITER, LBFGS_MAX_EVAL, LINE_SEARCH = 10, 10, "strong_wolfe"


def seconds(img: str, crop: int | None, steps: int, device: str) -> float:
    """Estimated seconds of one run: its LBFGS evaluations at its image size."""
    evaluations = cost.lbfgs_evaluations(steps, LBFGS_MAX_ITER, LBFGS_MAX_EVAL,
                                         LINE_SEARCH)
    shape = cost.image_shape({"img": img, "crop": crop})
    return cost.plenoptic_seconds(evaluations, shape, device)


def sweep(grid: dict, device: str = "cpu") -> list[Task]:
    """Every combination of a grid's lists, one task each, images outermost."""
    out = []
    for img, seed, weights, (kind, amplitude), history, steps, crop in (
            itertools.product(grid["images"], grid["seeds"], grid["weights"],
                              grid["starts"], grid["history_size"],
                              grid["synth_max_iter"], grid["crop"])):
        args = {"img": img, "crop": crop, "init_noise_type": kind,
                "init_noise": amplitude, "weights": parse_weights(weights),
                "history_size": history, "seed": seed, "synth_max_iter": steps}
        argv = ("--img", img, "--init_noise", f"{amplitude:g}",
                "--init_noise_type", kind, "--seed", str(seed),
                "--weights", weights, "--history_size", str(history),
                "--synth_max_iter", str(steps))
        if crop:
            argv += ("--crop", str(crop))
        out.append(Task(run_name(args), argv,
                        seconds=seconds(img, crop, steps, device)))
    return out


def full_grid(root=None, device: str = "cpu") -> list[Task]:
    """List the published sweep: 24 runs at 256x256, normal noise, 200 iterations."""
    return sweep(FULL, device)


def quick_grid(root=None, device: str = "cpu") -> list[Task]:
    """List the same questions, offline, for about two minutes on 2 cores.

    Per image, the uniform baseline first, then the normal starts by weights.
    """
    return [task for img in QUICK["images"]
            for part in (QUICK_BASELINE, QUICK)
            for task in sweep(dict(part, images=[img]), device)]


def smoke_grid(root=None, device: str = "cpu") -> list[Task]:
    """Two tiny runs (128x128, 3 iterations): checks an installation in seconds."""
    return sweep(SMOKE, device)


GRIDS = {"quick": quick_grid, "smoke": smoke_grid, "full": full_grid}


def main():
    """Write the task file of the chosen grid."""
    tasks.write_disbatch(EXPERIMENT, GRIDS, description=__doc__)


if __name__ == "__main__":
    cli.run(main)
