"""Parallel scaling: the same N ps_lbfgs tasks through disBatch on 1 and on 2 slots.

Task files come from the real writer (``tasks.write_disbatch``: one thread per
task, as every task line sets), N runs that differ only in their seed
(128x128 ``reptile_skin``, ``--iters`` LBFGS steps, early stop off, so every
task does the same work). They run with ``disbatch -s localhost:1`` and then
``localhost:2`` into two fresh output roots; the printed ratio is throughput
on 2 slots over throughput on 1 (target >= 1.8 on 2 cores). The CPU seconds
the tasks used over the wall time show how many cores they really got: on a
machine shared with other work, fewer than the slots.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from plenexp import cli

TARGET = 1.8


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=cli.positive_int, default=8,
                        help="tasks per run (default: 8; even is fairest)")
    parser.add_argument("--iters", type=cli.positive_int, default=10,
                        help="LBFGS steps per task (default: 10)")
    parser.add_argument("--slots", type=cli.positive_int, nargs=2, default=[1, 2],
                        metavar=("FEW", "MANY"),
                        help="disBatch slots to compare (default: 1 2)")
    return parser.parse_args()


def write_taskfile(root: Path, n: int, iters: int) -> Path:
    from plenexp.cluster import tasks

    grid = [tasks.Task(f"scaling_seed-{seed}", (
        "--img", "reptile_skin", "--crop", "128", "--seed", str(seed),
        "--synth_max_iter", str(iters), "--stop_criterion", "None", "--no_plots"))
        for seed in range(n)]
    taskfile = root / "tasks.txt"
    tasks.write_disbatch("ps_lbfgs", {"scaling": lambda root, device: grid},
                         argv=[str(taskfile), "--grid", "scaling",
                               "--output-root", str(root)])
    return taskfile


def main():
    args = parse_args()
    from _support import bench

    from plenexp.runs import rundir

    print(bench.machine_line())
    print(f"{args.tasks} tasks of {args.iters} LBFGS steps at 128x128, one "
          f"thread each; disBatch on localhost:{args.slots[0]} vs "
          f"localhost:{args.slots[1]}")
    disbatch = shutil.which("disbatch") or str(Path(sys.executable).parent
                                               / "disbatch")
    work = Path(tempfile.mkdtemp(prefix="plenexp-bench-scaling-"))
    try:
        throughput = {}
        for slots in args.slots:
            root = work / f"slots-{slots}"
            taskfile = write_taskfile(root, args.tasks, args.iters)
            measured = bench.run_measured(
                [disbatch, "-e", "-s", f"localhost:{slots}", "-p",
                 root / "disbatch", taskfile], cwd=root)
            done = len(list(rundir.done_runs(root)))
            if done != args.tasks:
                raise RuntimeError(f"only {done} of {args.tasks} tasks finished "
                                   f"on {slots} slot(s); logs in {root}")
            throughput[slots] = args.tasks / measured.wall_s * 60
            print(f"  localhost:{slots}: {measured.wall_s:6.1f} s for "
                  f"{args.tasks} tasks = {throughput[slots]:.2f} tasks/min; "
                  f"{measured.cpu_s / measured.wall_s:.2f} cores busy on average "
                  f"(load now {bench.load_average()})", flush=True)
        few, many = args.slots
        ratio = throughput[many] / throughput[few]
        print(f"throughput ratio {many} vs {few} slots: {ratio:.2f}x "
              f"(target >= {TARGET}); {'meets' if ratio >= TARGET else 'MISSES'}"
              " the target")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    cli.run(main)
