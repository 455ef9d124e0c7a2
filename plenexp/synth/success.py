"""When a PS metamer counts as done, as plenoptic's maintainers judge it.

plenoptic issue #365: a Portilla-Simoncelli metamer is good when the overall
loss (L2 norm of the representation difference) is about 0.1 or less and every
value of the representation error lies within +-0.5. Each plenoptic run
records the fields of :func:`run_fields` in its ``loss.csv`` row; summaries
turn them into a share of runs and a median time and number of evaluations
(:func:`plenexp.summary.facets.success_table`).

No imports beyond the standard library: ``synthesize.py`` calls it before its
run ends, and summaries read its constants without loading torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: Overall loss (L2 norm of PS(target) - PS(metamer)) a good metamer reaches.
SUCCESS_LOSS = 0.1
#: Largest absolute value of the representation error a good metamer keeps.
SUCCESS_REP_ERROR = 0.5
#: The criterion in words, for tables and figure captions.
CRITERION = (f"loss <= {SUCCESS_LOSS:g} and every value of the representation "
             f"error within +-{SUCCESS_REP_ERROR:g} (plenoptic issue #365)")

#: Columns :func:`run_fields` adds to a run's ``loss.csv`` row.
COLUMNS = ("max_abs_rep_error", "seconds_to_success_loss",
           "evaluations_to_success_loss", "steps_to_success_loss")


def max_abs_rep_error(rep_error) -> float:
    """Largest absolute value of a representation error tensor (NaN ignored).

    Parameters
    ----------
    rep_error
        ``PS(target) - PS(metamer)`` (a torch tensor, computed by the caller
        under ``torch.no_grad()``).
    """
    values = rep_error.detach().abs().flatten()
    values = values[~values.isnan()]
    return float(values.max()) if values.numel() else math.nan


def first_reach(rows: Iterable[dict], threshold: float = SUCCESS_LOSS) -> dict | None:
    """The first trajectory state whose loss is at or below ``threshold``.

    Parameters
    ----------
    rows
        Trajectory rows (``step``, ``seconds``, ``loss``, ``evaluations``), in
        order (:class:`plenexp.synth.synthesis.Trajectory`).
    threshold
        The loss to reach.

    Returns
    -------
    row
        That row, or ``None`` if the loss never got there.
    """
    for row in rows:
        if float(row["loss"]) <= threshold:
            return row
    return None


def run_fields(trajectory_rows: Iterable[dict] | None, rep_error,
               loss_function: str = "l2_norm") -> dict:
    """The success fields of one run's ``loss.csv`` row.

    ``max_abs_rep_error`` is measured on the final metamer's representation
    error ``rep_error``; the ``*_to_success_loss`` fields are when the
    trajectory's loss first fell to :data:`SUCCESS_LOSS` (empty if it never
    did, or when the run's loss is not the plain L2 norm the criterion is
    stated in). The representation error is known only at the end, so those
    times are a lower bound on when the whole criterion held.
    """
    reached = None
    if trajectory_rows is not None and loss_function == "l2_norm":
        reached = first_reach(trajectory_rows)
    return {
        "max_abs_rep_error": max_abs_rep_error(rep_error),
        "seconds_to_success_loss": None if reached is None else reached["seconds"],
        "evaluations_to_success_loss":
            None if reached is None else reached["evaluations"],
        "steps_to_success_loss": None if reached is None else reached["step"],
    }
