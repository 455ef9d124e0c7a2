"""Write a disBatch task file analysing every finished result that lacks its table.

One task per run directory below DIR without ``loss.csv`` (all of them with
--force); each runs analyze.py on that run, with its log beside the run as
``<run>.analyze.log``. For large grids on a cluster; on one machine,
``analyze.py DIR`` does the same in one process. Default task file:
DIR/analyze-disbatch.txt.
"""

import shlex
from pathlib import Path

from plenexp import cli
from plenexp.cluster import sbatch, tasks


def parse_args():
    """Parse the command line."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dir", type=Path, help="directory holding finished runs")
    parser.add_argument("taskfile", nargs="?", type=Path, default=None,
                        help="task file to write (default: DIR/analyze-disbatch.txt)")
    parser.add_argument("--force", action="store_true",
                        help="analyse runs that have their table too")
    parser.add_argument("--threads", type=cli.threads, default=1,
                        help="threads per task")
    cli.add_output_root_argument(parser)
    sbatch.add_arguments(parser)
    return parser.parse_args()


def main() -> None:
    """Write one analysis task per result still lacking its table."""
    args = parse_args()
    sbatch.check_arguments(args)
    if not args.dir.is_dir():
        raise cli.UsageError(f"no such directory: {args.dir}")
    import sys

    from plenexp.runs import paths, rundir
    from ps_matlab_vs_plen.run import table_path
    from ps_matlab_vs_plen.write_disbatch import EXPERIMENT

    runs = list(rundir.done_runs(args.dir))
    todo = [run for run in runs if args.force or not table_path(run).exists()]
    env = tasks.task_env(paths.output_root(args.output_root).resolve(),
                         args.threads)
    script = paths.script(EXPERIMENT, "analyze.py")
    force = ["--force"] if args.force else []
    lines = [tasks.shell_line([sys.executable, script, run.resolve(), *force], env,
                              run.resolve().with_name(run.name + ".analyze.log"))
             for run in todo]
    taskfile = args.taskfile or args.dir / "analyze-disbatch.txt"
    n = tasks.write_taskfile(lines, taskfile)
    n_analysed = sum(table_path(run).exists() for run in runs)
    print(f"wrote {n} task(s) to {taskfile} ({n_analysed} of {len(runs)} "
          "finished run(s) have their table)")
    if args.sbatch and n:
        from plenexp.cluster import cost

        script = sbatch.script_for(args, taskfile, [cost.ANALYZE_SECONDS] * n, "cpu",
                                   f"{EXPERIMENT}-analyze", args.dir).write()
        print(f"submit with: sbatch {shlex.quote(str(script))}")


if __name__ == "__main__":
    cli.run(main)
