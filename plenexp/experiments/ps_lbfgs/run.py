"""One ps_lbfgs run: the target, the ONE construction of model/loss/metamer, its row.

``synthesize.py``, ``analyze.py`` and ``plot.py`` all build through
:func:`build`, so ``analyze --force`` reproduces the loss a run wrote. No
pandas or matplotlib here: this is the synthesis path.
"""

from __future__ import annotations

import plenoptic as po
import torch

from plenexp.synth import images, success, synthesis


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
    loss = synthesis.make_loss(args["loss"], model, image)
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
    """Success fields (:mod:`plenexp.synth.success`) of a finished metamer."""
    with torch.no_grad():
        rep_error = met.model(met.image) - met.model(met.metamer)
    return success.run_fields(trajectory_rows, rep_error, args["loss"])


def loss_row(args: dict, n_iter: int, final_loss: float, synth_duration: float,
             record: dict) -> dict:
    """One row of ``loss.csv``: the earlier columns, then the recorded fields.

    ``record`` holds the provenance and recorded fields: versions, host,
    threads, ``init_duration``, memory, ``evaluations`` and ``steps`` (from the
    trajectory), ``max_abs_rep_error`` and the ``*_to_success_loss`` fields.
    """
    row = {
        "filename": images.image_label(args["img"]),
        "coarse_to_fine": args["coarse_to_fine"],
        "seed": args["seed"],
        "search_func": args["line_search_fn"],
        "init_reduced": args["init_reduced"],
        "LBFGS_max_iter": args["max_iter"],
        "LBFGS_max_eval": args["max_eval"],
        "LBFGS_history_size": args["history_size"],
        "learning_rate": args["lr"],
        "synth_iter": n_iter,
        "loss": final_loss,
        "synth_duration": synth_duration,
        "loss_function": args["loss"],
        "crop": args.get("crop"),
        "synth_max_iter": args.get("synth_max_iter"),
    }
    row.update(record)
    return row
