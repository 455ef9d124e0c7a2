"""Score finished results into their loss tables (and draw each run's figure).

A result is a finished run directory (MATLAB ``metamer.mat`` from
ps_matlab/synthesize.py, or plenoptic ``metamer.pt`` from synthesize.py), a
directory holding such runs, or a bare MATLAB MAT file named
``<img>_seed-<N>_iter-<Niter>.mat``. Every kept metamer (a plenoptic run's
checkpoints too) is scored against the target with plenoptic's PS model in
float64, for every loss function (l2_norm, mse, sse, max_abs: the largest
absolute difference of one statistic) x (overall + every statistic group),
redundant statistics left out: the same scoring synthesize.py wrote when the
run ended, so ``--force`` reproduces it. Columns: img, seed, init_img,
optimizer (Adam | LBFGS-<history> | textureSynth), engine (plenoptic
<version> | Octave <version> | MATLAB <version>), device, host, synth_iters,
steps, evaluations, res_highpass_weight, init_duration, synth_duration,
process_duration, loss_func, loss_type, loss, then provenance and the metamer
each row scores. The table goes to ``loss.csv`` in a run directory, or to
``<stem>.csv`` beside a bare file (or in --csv_dir). Each run directory also
gets its figure (``metamers.png``: initial image, kept metamers, target)
unless --no_plots. Results that have their table and figure are left alone
unless --force.
"""

import sys
from pathlib import Path

from plenexp import cli

EXPERIMENT = "ps_matlab_vs_plen"


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="+", type=Path,
                        help="run directories, directories holding runs, or MAT "
                        "files")
    parser.add_argument("--force", action="store_true",
                        help="recompute tables and figures that exist")
    parser.add_argument("--no_plots", action="store_true",
                        help="write the tables only, no figures")
    parser.add_argument("--threads", type=cli.threads, default=1,
                        help="torch threads (1 is fastest for these small "
                        "computations, above all on a busy machine)")
    parser.add_argument("--csv_dir", type=Path, default=None,
                        help="where tables of bare MAT files go (default: beside "
                        "each file)")
    bare = parser.add_argument_group("bare MAT files only (run directories record "
                                     "these)")
    bare.add_argument("--img", "-i", default=None,
                      help="the target: built-in name, PS paper figure or file "
                      "(default: from the file name)")
    bare.add_argument("--crop", type=cli.positive_int, default=None,
                      help="central crop of the target")
    bare.add_argument("--init_img", default=None,
                      help="initial image label (default: from the file name)")
    bare.add_argument("--synth_iters", type=cli.positive_int, default=None,
                      help="iterations (default: from the file name)")
    bare.add_argument("--engine", default=None,
                      help="the engine that made the files, e.g. 'Octave 7.3.0' "
                      "(default: engine unknown)")
    return parser.parse_args()


def main() -> None:
    """Write each result's loss table, then each run's figure."""
    args = parse_args()
    from plenexp.experiments.ps_matlab_vs_plen import results

    found = results.results_below(args.results)
    if not found:
        raise cli.UsageError("no finished results under "
                             + ", ".join(map(str, args.results)))
    failed: list = []
    n_written = results.analyze(found, force=args.force, csv_dir=args.csv_dir,
                                threads=args.threads, failed=failed, img=args.img,
                                crop=args.crop, init_img=args.init_img,
                                synth_iters=args.synth_iters, engine=args.engine)
    n_figures = 0
    if not args.no_plots:
        for path in found:
            if path.is_dir() and path not in failed and \
                    results.is_loss_table(results.table_path(path)):
                n_figures += results.draw_run(path, force=args.force)
    print(f"{n_written} of {len(found)} result(s) analysed "
          f"({len(found) - n_written - len(failed)} already had their table, "
          f"{len(failed)} unreadable), {n_figures} figure(s) drawn")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
