"""One ps_noise run: target, initial image, the ONE build, the loss row, loading.

``build`` is the only place the model, loss and metamer of a run are made:
``synthesize.py``, ``analyze.py`` and ``plot.py`` all go through it, so a
rebuilt table reproduces the loss the run wrote (a 3-scale image such as
``fig12b`` gets its 3 scales everywhere).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import plenoptic as po
import torch

from plenexp.errors import UsageError
from plenexp.runs import provenance, results
from plenexp.runs.record import RunRecord
from plenexp.synth import images, success, synthesis
from ps_noise.options import (
    NOISE_TYPES,
    PIXEL_STATISTICS,
    format_weights,
    normalize_args,
    run_name,  # noqa: F401 (here for the contract; made where the grids read it)
)
from ps_noise.write_disbatch import EXPERIMENT

#: Files of one run.
METAMER_FILE = "metamer.pt"
INIT_FILE = "init.pt"
TABLE = "loss.csv"
TRAJECTORY = "trajectory.csv"

#: The LBFGS settings of every run (``--history_size`` apart).
LBFGS = {"max_iter": 10, "max_eval": 10, "line_search_fn": "strong_wolfe", "lr": 1.0}


def load_target(args: dict, device=None) -> torch.Tensor:
    """Load the run's target image (float64), validated, on ``device``."""
    image = images.load_image(args["img"], crop=args.get("crop"))
    return image if device is None else image.to(device)


def make_initial_image(image: torch.Tensor, noise_type: str, amplitude: float,
                       seed: int) -> torch.Tensor:
    """Draw the initial image of a run, the same on every device.

    The noise is drawn on the CPU from a generator seeded with ``seed`` (for
    float64 this is what ``po.set_seed(seed)`` then ``torch.randn_like`` or
    ``torch.rand_like`` give on the CPU) and then moved to ``image``'s device.

    Parameters
    ----------
    image
        The target, ``(1, 1, H, W)``.
    noise_type
        ``normal``: ``image + amplitude * N(0, 1)``; ``uniform``:
        ``amplitude * U[0, 1]``.
    amplitude
        Noise amplitude.
    seed
        Seed of the noise.

    Returns
    -------
    init
        The initial image, with ``image``'s shape, dtype and device.
    """
    generator = torch.Generator().manual_seed(int(seed))
    shape, dtype = image.shape, image.dtype
    if noise_type == "normal":
        noise = torch.randn(shape, generator=generator, dtype=dtype)
        init = image.detach().cpu() + amplitude * noise
    elif noise_type == "uniform":
        init = amplitude * torch.rand(shape, generator=generator, dtype=dtype)
    else:
        raise UsageError(f"unknown noise type {noise_type!r}: expected "
                         f"{' or '.join(NOISE_TYPES)}")
    return init.to(image.device).contiguous()


def initial_image(args: dict, image: torch.Tensor) -> torch.Tensor:
    """The initial image of the run described by ``args``."""
    return make_initial_image(image, args["init_noise_type"], args["init_noise"],
                              args["seed"])


def allowed_range(init: torch.Tensor) -> tuple[float, float]:
    """[0, 1] widened to cover the initial image."""
    return min(0.0, float(init.min())), max(1.0, float(init.max()))


def reweighting(weights) -> dict:
    """``make_loss`` reweighting for the seven ``--weights`` numbers."""
    weights = [float(w) for w in weights]
    return {"pixel_statistics": torch.tensor(weights[:6], dtype=torch.float64),
            "var_highpass_residual": weights[6]}


def build(args: dict, image: torch.Tensor, init: torch.Tensor
          ) -> tuple[torch.nn.Module, Callable, po.Metamer]:
    """Model, weighted L2 loss and (not yet set up) metamer of a run.

    Parameters
    ----------
    args
        The run's arguments (``img`` chooses the number of PS scales,
        ``weights`` the loss).
    image
        The target.
    init
        The initial image: the allowed pixel range covers it (the range
        penalty is off, so this only documents the range).
    """
    model = synthesis.make_model(image, images.n_scales_for(str(args["img"])))
    loss = synthesis.make_loss("l2_norm", model, image, reweighting(args["weights"]))
    met = synthesis.make_metamer(image, model, loss, penalty_lambda=0,
                                 allowed_range=allowed_range(init))
    return model, loss, met


def setup(met: po.Metamer, init: torch.Tensor, history_size: int) -> None:
    """Set the metamer up from ``init`` with the experiment's LBFGS settings."""
    met.setup(init, optimizer=torch.optim.LBFGS,
              optimizer_kwargs=synthesis.lbfgs_kwargs(history_size=history_size,
                                                      **LBFGS))


def objective(model: torch.nn.Module, loss: Callable, image: torch.Tensor,
              metamer: torch.Tensor) -> float:
    """The synthesis objective (weighted L2) between ``image`` and ``metamer``."""
    with torch.no_grad():
        return float(loss(model(metamer), model(image)))


def loss_row(args: dict, model: torch.nn.Module, image: torch.Tensor,
             init: torch.Tensor, metamer: torch.Tensor, loss_value: float,
             n_iter: int, record: dict) -> dict:
    """One row of ``loss.csv``.

    Columns: the run's choices; ``loss`` (the weighted objective synthesis
    minimised); ``l2_norm`` and ``l2_<group>`` (the unweighted L2 norm of
    ``PS(target) - PS(metamer)``, overall and by statistic group);
    ``l2_norm_loss`` (``po.loss.l2_norm(PS(target), PS(metamer))``: the pure
    L2 every plenoptic experiment records, the summaries' success measure);
    ``l2_no_minmax`` (the same without the pixel min and max, which most
    weight sets leave out: the measure comparable across weights);
    ``max_abs_rep_error`` (the largest ``|PS(target) - PS(metamer)|``, for
    plenoptic's success criterion); ``pixel_<stat>_error`` (target minus
    metamer, the sign of every figure, for each pixel statistic); the pixel
    ranges of the initial image and the metamer; the fraction of metamer
    pixels outside [0, 1]; then ``record`` (durations, evaluations, steps,
    versions, device, threads, memory). :data:`.options.LOSS_LABELS` names the
    losses.
    """
    groups = synthesis.group_losses(model, image, metamer)["l2_norm"]
    with torch.no_grad():
        target, reached = model(image), model(metamer)
        diff = target - reached
        l2_norm_loss = float(po.loss.l2_norm(target, reached))
    parts = model.convert_to_dict(diff.clone())
    pix_error = parts["pixel_statistics"].flatten().tolist()
    parts["pixel_statistics"][..., 4:] = 0
    no_minmax = model.convert_to_tensor(parts)
    no_minmax = no_minmax[~torch.isnan(no_minmax)]
    row = {
        "image": images.image_label(str(args["img"])),
        "crop": args.get("crop"),
        "noise_type": args["init_noise_type"],
        "noise_amplitude": args["init_noise"],
        "weights": format_weights(args["weights"]),
        "seed": args["seed"],
        "history_size": args["history_size"],
        "synth_max_iter": args["synth_max_iter"],
        "synth_iter": n_iter,
        "loss": loss_value,
        "l2_norm": groups["overall"],
        "l2_norm_loss": l2_norm_loss,
        "l2_no_minmax": float(torch.linalg.vector_norm(no_minmax.double())),
        "max_abs_rep_error": success.max_abs_rep_error(diff),
    }
    row.update({f"l2_{key}": value for key, value in groups.items()
                if key != "overall"})
    row.update({f"pixel_{name}_error": value
                for name, value in zip(PIXEL_STATISTICS, pix_error, strict=True)})
    row.update({
        "init_min": float(init.min()), "init_max": float(init.max()),
        "metamer_min": float(metamer.min()), "metamer_max": float(metamer.max()),
        "out_of_range": float(((metamer < 0) | (metamer > 1)).double().mean()),
    })
    row.update({k: v for k, v in record.items() if k not in row})
    return row


def save_results(run_dir: Path, met: po.Metamer, init: torch.Tensor) -> None:
    """``metamer.pt`` (plenoptic's lean save), ``init.pt``, ``metamer.png``."""
    synthesis.save_metamer(met, run_dir / METAMER_FILE)
    synthesis.save_tensors(init.detach().cpu(), run_dir / INIT_FILE)
    images.save_grayscale_png(met.metamer.clip(0, 1), run_dir / "metamer.png")


# ---------------------------------------------------- a finished run ---


def _numbers(row: dict) -> dict:
    """A ``loss.csv`` row read as text, numbers made numbers."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """Load what a finished run saved, on the CPU.

    Parameters
    ----------
    run_dir
        The run directory.
    metamer
        Also rebuild the ``po.Metamer`` (through :func:`build`, the run's
        own model and loss) and load it with ``weights_only=True``.

    Returns
    -------
    record
        ``images`` holds ``target``, ``init`` (the initial image synthesis
        used, from ``init.pt``) and ``metamer``; ``row`` the ``loss.csv`` row;
        ``trajectory`` the per-step rows, where the run recorded them.
    """
    run_dir = Path(run_dir)
    prov = provenance.load(run_dir)
    args = normalize_args(prov["args"])
    saved = synthesis.load_tensors(run_dir / METAMER_FILE)
    image = saved["_image"].detach()
    init = synthesis.load_tensors(run_dir / INIT_FILE)
    met = None
    if metamer:
        _, _, met = build(args, image, init)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            met.load(synthesis._saved(run_dir / METAMER_FILE), map_location="cpu",
                     weights_only=True)
    table = run_dir / TABLE
    row = _numbers(results.read_rows(table)[0]) if table.is_file() else {}
    trajectory = run_dir / TRAJECTORY
    return RunRecord(
        run_dir=run_dir, experiment=EXPERIMENT, args=args,
        provenance={k: v for k, v in prov.items() if k != "args"}, row=row,
        metamer=met,
        images={"target": image, "init": init,
                "metamer": saved["_metamer"].detach()},
        trajectory=(synthesis.read_trajectory(trajectory)
                    if trajectory.is_file() else None))


def saved_losses(record: RunRecord) -> list[float]:
    """The loss before each step, then the final loss (from ``metamer.pt``)."""
    saved = synthesis.load_tensors(record.run_dir / METAMER_FILE)
    losses = [float(v) for v in saved["_losses"]]
    if saved.get("_current_loss") is not None:
        losses.append(float(saved["_current_loss"]))
    return losses


def trajectory_fields(rows: list[dict] | None) -> dict:
    """``evaluations`` and ``steps`` of a run from its trajectory rows."""
    if not rows:
        return {"evaluations": None, "steps": None}
    return {"evaluations": rows[-1]["evaluations"], "steps": len(rows) - 1}


def rebuild_row(record: RunRecord, model, loss) -> dict:
    """The run's ``loss.csv`` row, computed again from what it saved."""
    image, init = record.images["target"], record.images["init"]
    metamer = record.images["metamer"]
    fields = {k: v for k, v in record.provenance.items() if k != "argv"}
    fields.update(trajectory_fields(record.trajectory))
    row = loss_row(record.args, model, image, init, metamer,
                   objective(model, loss, image, metamer),
                   len(saved_losses(record)) - 1, fields)
    return row


def regenerate_init(record: RunRecord) -> torch.Tensor:
    """Rebuild the initial image from the run's seed, noise type and amplitude."""
    return initial_image(record.args, record.images["target"])
