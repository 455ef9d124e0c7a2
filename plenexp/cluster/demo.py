"""An experiment's quick grid end to end on this machine: ``make demo`` runs it.

Usage: ``python -m plenexp.cluster.demo EXPERIMENT [--grid quick]``. An
experiment whose quick grid needs more than the steps every experiment shares
keeps a ``demo.sh`` of its own, which is run instead. The shared steps: write
the grid's task file (runs already done are left out), run it with disBatch
on every core, analyze the runs (figures), summarize the grid.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from plenexp import cli
from plenexp.errors import RunFailed, UsageError
from plenexp.runs import paths


def steps(experiment: str, grid: str, root) -> list[list[str]]:
    """The commands of the shared demo steps, in order."""
    folder = paths.REPO_ROOT / experiment
    grid_dir = paths.grid_dir(root, experiment, grid)
    taskfile = grid_dir / "disbatch-cpu.txt"
    python = sys.executable
    return [
        [python, str(folder / "write_disbatch.py"), str(taskfile), "--grid", grid,
         "--output-root", str(root), "--skip-done"],
        [python, "-m", "plenexp.cluster.disbatch_local", str(taskfile)],
        [python, str(folder / "analyze.py"), str(grid_dir)],
        [python, str(folder / "summarize.py"), "--grid", grid,
         "--output-root", str(root)],
    ]


def main() -> None:
    """Run one experiment's demo; stop at the first step that fails."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("experiment", help="the experiment's folder name")
    parser.add_argument("--grid", default="quick", help="grid to run")
    cli.add_output_root_argument(parser)
    args = parser.parse_args()
    known = paths.experiments()
    if args.experiment not in known:
        raise UsageError(f"unknown experiment {args.experiment!r}: expected one "
                         f"of {', '.join(known)}")
    root = paths.output_root(args.output_root)
    own = paths.REPO_ROOT / args.experiment / "demo.sh"
    env = dict(os.environ, PYTHON=sys.executable,
               **{paths.OUTPUT_ROOT_ENV: str(root)})
    commands = [["bash", str(own)]] if own.is_file() else steps(
        args.experiment, args.grid, root)
    start = time.monotonic()
    for command in commands:
        began = time.monotonic()
        if subprocess.run(command, env=env).returncode != 0:
            raise RunFailed(f"{args.experiment}: {command[1]} failed (see above)")
        # where the demo's minutes go, step by step
        print(f"--- {args.experiment}: {step_name(command)} took "
              f"{time.monotonic() - began:.0f} s", flush=True)
    if not own.is_file():  # an experiment's own demo.sh names its summary
        print(f"{args.experiment}: summary in "
              f"{paths.grid_dir(root, args.experiment, args.grid) / 'summary'}")
    print(f"--- {args.experiment}: quick grid end to end in "
          f"{time.monotonic() - start:.0f} s", flush=True)


def step_name(command: list[str]) -> str:
    """A step as a person names it: its script or module."""
    if command[1] == "-m":
        return command[2]
    return "/".join(Path(command[1]).parts[-2:])


if __name__ == "__main__":
    cli.run(main)
