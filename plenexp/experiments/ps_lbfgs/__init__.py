"""ps_lbfgs: how to configure ``torch.optim.LBFGS`` for PS metamer synthesis.

Modules by concern (see ``plenexp.experiments``): ``grids`` (no heavy
imports), ``run`` (the one construction of model, loss and metamer),
``results`` (reloading and analyzing finished runs), ``figures`` and
``summary``.
"""

from plenexp.experiments.ps_lbfgs.grids import EXPERIMENT, GRIDS, run_name

__all__ = ["EXPERIMENT", "GRIDS", "run_name"]
