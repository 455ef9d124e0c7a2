"""One ps_lbfgs run: the target, the ONE construction of model/loss/metamer, its row.

``synthesize.py``, ``analyze.py`` and ``plot.py`` all build through
:func:`build`, so ``analyze --force`` reproduces the loss a run wrote. No
pandas or matplotlib here: this is the synthesis path.
"""

from __future__ import annotations

import os
from pathlib import Path

import plenoptic as po
import torch

from plenexp.runs import devices, provenance
from plenexp.runs import results as tables
from plenexp.runs.record import RunRecord
from plenexp.synth import images, success, synthesis
from ps_lbfgs.columns import ARGUMENTS
from ps_lbfgs.write_disbatch import EXPERIMENT


def load_target(args: dict, device) -> torch.Tensor:
    """The run's target image, validated, on ``device``."""
    return images.load_image(args["img"], crop=args.get("crop")).to(device)


def build(args: dict, image: torch.Tensor):
    """Model, loss and (not yet set up) metamer for a run's arguments.

    Returns
    -------
    model, loss, met
        The PS model (scales from the image name), the loss function named by
        ``args["loss"]`` and a ``po.Metamer`` (``po.MetamerCTF`` with
        ``--coarse_to_fine``).
    """
    model = synthesis.make_model(image, images.n_scales_for(args["img"]))
    loss = synthesis.make_loss(args["loss_function"], model, image)
    met = synthesis.make_metamer(image, model, loss, args["coarse_to_fine"])
    return model, loss, met


def initial_image(args: dict, image: torch.Tensor) -> torch.Tensor | None:
    """Low-contrast noise around the target's mean with ``--init_reduced``.

    ``None`` otherwise (plenoptic's default initial image). Draws from torch's
    generator: seed it first.
    """
    if not args["init_reduced"]:
        return None
    return ((torch.rand_like(image) - 0.5) * 0.1 + image.mean()).clip(0, 1)


def setup(met, args: dict, image: torch.Tensor) -> None:
    """Seed, initial image and the LBFGS optimizer of ``args``."""
    po.set_seed(args["seed"])
    met.setup(initial_image(args, image), optimizer=torch.optim.LBFGS,
              optimizer_kwargs=synthesis.lbfgs_kwargs(
                  args["max_iter"], args["max_eval"], args["history_size"],
                  args["line_search_fn"], args["lr"]))


def outcome_fields(met, args: dict, trajectory_rows: list[dict] | None) -> dict:
    """Success fields (:mod:`plenexp.synth.success`) of a finished metamer.

    Also ``l2_norm_loss``: the pure L2 norm of the representation difference
    (``po.loss.l2_norm(model(target), model(metamer))``, no range penalty),
    whatever the run minimised; ``loss`` stays plenoptic's objective (the
    loss function plus ``penalty_lambda`` x the pixel-range penalty).
    """
    with torch.no_grad():
        target, reached = met.model(met.image), met.model(met.metamer)
        rep_error = target - reached
        l2 = float(po.loss.l2_norm(target, reached))
    fields = success.run_fields(trajectory_rows, rep_error, args["loss_function"])
    return {"l2_norm_loss": l2, **fields}


def run_name(args: dict) -> str:
    """Readable name of a run from its arguments.

    Ad hoc runs add a digest of every result-changing argument
    (``harness.run_dir_for(..., args=args)``), so crop, budgets and device
    that the name leaves out still keep runs apart.
    """
    ctf = "_ctf" if args.get("coarse_to_fine") else ""
    red = "_reduced" if args.get("init_reduced") else ""
    crop = f"_crop-{args['crop']}" if args.get("crop") else ""
    return (f"{args['img'].replace('/', '-')}{crop}_seed-{args['seed']}"
            f"_ls-{args['line_search_fn']}_iter-{args['max_iter']}"
            f"_eval-{args['max_eval']}_hist-{args['history_size']}"
            f"_lr-{args['lr']:g}_loss-{args['loss_function']}"
            f"_steps-{args['synth_max_iter']}{ctf}{red}")


def loss_row(args: dict, n_iter: int, final_loss: float, synth_duration: float,
             record: dict) -> dict:
    """One row of ``loss.csv``: the arguments, the outcome, the recorded fields.

    The arguments keep ``synthesize.py``'s names (``columns.ARGUMENTS``;
    ``max_eval_fraction`` as given, ``max_eval`` the count LBFGS got);
    ``synth_iter`` is the steps taken, ``loss`` the final value of
    plenoptic's objective (the loss function plus 0.1 x the pixel-range
    penalty); ``l2_norm_loss`` (in ``record``) the pure L2 norm of the
    representation difference. ``record``
    holds the provenance and recorded fields: versions, host, threads,
    ``init_duration``, memory, ``evaluations`` and ``steps`` (from the
    trajectory), ``max_abs_rep_error`` and the ``*_to_success_loss`` fields.
    """
    row = {column: args.get(column) for column in ARGUMENTS}
    row["img"] = images.image_label(args["img"])
    row.update(synth_iter=n_iter, loss=final_loss, synth_duration=synth_duration)
    row.update(record)
    return row


def load_run(run_dir: str | os.PathLike, metamer: bool = True,
             device=None) -> RunRecord:
    """A finished run: arguments, provenance, row, trajectory and metamer.

    Parameters
    ----------
    run_dir
        The run directory.
    metamer
        Rebuild the ``po.Metamer`` from ``metamer.pt`` (``weights_only``
        load), through the same :func:`build` the run used.
    device
        Where to load it (default: CPU).
    """
    run_dir = Path(run_dir)
    record = provenance.load(run_dir)
    args = record["args"]
    table = run_dir / "loss.csv"
    row = tables.read_rows(table)[0] if table.exists() else {}
    path = run_dir / "trajectory.csv"
    trajectory = synthesis.read_trajectory(path) if path.exists() else None
    met = None
    if metamer:
        device = device or devices.resolve_device("cpu")
        image = load_target(args, device)
        model, loss, _ = build(args, image)
        met = synthesis.load_metamer(run_dir / "metamer.pt", image, model, loss,
                                     args["coarse_to_fine"])
    return RunRecord(run_dir=run_dir, experiment=EXPERIMENT, args=args,
                     provenance={k: v for k, v in record.items()
                                 if k not in ("args",)},
                     row=row, metamer=met, trajectory=trajectory)
