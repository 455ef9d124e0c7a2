"""ps_matlab_vs_plen: PS loss against time, MATLAB textureSynth vs plenoptic.

One module per concern (the contract of :mod:`plenexp.experiments`):

``grids``
    Grids of both sides, run names, where the initial images live (light).
``init_images``
    The uniform-noise initial images both sides start from.
``run``
    ``build`` (model, loss, metamer: the one construction), a run's
    synthesis with checkpoints, and ``score``/``loss_rows`` (every result,
    MATLAB's included, scored the same way).
``results``
    Loading any result (run directory or bare MAT file), ``analyze_run``,
    ``load_run``.
``figures``
    Metamer images: one run's figure, and a grid at equal budgets.
``loss_figures``
    Summary figures of loss against time and evaluations.
``metamers``
    The metamers at equal budgets of a summary table.
``stats``
    The decision: best method per budget or a tie, groups lost, success.
``summary``
    ``summarize``: every table into one, the figures, tables and text.
"""

from plenexp.experiments.ps_matlab_vs_plen.grids import EXPERIMENT, GRIDS, run_name

__all__ = ["EXPERIMENT", "GRIDS", "run_name"]
