"""Write the disBatch task file of the plenoptic runs of one grid.

Grids: quick (offline: reptile_skin cropped to 128x128, seeds 0-1, Adam at
25-200 iterations, LBFGS with history 3 and 100 at 2-20 steps; minutes on 2
cores), smoke (two tiny runs) and full (the published sweep: fig4a and
fig16b, seeds 0-9, Adam at 30/75/150/300/600 iterations and LBFGS with
highpass weight 100 at 10/25/50/100/200 steps x history 3/100/300: 400 runs).
The initial images must exist first (generate_init_imgs.py). Default task
file: <output-root>/ps_matlab_vs_plen/<grid>/plenoptic-<device>.txt.
"""

from plenexp import cli, tasks
from plenexp.experiments import ps_matlab_vs_plen as vs

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(
        vs.EXPERIMENT, {name: vs.checked(grid) for name, grid in
                        vs.PLENOPTIC_GRIDS.items()},
        output_flag="--output_path", timing_script="time_plenoptic_synthesize.sh",
        description=__doc__, grid_context=True, taskfile_prefix="plenoptic"))
