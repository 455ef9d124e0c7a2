"""Write the disBatch task file of one ps_matlab grid (one shell line per run).

Grids: quick (offline: reptile_skin cropped to 128x128, seeds 0 and 1, 20
iterations), smoke (one run of 2 iterations) and full (the original study: the
38 PS paper figures, 100 iterations, 256x256). CPU only. The textureSynth and
matlabPyrTools directories are checked here and written into every task, with
the engine.
"""

from plenexp import cli
from plenexp.cluster import tasks
from plenexp.experiments.ps_matlab import grids
from plenexp.synth import matlab

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(
        grids.EXPERIMENT, grids.GRIDS, description=__doc__,
        extra_arguments=matlab.add_matlab_arguments,
        extra_task_args=grids.code_arguments))
