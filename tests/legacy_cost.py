"""The cost estimate of task writers before grids carried their own (a reference).

Task writers once parsed each task's arguments back (against a copy of every
script's defaults) to estimate its cost; each grid now gives ``Task.seconds``
from ``plenexp.cluster.cost``'s pieces. These tests check the new estimates
against the old ones, so task order and time limits did not change.
"""

from __future__ import annotations

from collections.abc import Sequence

from plenexp.cluster.cost import (
    CPU_SECONDS_PER_EVAL_PIXEL,
    ENGINE_SECONDS_PER_ITER_PIXEL,
    GPU_MIN_EVAL,
    GPU_SPEEDUP,
    LBFGS_STEP_OVERHEAD,
    STARTUP,
    _positive,
    image_shape,
)

#: Script defaults for options a task leaves out (the same in every script).
DEFAULTS = {"synth_max_iter": "200", "max_iter": "10", "n_iter": "100",
            "line_search_fn": "strong_wolfe", "optimizer": "LBFGS",
            "engine": "auto"}


def parse_options(argv: Sequence[str]) -> dict[str, str | bool]:
    """``--name value`` pairs (and bare flags, as True) of a task's argv.

    Parameters
    ----------
    argv
        The arguments of a task line's script, e.g. ``Task.argv``.

    Returns
    -------
    options
        Option name without dashes (``-`` read as ``_``) to its value; the last
        occurrence wins, as with argparse.
    """
    options: dict[str, str | bool] = {}
    words = [str(word) for word in argv]
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--"):
            i += 1
            continue
        key = word[2:].replace("-", "_")
        if "=" in key:
            key, value = key.split("=", 1)
            options[key] = value
            i += 1
        elif i + 1 < len(words) and not words[i + 1].startswith("--"):
            options[key] = words[i + 1]
            i += 2
        else:
            options[key] = True
            i += 1
    return options


def evaluations(options: dict) -> float:
    """Upper bound on the PS model evaluations of a plenoptic run."""
    steps = _positive(options.get("synth_max_iter", DEFAULTS["synth_max_iter"]), 200)
    if str(options.get("optimizer", DEFAULTS["optimizer"])).lower() == "adam":
        return steps
    max_iter = _positive(options.get("max_iter", DEFAULTS["max_iter"]), 10)
    raw = options.get("max_eval", max_iter)  # every script's default: max_iter
    max_eval = (1.25 * max_iter if str(raw).lower() == "none"
                else _positive(raw, max_iter))
    if str(options.get("line_search_fn", DEFAULTS["line_search_fn"])).lower() == "none":
        max_eval = min(max_eval, max_iter)
    return steps * (max_eval + LBFGS_STEP_OVERHEAD)


def estimate_seconds(argv: Sequence[str], device: str = "cpu") -> float:
    """Estimated seconds of one run, from its script arguments alone.

    Parameters
    ----------
    argv
        The run's script arguments (a task's ``argv`` and any options added to
        every task, such as ``--engine``).
    device
        ``cpu`` or a CUDA device.

    Returns
    -------
    seconds
        Start-up plus synthesis, for one thread on a CPU like the one named in
        this module's docstring.
    """
    options = parse_options(argv)
    height, width = image_shape(options)
    pixels = height * width
    if "n_iter" in options:  # MATLAB textureSynth
        engine = str(options.get("engine", DEFAULTS["engine"]))
        engine = engine if engine in ENGINE_SECONDS_PER_ITER_PIXEL else "octave"
        n_iter = _positive(options["n_iter"], float(DEFAULTS["n_iter"]))
        return (STARTUP["python"] + STARTUP[engine]
                + n_iter * pixels * ENGINE_SECONDS_PER_ITER_PIXEL[engine])
    per_eval = CPU_SECONDS_PER_EVAL_PIXEL * pixels
    startup = STARTUP["python"]
    if str(device).startswith("cuda") or str(device).isdigit():
        per_eval = max(per_eval / GPU_SPEEDUP, GPU_MIN_EVAL)
        startup = STARTUP["cuda"]
    return startup + evaluations(options) * per_eval

