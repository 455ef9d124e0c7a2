"""How long a task will take, from its arguments alone.

disBatch hands tasks to free slots in file order, so a long task written last
finishes alone while every other slot idles. Task writers therefore order tasks
by an estimate of their cost, longest first, and size a batch job's time limit
from the same estimate.

The estimate is the number of model evaluations a run may do times the seconds
of one PS forward and backward pass at its image size, plus start-up:

- plenoptic LBFGS: ``synth_max_iter`` steps of up to ``max_eval`` evaluations
  (``None``: LBFGS's own default, 1.25 x ``max_iter``; without a line search
  at most ``max_iter``), plus half an evaluation of overhead per step
  (measured: 2.5, 10.2 and 40.2 forward passes per step at ``max_eval`` 2, 10
  and 40);
- plenoptic Adam: one evaluation per step;
- MATLAB ``textureSynth`` (``--n_iter``): its seconds per iteration, slower
  under Octave than under MATLAB.

Runs that stop early (a stopping criterion on the loss) take at most this
long, so the estimate is an upper bound for them; their order is unaffected,
as early stopping does not depend on the arguments in a way known in advance.
``benchmarks/makespan.py`` replays the earlier sweeps' measured durations and
also prints what an exact per-configuration estimate would give: image, seed
and the node a run landed on move durations enough that no estimate from the
arguments reaches the lower bound on every sweep.
The constants are single-thread seconds on the 2-core AMD EPYC VM the
repository is developed on; a cluster core is usually faster.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from pathlib import Path

from plenexp.text import number

#: Seconds of one PS forward + backward pass per pixel, one CPU thread
#: (measured: 0.048 s at 128x128, 0.18 s at 256x256, float64, 4 scales).
CPU_SECONDS_PER_EVAL_PIXEL = 0.18 / 256**2
#: A GPU pass is this many times faster, but never under ``GPU_MIN_EVAL``
#: seconds (kernel launches dominate small images). Not measured here: no GPU
#: was available; ``benchmarks/gpu_check.sh`` measures it on a CUDA machine.
GPU_SPEEDUP = 6.0
GPU_MIN_EVAL = 0.01
#: textureSynth seconds per iteration per pixel: Octave 0.37 s at 256x256
#: (measured with figures off); MATLAB's JIT is taken as twice as fast.
ENGINE_SECONDS_PER_ITER_PIXEL = {"octave": 0.37 / 256**2, "matlab": 0.185 / 256**2}
#: Interpreter start-up, imports, model set-up and saving, per run (seconds).
STARTUP = {"python": 6.0, "cuda": 15.0, "octave": 8.0, "matlab": 25.0}
#: One analysis task (``analyze.py`` on one finished run): start-up, the PS
#: statistics of target and metamer, the tables.
ANALYZE_SECONDS = 30.0
#: Size of images given by name (built-ins and PS paper figures); files are read.
NAMED_IMAGE_SHAPES = {"parrot": (254, 266)}
DEFAULT_SHAPE = (256, 256)

#: Forward passes per LBFGS step beyond ``max_eval``.
LBFGS_STEP_OVERHEAD = 0.5

def _positive(value, default: float) -> float:
    # an option's value as a positive number; anything else counts as ``default``
    parsed = number(value)
    return parsed if parsed is not None and parsed > 0 else default


def image_shape(options: dict) -> tuple[int, int]:
    """Height and width a run synthesizes at: ``--crop``, ``--size``, the image.

    A named image has its known size (256x256 unless listed in
    ``NAMED_IMAGE_SHAPES``); an image file's header is read; anything unreadable
    counts as 256x256.
    """
    crop = options.get("crop")
    if crop not in (None, True) and str(crop).lower() != "none":
        side = int(_positive(crop, DEFAULT_SHAPE[0]))
        return side, side
    size = options.get("size")
    if size not in (None, True):
        side = int(_positive(size, DEFAULT_SHAPE[0]))
        return side, side
    img = str(options.get("img", ""))
    if img in NAMED_IMAGE_SHAPES:
        return NAMED_IMAGE_SHAPES[img]
    if img and ("/" in img or "." in img) and Path(img).is_file():
        try:
            import imageio.v3 as iio

            shape = iio.improps(img).shape
            return int(shape[0]), int(shape[1])
        except Exception:  # any unreadable file: the default size
            return DEFAULT_SHAPE
    return DEFAULT_SHAPE


def lbfgs_evaluations(steps: int, max_iter: int, max_eval: float | None,
                      line_search: str | None = "strong_wolfe") -> float:
    """Upper bound on the PS model evaluations of an LBFGS synthesis.

    Parameters
    ----------
    steps
        Optimizer steps (``--synth_max_iter``).
    max_iter, max_eval
        ``torch.optim.LBFGS``'s; ``max_eval`` ``None`` is its own default,
        1.25 x ``max_iter``.
    line_search
        Without one (``None``) a step makes at most ``max_iter`` evaluations.
    """
    per_step = 1.25 * max_iter if max_eval is None else max_eval
    if line_search is None:
        per_step = min(per_step, max_iter)
    return steps * (per_step + LBFGS_STEP_OVERHEAD)


def plenoptic_seconds(evaluations: float, shape: tuple[int, int],
                      device: str = "cpu") -> float:
    """Seconds of a plenoptic run: start-up plus its PS model evaluations."""
    per_eval = CPU_SECONDS_PER_EVAL_PIXEL * shape[0] * shape[1]
    startup = STARTUP["python"]
    if str(device).startswith("cuda"):
        per_eval = max(per_eval / GPU_SPEEDUP, GPU_MIN_EVAL)
        startup = STARTUP["cuda"]
    return startup + evaluations * per_eval


def texturesynth_seconds(n_iter: int, shape: tuple[int, int],
                         engine: str = "octave") -> float:
    """Seconds of a textureSynth run under ``engine`` (``octave`` or ``matlab``)."""
    engine = engine if engine in ENGINE_SECONDS_PER_ITER_PIXEL else "octave"
    return (STARTUP["python"] + STARTUP[engine]
            + n_iter * shape[0] * shape[1] * ENGINE_SECONDS_PER_ITER_PIXEL[engine])


def longest_first(costs: Sequence[float]) -> list[int]:
    """Indices of ``costs``, largest first; equal costs keep their order."""
    return sorted(range(len(costs)), key=lambda i: -costs[i])


def makespan(durations: Iterable[float], slots: int) -> float:
    """When the last task ends, dispatched in order to ``slots`` free slots.

    disBatch's dispatch: each task in file order starts on the slot that
    frees first.
    """
    if slots < 1:
        raise ValueError(f"slots must be at least 1, got {slots}")
    free = [0.0] * slots
    end = 0.0
    for duration in durations:
        start = heapq.heappop(free)
        heapq.heappush(free, start + duration)
        end = max(end, start + duration)
    return end
