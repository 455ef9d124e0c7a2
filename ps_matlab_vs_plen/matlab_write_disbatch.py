"""Write the disBatch task file of the MATLAB (textureSynth) runs of one grid.

Each task runs ps_matlab/synthesize.py (MATLAB or GNU Octave) through
time_matlab_synthesize.sh. Grids: quick (reptile_skin cropped to 128x128,
seeds 0-1, 5/10/20 iterations), smoke (one tiny run) and full (the published
sweep: fig4a and fig16b, seeds 0-9, 400 and 800 iterations: 40 runs). CPU
only. The textureSynth and matlabPyrTools directories (--texturesynth-dir,
--pyrtools-dir, else $TEXTURESYNTH_DIR and $MATLABPYRTOOLS_DIR) are checked
here and written into every task, with --engine. The initial images must
exist first (generate_init_imgs.py). Default
task file: <output-root>/ps_matlab_vs_plen/<grid>/matlab-cpu.txt.
"""

from plenexp import cli, matlab, tasks
from plenexp.experiments import ps_matlab
from plenexp.experiments import ps_matlab_vs_plen as vs

if __name__ == "__main__":
    cli.run(lambda: tasks.write_disbatch(
        vs.EXPERIMENT, {name: vs.checked(grid) for name, grid in
                        vs.MATLAB_GRIDS.items()},
        output_flag="--output_dir", timing_script="time_matlab_synthesize.sh",
        description=__doc__, grid_context=True, taskfile_prefix="matlab",
        extra_arguments=matlab.add_matlab_arguments,
        extra_task_args=ps_matlab.code_arguments))
