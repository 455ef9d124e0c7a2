"""Peak memory of a 256x256 LBFGS run at history 100, against plenoptic's ~600 MB.

Runs ps_lbfgs's ``synthesize.py`` on the 256x256 ``reptile_skin`` (float64,
one thread, max_iter 10 per step, ``--steps`` steps: 12 steps fill the
100-entry history) and reports the process's peak resident memory, measured
from outside (``wait4``), beside the same run at history 1 and a process that
only imports torch and plenoptic, and its ratio to the ~600 MB the issue
quotes from plenoptic's documentation. LBFGS keeps ``2 x history`` image-sized
vectors: 2 x 100 x 256 x 256 x 8 bytes = 100 MiB.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from plenexp import cli

DOCUMENTED_MB = 600.0


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=cli.positive_int, default=12,
                        help="LBFGS steps of max_iter 10 (default: 12)")
    parser.add_argument("--history_size", type=cli.positive_int, default=100)
    cli.add_device_argument(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    from _support import bench

    from plenexp.runs import paths, results

    print(bench.machine_line())
    work = Path(tempfile.mkdtemp(prefix="plenexp-bench-memory-"))
    env = bench.one_thread_env(MPLCONFIGDIR=str(work / ".mpl"))
    try:
        imports = bench.run_measured(
            [bench.python(), "-c", "import torch, plenoptic"], env=env)
        print(f"  import torch, plenoptic: peak RSS {imports.peak_rss_mb:.0f} MB")
        peaks = {}
        for history in (args.history_size, 1):
            run = work / f"history-{history}"
            measured = bench.run_measured(
                [bench.python(), paths.script("ps_lbfgs", "synthesize.py"),
                 "--img", "reptile_skin", "--history_size", str(history),
                 "--max_iter", "10", "--max_eval", "10",
                 "--synth_max_iter", str(args.steps), "--stop_criterion", "None",
                 "--no_plots", "--device", args.device, "-o", run], env=env)
            row = results.read_rows(run / "loss.csv")[0]
            peaks[history] = measured.peak_rss_mb
            gpu = row.get("gpu_max_allocated_mb")
            gpu = "" if gpu in (None, "", "None") else f", GPU peak {gpu} MB"
            print(f"  256x256, history {history:3d}: peak RSS "
                  f"{measured.peak_rss_mb:.0f} MB (the run recorded "
                  f"{row['peak_rss_mb']} MB{gpu}), {measured.wall_s:.1f} s, "
                  f"loss {float(row['loss']):.4g} after {row['synth_iter']} steps",
                  flush=True)
        peak = peaks[args.history_size]
        print(f"history {args.history_size} over history 1: "
              f"{peak - peaks[1]:+.0f} MB (expected "
              f"{2 * (args.history_size - 1) * 256 * 256 * 8 / 2**20:.0f} MB)")
        print(f"peak RSS {peak:.0f} MB = {peak / DOCUMENTED_MB:.2f}x the documented "
              f"~{DOCUMENTED_MB:.0f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    cli.run(main)
