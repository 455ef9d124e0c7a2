"""Write the disBatch task file of one ps_lbfgs grid (one shell line per run).

Grids: quick (offline, minutes on a laptop), smoke (seconds), full (the last
published sweep, 48 runs), mse and small_lr (the earlier sweeps). Every grid
gives all its runs one budget (``--synth_max_iter``), so shorter budgets are
read from the runs' trajectories rather than run again.
"""

from plenexp import cli
from plenexp.cluster import tasks
from plenexp.experiments.ps_lbfgs import grids

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(grids.EXPERIMENT, grids.GRIDS,
                                         description=__doc__))
