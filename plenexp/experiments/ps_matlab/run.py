"""Scoring one MATLAB metamer with plenoptic: the one build, the loss row.

``build`` is the only place the PS model and loss that score a MATLAB metamer
are made (4 scales, or fewer where plenoptic's experiments use fewer:
``fig12b`` 3), so ``synthesize.py``, ``analyze.py``, ``plot.py`` and the
summary all score a metamer alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from plenexp.synth import images, success, synthesis

#: plenoptic's PS loss shown in titles and used for the overall ``loss``.
LOSS = "l2_norm"
#: What ``loss`` is, in figure labels and titles.
LOSS_LABEL = f"PS loss ({LOSS}, plenoptic)"
#: Files of one run.
TABLE = "loss.csv"
MAT_FILE = "metamer.mat"
TARGET_FILE = "target.png"
#: Stem of a run's figure.
FIGURE = "ps_matlab"

#: Columns of a row that are not a statistic group's loss.
FACT_COLUMNS = (
    "name", "image", "crop", "seed", "n_iter", "init", "engine", "engine_version",
    "init_duration", "synth_duration", "process_duration", "texturesynth_commit",
    "pyrtools_commit", "host", "start_time", "seconds_per_iteration", "loss",
    "max_abs_rep_error", "mat_path", "run_dir")


def load_target(args: dict, device: torch.device | str = "cpu") -> torch.Tensor:
    """The run's target image (``--img``, ``--crop``), checked, on ``device``."""
    return images.load_image(args["img"], crop=args.get("crop")).to(device)


def build(args: dict, image: torch.Tensor
          ) -> tuple[torch.nn.Module, Callable, None]:
    """PS model and loss that score metamers of ``args["img"]``.

    Returns
    -------
    model, loss, synthesis
        The model for ``image``'s shape and the image's number of scales;
        plenoptic's ``l2_norm``; ``None`` (MATLAB made the metamer).
    """
    model = synthesis.make_model(image, images.n_scales_for(str(args["img"])))
    return model, synthesis.make_loss(LOSS, model, image), None


def metamer_image(result: dict) -> torch.Tensor:
    """A ``read_result`` metamer as a ``(1, 1, H, W)`` tensor on the 0-1 scale."""
    return torch.from_numpy(np.asarray(result["res"]) / 255)[None, None]


def loss_row(meta: dict, model: torch.nn.Module, target: torch.Tensor,
             metamer: torch.Tensor, result: dict) -> dict:
    """One row of ``loss.csv``: run facts, overall and per-group PS loss.

    Parameters
    ----------
    meta
        Run facts: name, image, crop, seed, n_iter, engine, durations ...
    model
        From :func:`build`.
    target, metamer
        On the 0-1 scale.
    result
        The MAT file (``initToc``, ``synthToc``).

    Returns
    -------
    row
        ``meta``, ``init_duration`` and ``synth_duration`` from the MAT file,
        ``seconds_per_iteration``, ``loss`` (``l2_norm`` over all
        statistics), ``max_abs_rep_error`` (largest ``|PS(target) -
        PS(metamer)|``) and one ``l2_norm`` column per statistic group.
    """
    losses = synthesis.group_losses(model, target, metamer)[LOSS]
    with torch.no_grad():
        rep_error = model(target) - model(metamer)
    synth = result["synthToc"] - result["initToc"]
    n_iter = meta.get("n_iter")
    per_iter = synth / n_iter if n_iter and not _isnan(n_iter) else math.nan
    row = {**meta, "init_duration": result["initToc"], "synth_duration": synth,
           "seconds_per_iteration": per_iter, "loss": losses["overall"],
           "max_abs_rep_error": success.max_abs_rep_error(rep_error)}
    row.update({k: v for k, v in losses.items() if k != "overall"})
    return row


def _isnan(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
