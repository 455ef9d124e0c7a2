"""Write the disBatch task file of one ps_lbfgs grid (one shell line per run).

Grids: quick (offline, minutes on a laptop), full (the last published sweep,
48 runs), mse and small_lr (the earlier sweeps).
"""

from plenexp import cli, tasks
from plenexp.experiments import ps_lbfgs

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(ps_lbfgs.EXPERIMENT, ps_lbfgs.GRIDS,
                                         output_flag="--output_dir",
                                         description=__doc__))
