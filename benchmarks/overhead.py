"""Harness overhead: one ps_lbfgs task against a bare plenoptic script.

Both processes run the same synthesis (LBFGS, 20 iterations, 128x128 crop of
``reptile_skin`` by default, one thread, as task lines set it) and are timed
whole, start-up and imports included; they alternate ``--repeat`` times. The
harness process is the task line's ``time_synthesize.sh`` -> ``synthesize.py``
(``--no_plots``, as task lines run it), which also writes provenance, the
table and the PNG; the bare one is ``benchmarks/bare_synthesis.py``. Printed:
median wall times and their ratio (target <= 1.05), and the seconds each
spends outside synthesis, whose difference is the harness's own start-up and
saving cost beyond the imports (target < 1 s). Both must reach the same loss.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from plenexp import cli

TARGET_RATIO, TARGET_EXTRA_S = 1.05, 1.0


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=cli.positive_int, default=3,
                        help="pairs of runs (default: 3)")
    parser.add_argument("--iters", type=cli.positive_int, default=20,
                        help="LBFGS steps (default: 20)")
    parser.add_argument("--crop", type=cli.positive_int, default=128,
                        help="image size (default: 128)")
    cli.add_device_argument(parser)
    return parser.parse_args()


def harness_run(bench, paths, work: Path, i: int, args) -> tuple:
    run = work / f"harness-{i}"
    command = ["bash", paths.script("ps_lbfgs", "time_synthesize.sh"),
               "--img", "reptile_skin", "--crop", str(args.crop),
               "--synth_max_iter", str(args.iters), "--stop_criterion", "None",
               "--no_plots", "--device", args.device, "-o", run]
    measured = bench.run_measured(command, env=bench.one_thread_env(
        PYTHON=bench.python(), MPLCONFIGDIR=str(work / ".mpl")))
    from plenexp.runs import results

    row = results.read_rows(run / "loss.csv")[0]
    return measured, float(row["synth_duration"]), float(row["loss"])


def bare_run(bench, work: Path, i: int, args) -> tuple:
    script = Path(__file__).with_name("bare_synthesis.py")
    command = [bench.python(), script, "--crop", str(args.crop), "--n_iter",
               str(args.iters), "--device", args.device,
               "--output", work / f"bare-{i}.pt"]
    measured = bench.run_measured(command, env=bench.one_thread_env())
    words = measured.output.split()
    synth = float(words[words.index("synth_duration") + 1])
    loss = float(words[words.index("loss") + 1])
    return measured, synth, loss


def main():
    args = parse_args()
    from _support import bench

    from plenexp.runs import paths

    print(bench.machine_line())
    print(f"device {args.device}; LBFGS {args.iters} steps at "
          f"{args.crop}x{args.crop}; {args.repeat} pairs, alternating")
    work = Path(tempfile.mkdtemp(prefix="plenexp-bench-overhead-"))
    try:
        imports = bench.run_measured(
            [bench.python(), "-c", "import torch, plenoptic"],
            env=bench.one_thread_env())
        helps = bench.run_measured(
            [bench.python(), paths.script("ps_lbfgs", "synthesize.py"), "--help"],
            env=bench.one_thread_env())
        harness, bare = [], []
        for i in range(args.repeat):
            pair = [("harness", harness_run), ("bare", bare_run)]
            for name, run in pair if i % 2 == 0 else pair[::-1]:
                if name == "harness":
                    result = run(bench, paths, work, i, args)
                    harness.append(result)
                else:
                    result = run(bench, work, i, args)
                    bare.append(result)
                m, synth, loss = result
                print(f"  {name:8s} #{i + 1}: {m.wall_s:6.2f} s whole process, "
                      f"{synth:6.2f} s synthesis, loss {loss:.6g}, "
                      f"peak RSS {m.peak_rss_mb:.0f} MB", flush=True)
        h_wall = bench.median([m.wall_s for m, _, _ in harness])
        b_wall = bench.median([m.wall_s for m, _, _ in bare])
        h_out = bench.median([m.wall_s - s for m, s, _ in harness])
        b_out = bench.median([m.wall_s - s for m, s, _ in bare])
        same = {round(loss, 8) for _, _, loss in harness + bare}
        print(f"import torch, plenoptic alone: {imports.wall_s:.2f} s; "
              f"synthesize.py --help: {helps.wall_s:.2f} s")
        print(f"whole process, median: harness {h_wall:.2f} s, bare {b_wall:.2f} s"
              f" -> ratio {h_wall / b_wall:.3f} (target <= {TARGET_RATIO})")
        print(f"outside synthesis, median: harness {h_out:.2f} s, bare "
              f"{b_out:.2f} s -> harness's own start-up and saving "
              f"{h_out - b_out:+.2f} s (target < {TARGET_EXTRA_S:g} s)")
        if len(same) != 1:
            print(f"WARNING: the runs reached different losses: {sorted(same)}")
        ok = h_wall / b_wall <= TARGET_RATIO and h_out - b_out < TARGET_EXTRA_S
        print("meets the targets" if ok else "MISSES a target")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(0)


if __name__ == "__main__":
    cli.run(main)
