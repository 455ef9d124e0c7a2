"""ps_lbfgs's column names: each argument's one name, its label, the 2024 names.

A ``loss.csv`` row repeats the run's arguments under the names
``synthesize.py`` gives them, and the summary, ``timing.txt`` and the figures
read them under the same names; only the labels drawn on figures are
prettier (:data:`LABELS`). The earlier version's tables (2024) used other
names (:data:`NAMES_2024`); ``summarize.py --from-csv`` maps them on reading.
No heavy imports.
"""

from __future__ import annotations

#: The arguments a ``loss.csv`` row repeats (``img`` as the image's short
#: name), in the table's order.
ARGUMENTS = ("img", "coarse_to_fine", "seed", "line_search_fn", "init_reduced",
             "max_iter", "max_eval", "max_eval_fraction", "history_size", "lr",
             "loss_function", "crop", "synth_max_iter")

#: Experimental variables, in the order they take colour, marker, then panels.
VARIABLES = ["max_eval_fraction", "max_iter", "lr", "history_size",
             "line_search_fn", "coarse_to_fine", "init_reduced", "crop",
             "synth_max_iter", "device"]

#: The arguments that set what one step costs (``timing.txt`` compares runs
#: that agree on all of them): seeds are left out.
CONFIG_COLUMNS = ("img", "coarse_to_fine", "line_search_fn", "init_reduced",
                  "max_iter", "max_eval_fraction", "history_size", "lr",
                  "loss_function", "crop")

#: Display names of the columns on figures and in text (else the name itself).
LABELS = {
    "img": "image",
    "line_search_fn": "line search",
    "max_eval_fraction": "max_eval / max_iter",
    "history_size": "history",
    "loss_function": "loss",
    "coarse_to_fine": "coarse to fine",
    "init_reduced": "reduced init",
    "synth_max_iter": "steps",
    "synth_duration": "synthesis time (s)",
    "evaluations": "PS model evaluations",
    "loss": "final loss",
    "l2_norm_loss": "L2 norm of the representation difference",
    "synth_duration_normalized": "synthesis time, normalized to typical speed (s)",
}

#: Levels shown with a word of explanation.
LEVEL_NAMES = {"max_eval_fraction": {"1.25": "1.25 (None)"}}

#: The earlier tables' column names, to this version's. ``LBFGS_max_eval``
#: there is a count or a fraction of ``max_iter``: ``summarize`` decides which.
NAMES_2024 = {
    "filename": "img",
    "search_func": "line_search_fn",
    "LBFGS_max_iter": "max_iter",
    "LBFGS_max_eval": "max_eval",
    "LBFGS_max_eval_frac": "max_eval_fraction",
    "LBFGS_history_size": "history_size",
    "learning_rate": "lr",
}


def label(column: str) -> str:
    """The name a figure or text shows for ``column``."""
    return LABELS.get(column, column)


def rename_2024(columns) -> dict[str, str]:
    """Old name to new for the ``columns`` of an earlier table.

    A column already under its new name is kept; its old twin is not renamed.
    """
    present = set(columns)
    return {old: new for old, new in NAMES_2024.items()
            if old in present and new not in present}
