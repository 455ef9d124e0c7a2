"""Write the disBatch task file of one ps_noise grid (one shell line per run).

Grids: quick (offline, 128x128 crops, a few minutes on a laptop), smoke (two
3-iteration runs), full (the published sweep: curie and einstein, seeds 0 and
1, normal noise of amplitude 1 and 2, three weight sets, 200 iterations; 24
runs).
"""

from plenexp import cli
from plenexp.cluster import tasks
from plenexp.experiments.ps_noise import grids

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(grids.EXPERIMENT, grids.GRIDS,
                                         description=__doc__))
