"""One run's science: its name, scoring its MATLAB metamer with plenoptic, its record.

``build`` is the only place the PS model and loss that score a MATLAB metamer
are made (4 scales, or fewer where plenoptic's experiments use fewer:
``fig12b`` 3), so ``synthesize.py``, ``analyze.py``, ``plot.py`` and the
summary all score a metamer alike. Nothing heavy is imported at module level
(the task writer reads :func:`run_name`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp.cluster.tasks import safe_name
from plenexp.runs import provenance, results
from plenexp.runs.record import RunRecord
from plenexp.synth import images, success
from ps_matlab import metamers
from ps_matlab.metamers import MatlabMetamer

if TYPE_CHECKING:
    import torch

EXPERIMENT = "ps_matlab"
#: plenoptic's PS loss shown in titles and used for the overall ``loss``.
LOSS = "l2_norm"
#: What ``loss`` is, in figure labels and titles.
LOSS_LABEL = f"PS loss ({LOSS}, plenoptic)"
#: The table of one run.
TABLE = "loss.csv"
#: Stem of a run's figure.
FIGURE = "ps_matlab"

#: Columns of a row that are not a statistic group's loss.
FACT_COLUMNS = (
    "name", "image", "crop", "seed", "n_iter", "init", "engine", "engine_version",
    "init_duration", "synth_duration", "process_duration", "texturesynth_commit",
    "pyrtools_commit", "host", "start_time", "seconds_per_iteration", "loss",
    "max_abs_rep_error", "mat_path", "run_dir")


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
    from plenexp.synth import synthesis

    model = synthesis.make_model(image, images.n_scales_for(str(args["img"])))
    return model, synthesis.make_loss(LOSS, model, image), None


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
    import torch

    from plenexp.synth import synthesis

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


class Scorer:
    """:func:`build` once per image shape and number of scales."""

    def __init__(self) -> None:
        self._built: dict = {}

    def model(self, metamer: MatlabMetamer, target: torch.Tensor):
        """The PS model that scores ``metamer``."""
        key = (tuple(target.shape[-2:]), images.n_scales_for(metamer.label))
        if key not in self._built:
            self._built[key] = build({"img": metamer.label}, target)[0]
        return self._built[key]

    def row(self, metamer: MatlabMetamer) -> dict:
        """The metamer's ``loss.csv`` row (``ValueError`` if unreadable)."""
        target, res, result = metamers.load_pair(metamer)
        row = loss_row(metamer.meta, self.model(metamer, target), target, res,
                       result)
        row["mat_path"] = str(metamer.mat_path)
        return row


def write_table(row: dict, run_dir: Path) -> None:
    """Write a run's ``loss.csv`` (atomically)."""
    results.write_row({k: v for k, v in row.items() if k != "mat_path"},
                      run_dir / TABLE)


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """Load a finished run: arguments, provenance, row and the three images.

    ``images`` holds ``target``, ``metamer`` and, for ``--init_img`` runs,
    ``init``, as ``(1, 1, H, W)`` tensors on the 0-1 scale; ``metamer`` (the
    plenoptic object) is always ``None``: MATLAB made the metamer.
    """
    run_dir = Path(run_dir)
    prov = provenance.load(run_dir)
    found = metamers.from_run_dir(run_dir)
    target, res, _ = metamers.load_pair(found)
    pictures = {"target": target, "metamer": res}
    if (run_dir / "init.png").is_file():
        pictures["init"] = images.load_image(run_dir / "init.png", within=run_dir)
    table = run_dir / TABLE
    row = results.to_frame(results.read_rows(table)).iloc[0].to_dict() \
        if table.is_file() else {}
    return RunRecord(run_dir=run_dir, experiment=EXPERIMENT,
                     args=dict(prov.get("args", {})),
                     provenance={k: v for k, v in prov.items() if k != "args"},
                     row=row, metamer=None, images=pictures)
