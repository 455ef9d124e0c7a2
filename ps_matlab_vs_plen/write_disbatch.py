"""Write the disBatch task file of one grid: plenoptic runs, MATLAB runs, or both.

Every task runs time_synthesize.sh: plenoptic runs through synthesize.py,
MATLAB (textureSynth) runs through ps_matlab/synthesize.py (their arguments
start with the word ``matlab``). Grids:

- quick: offline, reptile_skin cropped to 128x128, seeds 0-1; plenoptic: Adam
  at 25-200 iterations, LBFGS (history 3 and 100, highpass weight 100) at 2-20
  steps (24 runs, minutes on 2 cores); MATLAB: 5/10/20 iterations (6 runs);
- smoke: one tiny run of each method;
- full: the published sweep: fig4a and fig16b, seeds 0-9; plenoptic: Adam at
  30/75/150/300/600 iterations and LBFGS at 10/25/50/100/200 steps x history
  3/100/300 (400 runs); MATLAB: 400 and 800 iterations (40 runs);
- quick-longest, full-longest: the same results with the plenoptic side run
  once per configuration, at its longest budget, keeping the metamer at each
  shorter budget (--checkpoints): about 1.9x less plenoptic compute. The
  MATLAB side is the quick or full grid's.

MATLAB runs are CPU only: write them with --side matlab (the textureSynth and
matlabPyrTools directories, --texturesynth-dir and --pyrtools-dir or
$TEXTURESYNTH_DIR and $MATLABPYRTOOLS_DIR, are checked here and written into
every task, with --engine). The initial images must exist first
(generate_init_imgs.py). Default task file:
<output-root>/ps_matlab_vs_plen/<grid>/<side>-<device>.txt (``disbatch-``
for both sides).
"""

import sys

from plenexp import cli
from plenexp.cluster import tasks
from plenexp.experiments import ps_matlab
from plenexp.experiments.ps_matlab_vs_plen import grids
from plenexp.synth import matlab

#: Default task file prefix of each --side.
PREFIX = {"plenoptic": "plenoptic", "matlab": "matlab", "both": "disbatch"}


def add_side_arguments(parser) -> None:
    """``--side`` and the MATLAB code options (used by the MATLAB side only)."""
    parser.add_argument("--side", choices=list(PREFIX), default="plenoptic",
                        help="which runs: plenoptic, MATLAB textureSynth, or both")
    matlab.add_matlab_arguments(parser)


def parse_args(argv):
    """Parse the command line as the shared writer will."""
    parser = cli.ArgumentParser(description=__doc__)
    tasks.add_writer_arguments(parser, grids.GRID_NAMES)
    add_side_arguments(parser)
    return parser.parse_args(argv)


def side_grids(sides, code_args):
    """Grid name to ``grid(root, device)`` of the chosen sides (checked)."""
    def for_name(name):
        def grid(root, device):
            found = []
            for side in sides:
                for task in grids.side_grid(name, side)(root=root, device=device):
                    if side == "matlab":
                        task = tasks.Task(task.name, (*task.argv, *code_args))
                    found.append(task)
            return found

        return grids.checked(grid)

    return {name: for_name(name) for name in grids.GRID_NAMES}


def main() -> None:
    """Check the options, then write the task file."""
    argv = sys.argv[1:]
    args = parse_args(argv)
    sides = grids.SIDES if args.side == "both" else (args.side,)
    code_args = ps_matlab.code_arguments(args) if "matlab" in sides else ()
    tasks.write_disbatch(grids.EXPERIMENT, side_grids(sides, code_args),
                         description=__doc__, argv=argv,
                         taskfile_prefix=PREFIX[args.side],
                         extra_arguments=add_side_arguments)


if __name__ == "__main__":
    cli.run(main)
