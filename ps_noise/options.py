"""What a ps_noise run is told: its options, run name and loss names (no heavy imports).

``synthesize.py`` parses its arguments with these (``--help`` stays fast) and
``write_disbatch.py`` names its runs with :func:`run_name`.
"""

from __future__ import annotations

import argparse
import math

from plenexp.cli import MAX_MAGNITUDE, positive_float
from plenexp.synth.images import image_label

#: The six entries of PS ``pixel_statistics``, in plenoptic's order.
PIXEL_STATISTICS = ("mean", "variance", "skew", "kurtosis", "min", "max")
#: What the seven ``--weights`` numbers weight, in order.
WEIGHT_NAMES = (*PIXEL_STATISTICS, "var_highpass_residual")
DEFAULT_WEIGHTS = "1,1,1,1,1,1,10"
NOISE_TYPES = ("uniform", "normal")

#: What each loss number of a run is, by its ``loss.csv`` column: figures,
#: contact sheets and printed tables name the number with these words.
LOSS_LABELS = {
    "loss": "weighted L2 (the objective)",
    "l2_no_minmax": "unweighted L2 without pixel min/max",
    "l2_norm": "unweighted L2, all statistics",
}
#: The same, short enough for a contact-sheet cell ...
LOSS_SHORT = {"loss": "objective", "l2_no_minmax": "L2 w/o min/max",
              "l2_norm": "L2 all"}
#: ... and what each short name means, in full.
LOSS_DEFINITIONS = {
    "loss": "the weighted L2 synthesis minimised",
    "l2_no_minmax": "unweighted L2 of PS(target) - PS(metamer) without the "
                    "pixel min and max",
    "l2_norm": "unweighted L2 over all statistics",
}


def parse_weights(text: str) -> tuple[float, ...]:
    """Parse ``--weights``: seven comma-separated, non-negative numbers.

    Parameters
    ----------
    text
        E.g. ``"1,1,1,1,0,0,100"``: mean, variance, skew, kurtosis, min and max
        of the pixels, then the variance of the highpass residuals.

    Returns
    -------
    weights
        The seven weights.

    Raises
    ------
    argparse.ArgumentTypeError
        Unless there are exactly seven finite, non-negative numbers, not all
        zero (argparse turns it into one line and exit status 2). A single
        number (ps_matlab_vs_plen's ``--weighted``) is refused, never read as
        one weight.
    """
    parts = [part.strip() for part in str(text).split(",")]
    expected = f"expected 7 comma-separated weights ({', '.join(WEIGHT_NAMES)})"
    if len(parts) != len(WEIGHT_NAMES):
        raise argparse.ArgumentTypeError(f"{expected}, got {len(parts)} in {text!r}")
    weights = []
    for name, part in zip(WEIGHT_NAMES, parts, strict=True):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"weight of {name} is not a number: {part!r} in {text!r}") from None
        if not math.isfinite(value) or not 0 <= value <= MAX_MAGNITUDE:
            raise argparse.ArgumentTypeError(
                f"weight of {name} must be a finite number >= 0 and <= "
                f"{MAX_MAGNITUDE:g}, got {part!r}")
        weights.append(value)
    if not any(weights):
        raise argparse.ArgumentTypeError(f"all seven weights are 0 in {text!r}")
    return tuple(weights)


def format_weights(weights) -> str:
    """Weights as ``--weights`` text, e.g. ``1,1,1,1,0,0,100``."""
    return ",".join(f"{float(w):g}" for w in weights)


def noise_amplitude(text: str) -> float:
    """Parse ``--init_noise``: a number in (0, ``cli.MAX_MAGNITUDE``]."""
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a noise amplitude > 0 and <= {MAX_MAGNITUDE:g}, "
            f"got {text!r}") from None


def normalize_args(args: dict) -> dict:
    """A run's arguments with today's names and the weights as numbers.

    Runs made before the flags were unified recorded ``weighted`` and
    ``init_seed``; they read as ``weights`` and ``seed``.
    """
    args = dict(args)
    if "weights" not in args and "weighted" in args:
        args["weights"] = args.pop("weighted")
    if "seed" not in args and "init_seed" in args:
        args["seed"] = args.pop("init_seed")
    weights = args["weights"]
    args["weights"] = (parse_weights(weights) if isinstance(weights, str)
                       else tuple(float(w) for w in weights))
    return args


def run_name(args: dict) -> str:
    """Name of a run from its arguments (also the grids' run names)."""
    crop = f"_crop-{args['crop']}" if args.get("crop") else ""
    return (f"{image_label(str(args['img']))}{crop}_noise-{args['init_noise_type']}-"
            f"{args['init_noise']:g}_wt-{format_weights(args['weights'])}"
            f"_hist-{args['history_size']}_seed-{args['seed']}"
            f"_iter-{args['synth_max_iter']}")
