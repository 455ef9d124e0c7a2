"""Compute the loss table of finished results: one CSV per result.

A result is a finished run directory (MATLAB ``metamer.mat`` from
ps_matlab/synthesize.py, or plenoptic ``metamer.pt`` from synthesize.py), a
directory holding such runs, or a bare MATLAB MAT file named
``<img>_seed-<N>_iter-<Niter>.mat``. The loss between the target's and the
metamer's PS statistics is computed with plenoptic's model in float64, for
every loss function (mse, sse, l2_norm) x (overall + every statistic group),
redundant statistics (as plenoptic marks them) left out; a metamer that is not
finite is reported and skipped. Columns: img, init_img, optimizer (Adam |
LBFGS-<history> | matlab), device, synth_iters, res_highpass_weight,
init_time, synth_only_time, total_time, loss_func, loss_type, loss, then
provenance. The table goes to ``loss.csv`` in a run directory, or to
``<stem>.csv`` beside a bare file (or in --csv_dir). Results that already have
their table are left alone unless --force.
"""

import sys
from pathlib import Path

from plenexp import cli


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="+", type=Path,
                        help="run directories, directories holding runs, or MAT "
                        "files")
    parser.add_argument("--force", action="store_true",
                        help="recompute tables that exist")
    parser.add_argument("--threads", type=cli.threads, default=1,
                        help="torch threads (default: 1, fastest for these small "
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
    return parser.parse_args()


def main() -> None:
    """Write each result's loss table."""
    args = parse_args()
    from plenexp.experiments import ps_matlab_vs_plen as vs

    found = vs.results_below(args.results)
    if not found:
        raise cli.UsageError("no finished results under "
                             + ", ".join(map(str, args.results)))
    failed: list = []
    n_written = vs.analyze(found, force=args.force, csv_dir=args.csv_dir,
                           threads=args.threads, img=args.img, crop=args.crop,
                           init_img=args.init_img, synth_iters=args.synth_iters,
                           failed=failed)
    print(f"{n_written} of {len(found)} result(s) analysed "
          f"({len(found) - n_written - len(failed)} already had their table, "
          f"{len(failed)} unreadable)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
