"""Time ps_lbfgs/summarize.py over many finished runs (default 10,000).

Writes realistic stand-in run directories (``_support.fake_runs``: the files a
real task leaves, random numbers) into a temporary directory, then runs
``summarize.py`` on them as a user would and prints its wall time and peak
memory against the targets (under 10 s, under 1 GB). ``--repeat`` runs it
several times over the same runs (the first run reads cold files).
"""

import shutil
import sys
import tempfile
import time
from pathlib import Path

from plenexp import cli

TARGET_S, TARGET_MB = 10.0, 1024.0


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=cli.positive_int, default=10_000,
                        help="how many run directories (default: 10000)")
    parser.add_argument("--repeat", type=cli.positive_int, default=2,
                        help="summaries over the same runs (default: 2)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the runs (default: a temporary "
                        "directory, removed at the end)")
    return parser.parse_args()


def main():
    args = parse_args()
    if args.workdir is not None and args.workdir.exists() \
            and any(args.workdir.iterdir()):
        raise cli.UsageError(f"--workdir {args.workdir} is not empty")
    from _support import bench, fake_runs

    from plenexp import paths

    print(bench.machine_line())
    work = args.workdir or Path(tempfile.mkdtemp(prefix="plenexp-bench-summary-"))
    try:
        grid = work / "ps_lbfgs" / "scale"
        start = time.perf_counter()
        fake_runs.write_ps_lbfgs_runs(grid, args.runs)
        print(f"wrote {args.runs} run directories in "
              f"{time.perf_counter() - start:.1f} s under {grid}")
        command = [bench.python(), paths.script("ps_lbfgs", "summarize.py"),
                   "--input_dir", grid, "--output-dir", work / "summary"]
        env = bench.one_thread_env(MPLCONFIGDIR=str(work / ".mpl"))
        runs = []
        for i in range(args.repeat):
            measured = bench.run_measured(command, env=env)
            runs.append(measured)
            summarized = int(measured.output.split(" run(s) summarized")[0]
                             .split()[-1])
            if summarized != args.runs:
                raise RuntimeError(f"summarized {summarized} of {args.runs} runs")
            print(f"summarize.py #{i + 1}: {measured.wall_s:.2f} s wall, "
                  f"{measured.cpu_s:.2f} s CPU, peak RSS {measured.peak_rss_mb:.0f} MB"
                  f" -- {measured.output.strip().splitlines()[-1]}")
        wall = bench.median([m.wall_s for m in runs])
        rss = max(m.peak_rss_mb for m in runs)
        ok = wall < TARGET_S and rss < TARGET_MB
        print(f"summaries at scale ({args.runs} runs): median {wall:.2f} s = "
              f"{wall / TARGET_S:.2f}x the {TARGET_S:g} s target; peak RSS "
              f"{rss:.0f} MB = {rss / TARGET_MB:.2f}x the 1 GB target: "
              f"{'meets' if ok else 'MISSES'} the targets")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    cli.run(main)
