"""Time ps_lbfgs/summarize.py over many finished runs (10,000) against its floor.

Writes realistic stand-in run directories (``_support.fake_runs``: the files a
real task leaves, random numbers) into a temporary directory, then measures,
side by side in this one run:

- the floor: one process that imports pandas, seaborn and matplotlib and reads
  every run's ``loss.csv`` with the ``csv`` module (nothing a summary can skip);
- ``summarize.py`` on the same runs, as a user runs it (seeds aggregated,
  summary figures, tables and text written).

It prints both and their ratio (target: summarize.py within 2x the floor) and
the peak memory (target under 1 GB). ``--repeat`` measures each several times
(the first reads cold files) and keeps the medians.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from plenexp import cli

TARGET_RATIO, TARGET_MB = 2.0, 1024.0

#: The floor: imports a summary cannot avoid, and reading every table.
FLOOR = """
import csv, sys, time
from pathlib import Path
start = time.perf_counter()
import pandas, seaborn, matplotlib
imported = time.perf_counter()
rows = 0
for path in Path(sys.argv[1]).glob("*/loss.csv"):
    with open(path, newline="") as f:
        rows += sum(1 for _ in csv.DictReader(f))
done = time.perf_counter()
print(f"floor: imports {imported - start:.2f} s, reading {rows} loss.csv rows "
      f"{done - imported:.2f} s")
"""


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=cli.positive_int, default=10_000,
                        help="how many run directories")
    parser.add_argument("--repeat", type=cli.positive_int, default=2,
                        help="measurements of each side over the same runs")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the runs (default: a temporary "
                        "directory, removed at the end)")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.workdir is not None and args.workdir.exists() \
            and any(args.workdir.iterdir()):
        raise cli.UsageError(f"--workdir {args.workdir} is not empty")
    import time

    from _support import bench, fake_runs

    from plenexp.runs import paths

    print(bench.machine_line())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="plenexp-bench-summary-"))
    try:
        grid = work / "ps_lbfgs" / "scale"
        start = time.perf_counter()
        fake_runs.write_ps_lbfgs_runs(grid, args.runs)
        print(f"wrote {args.runs} run directories in "
              f"{time.perf_counter() - start:.1f} s under {grid}")
        env = bench.one_thread_env(MPLCONFIGDIR=str(work / ".mpl"))
        floor_cmd = [bench.python(), "-c", FLOOR, grid]
        summary_cmd = [bench.python(), paths.script("ps_lbfgs", "summarize.py"),
                       "--input_dir", grid, "--output-dir", work / "summary"]
        bench.run_measured(floor_cmd, env=env)  # warm the matplotlib cache
        floors, summaries = [], []
        for i in range(args.repeat):
            floor = bench.run_measured(floor_cmd, env=env)
            floors.append(floor)
            if f"reading {args.runs} loss.csv rows" not in floor.output:
                raise RuntimeError(f"the floor read other than {args.runs} rows:\n"
                                   f"{floor.output}")
            measured = bench.run_measured(summary_cmd, env=env)
            summaries.append(measured)
            summarized = int(measured.output.split(" run(s) summarized")[0]
                             .split()[-1])
            if summarized != args.runs:
                raise RuntimeError(f"summarized {summarized} of {args.runs} runs")
            print(f"#{i + 1}: {floor.output.strip()}, {floor.wall_s:.2f} s whole "
                  f"process; summarize.py {measured.wall_s:.2f} s wall, "
                  f"{measured.cpu_s:.2f} s CPU, peak RSS "
                  f"{measured.peak_rss_mb:.0f} MB", flush=True)
        floor_s = bench.median([m.wall_s for m in floors])
        floor_cpu = bench.median([m.cpu_s for m in floors])
        wall = bench.median([m.wall_s for m in summaries])
        cpu = bench.median([m.cpu_s for m in summaries])
        rss = max(m.peak_rss_mb for m in summaries)
        ratio = wall / floor_s
        ok = ratio <= TARGET_RATIO and rss < TARGET_MB
        print(f"summaries at scale ({args.runs} runs): summarize.py {wall:.2f} s, "
              f"floor (import pandas+seaborn+matplotlib, read every loss.csv with "
              f"csv) {floor_s:.2f} s: ratio {ratio:.2f} (target <= "
              f"{TARGET_RATIO:g}); peak RSS {rss:.0f} MB (target < 1 GB): "
              f"{'meets' if ok else 'MISSES'} the targets")
        print(f"in CPU seconds (less sensitive to other jobs on the machine): "
              f"summarize.py {cpu:.2f} s, floor {floor_cpu:.2f} s, ratio "
              f"{cpu / floor_cpu:.2f}")
        print("summary files: " + ", ".join(
            sorted(p.name for p in (work / "summary").iterdir())))
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    cli.run(main)
