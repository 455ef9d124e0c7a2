"""One plenoptic run, and the one way every result is scored.

``build`` is the only place the model, loss and metamer are made
(``synthesize.py``, ``analyze.py`` and ``plot.py`` all call it); ``score`` and
``loss_rows`` turn any metamer, MATLAB's included, into the rows of
``loss.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import plenoptic as po
import torch

from plenexp.experiments.ps_matlab_vs_plen.grids import (
    WEIGHTED_GROUP,
    effective_weight,
    optimizer_label,
    seed_of,
)
from plenexp.synth import images, success, synthesis

#: Loss functions of the per-result table: three norms of the difference of
#: the PS statistics, and its largest absolute value (the success criterion).
LOSS_FUNCS = ("l2_norm", "mse", "sse", "max_abs")
#: The identifying columns of ``loss.csv``, in order; ``loss_func``,
#: ``loss_type`` and ``loss`` follow, then provenance.
COLUMNS = [
    "img", "seed", "init_img", "optimizer", "engine", "device", "host",
    "synth_iters", "steps", "evaluations", "res_highpass_weight",
    "init_duration", "synth_duration", "process_duration",
]
#: Provenance copied into every row.
EXTRA_COLUMNS = ("device_name", "plenoptic_version", "torch_version", "repo_commit")
#: The metamers a run keeps at its ``--checkpoints`` (step -> tensor).
CHECKPOINTS = "checkpoints.pt"


def load_target(args: dict, device: torch.device | str = "cpu") -> torch.Tensor:
    """The run's target image (float64) on ``device``."""
    return images.load_image(args["img"], crop=args.get("crop")).to(device)


def scoring_model(img_spec: str, target: torch.Tensor) -> torch.nn.Module:
    """The PS model every result of ``img_spec`` is optimised and scored with."""
    return synthesis.make_model(target, images.n_scales_for(img_spec))


def build(args: dict, image: torch.Tensor):
    """Model, loss and (not yet set up) metamer of a plenoptic run.

    Adam runs as ``MetamerCTF`` (coarse-to-fine ``together``); LBFGS as
    ``Metamer``. ``--weighted W`` multiplies ``var_highpass_residual`` by W.

    Returns
    -------
    model, loss, met
    """
    model = scoring_model(args["img"], image)
    weights = {WEIGHTED_GROUP: args["weighted"]} if args["weighted"] else None
    loss = synthesis.make_loss(args["loss"], model, image, weights)
    met = synthesis.make_metamer(image, model, loss,
                                 coarse_to_fine=args["optimizer"] == "Adam")
    return model, loss, met


def setup(met: po.Metamer, args: dict, init: torch.Tensor) -> None:
    """Set the metamer up from ``init`` with the run's optimizer."""
    if args["optimizer"] == "Adam":
        met.setup(init)
    else:
        met.setup(init, optimizer=torch.optim.LBFGS,
                  optimizer_kwargs=synthesis.lbfgs_kwargs(
                      args["max_iter"], args["max_iter"], args["history_size"],
                      "strong_wolfe", 1.0))


def synthesize(met: po.Metamer, n_iter: int, checkpoints: Iterable[int] = (),
               trajectory: synthesis.Trajectory | None = None
               ) -> dict[int, torch.Tensor]:
    """Run ``n_iter`` steps, keeping a copy of the metamer after each checkpoint.

    The steps run in segments ending at the checkpoints; a run's first ``k``
    steps are those of a ``k``-step run, so each copy is what that run would
    have given.

    Returns
    -------
    kept
        Step to metamer (CPU), for each checkpoint below ``n_iter``.
    """
    ends = sorted({k for k in checkpoints if 0 < k < n_iter} | {n_iter})
    kept, done = {}, 0
    for end in ends:
        chunks = max(1, round(10 * (end - done) / n_iter))
        synthesis.synthesize(met, end - done, stop_criterion=None,
                             progress_chunks=chunks,
                             trajectory=trajectory if end == n_iter else None)
        done = end
        if end < n_iter:
            kept[end] = met.metamer.detach().to("cpu", copy=True)
    return kept


def save_checkpoints(kept: dict[int, torch.Tensor], path: Path) -> None:
    """Write the kept metamers (loads with ``weights_only=True``)."""
    synthesis.save_tensors({f"step-{k}": v for k, v in sorted(kept.items())}, path)


def score(model: torch.nn.Module, target: torch.Tensor,
          metamer: torch.Tensor) -> dict[str, dict[str, float]]:
    """Loss between the target's and the metamer's PS statistics, by group.

    Returns
    -------
    losses
        ``{loss_func: {"overall": value, group: value, ...}}`` for every
        :data:`LOSS_FUNCS`; ``max_abs`` is the largest absolute difference
        of one statistic (redundant, NaN, statistics left out).
    """
    metamer = metamer.to(device=target.device, dtype=target.dtype)
    losses = synthesis.group_losses(model, target, metamer)
    with torch.no_grad():
        diff = model(target) - model(metamer)
    groups = {"overall": diff, **model.convert_to_dict(diff)}
    losses["max_abs"] = {key: success.max_abs_rep_error(values)
                         for key, values in groups.items()}
    return losses


def loss_row(meta: dict, loss_func: str, loss_type: str, loss: float,
             extra: dict | None = None) -> dict:
    """One row of ``loss.csv``: the identifying columns, one loss, provenance."""
    return {**{k: meta.get(k, "") for k in COLUMNS}, "loss_func": loss_func,
            "loss_type": loss_type, "loss": loss, **(extra or {})}


def loss_rows(meta: dict, losses: dict[str, dict[str, float]],
              extra: dict | None = None) -> list[dict]:
    """The rows of one result: every loss function x (overall + every group).

    ``l2_norm`` overall comes first.
    """
    return [loss_row(meta, func, loss_type, losses[func][loss_type], extra)
            for func in LOSS_FUNCS
            for loss_type in ["overall", *sorted(set(losses[func]) - {"overall"})]]


def device_type(device: str | None) -> str:
    """``cpu`` or ``cuda`` (the device family, for tables)."""
    text = str(device or "cpu")
    if text == "cpu":
        return "cpu"
    return "cuda" if text.startswith("cuda") or text.isdigit() else text


def plenoptic_states(args: dict, record: dict,
                     trajectory: list[dict] | None) -> list[dict]:
    """Identifying columns of a run's final metamer and of each checkpoint.

    Parameters
    ----------
    args
        The run's arguments.
    record
        Its provenance (``init_duration``, ``synth_duration``, ``steps``,
        ``evaluations``, ``init_img_path``, ``host``, ...).
    trajectory
        Its trajectory rows: a checkpoint's seconds and evaluations are those
        of the trajectory at that step.

    Returns
    -------
    states
        One dict per kept metamer, the final one last, each with ``source``:
        ``metamer.pt`` or ``checkpoints.pt:step-<k>``.
    """
    init_label = Path(str(record.get("init_img_path") or args["init_img"])).stem
    steps = int(record["steps"])
    common = {
        "img": images.image_label(args["img"]), "seed": seed_of(init_label),
        "init_img": init_label,
        "optimizer": optimizer_label(args["optimizer"], args["history_size"]),
        "engine": f"plenoptic {record.get('plenoptic_version')}",
        "device": device_type(record.get("device") or args.get("device")),
        "host": record.get("host", ""),
        "res_highpass_weight": effective_weight(args["weighted"]),
        "init_duration": float(record["init_duration"]),
        "process_duration": record.get("process_duration", ""),
    }
    by_step = {row["step"]: row for row in trajectory or []}
    synth = float(record["synth_duration"])
    states = []
    for k in sorted(int(k) for k in record.get("checkpoints") or ()):
        if 0 < k < steps:
            row = by_step[k]
            # no process of its own: summaries estimate it (summary.normalize)
            states.append({**common, "synth_iters": k, "steps": k,
                           "evaluations": row["evaluations"],
                           "synth_duration": row["seconds"], "process_duration": "",
                           "source": f"{CHECKPOINTS}:step-{k}"})
    states.append({**common, "synth_iters": steps, "steps": steps,
                   "evaluations": record.get("evaluations", ""),
                   "synth_duration": synth, "source": "metamer.pt"})
    return states


def state_rows(states: list[dict], metamers: Callable[[str], torch.Tensor],
               model: torch.nn.Module, target: torch.Tensor,
               extra: dict) -> list[dict]:
    """Score each state's metamer (``metamers(source)``) into table rows."""
    rows = []
    for state in states:
        losses = score(model, target, metamers(state["source"]))
        rows += loss_rows(state, losses, {**extra, "metamer": state["source"]})
    return rows


def objective_name(args: dict) -> str:
    """What a plenoptic run minimised: ``l2_norm``, ``l2_norm, highpass x100``..."""
    weight = effective_weight(args["weighted"])
    return args["loss"] if weight == 1 else f"{args['loss']}, highpass x{weight:g}"
