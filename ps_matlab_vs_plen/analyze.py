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

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from plenexp import cli, errors
from plenexp.errors import UsageError
from plenexp.runs import rundir


def results_below(paths_: Iterable[Path]) -> list[Path]:
    """Run directories (and bare MAT files) named or held by ``paths_``."""
    found = []
    for path in map(Path, paths_):
        if path.is_file() or rundir.is_done(path):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(rundir.done_runs(path)))
        else:
            raise UsageError(f"no such result or directory: {path}")
    return found


def analyze(found: list[Path], force: bool = False, csv_dir: Path | None = None,
            threads: int | None = 1, failed: list | None = None,
            **bare_kwargs) -> int:
    """Write the loss table of each result; reuse models and targets per image.

    Parameters
    ----------
    found
        Run directories and bare MAT files.
    force
        Recompute tables that exist.
    csv_dir
        Where tables of bare files go (default: beside each file).
    threads
        Torch threads while analysing (``None``: leave as is). One is best:
        each result is a few small forward passes.
    failed
        Receives the results that could not be read (each reported on
        standard error and skipped).
    **bare_kwargs
        ``img``, ``crop``, ``init_img``, ``synth_iters``, ``engine`` for bare
        MAT files.

    Returns
    -------
    n_written
        How many tables were written.
    """
    import torch

    from plenexp.runs import results as shared_results
    from ps_matlab_vs_plen import run

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    failed = [] if failed is None else failed
    cache: dict[tuple, tuple] = {}
    n_written = 0
    try:
        for path in found:
            table = run.table_path(path)
            if path.is_file() and csv_dir is not None:
                table = Path(csv_dir) / table.name
            if not force and run.is_loss_table(table):
                continue
            try:
                result = run.load_result(path, **bare_kwargs)
            except shared_results.DATA_ERRORS as err:
                # one broken result must not stop the analysis of hundreds
                _skip(path, err, failed)
                continue
            key = (result.img_spec, result.crop)
            try:
                if key not in cache:  # a target that cannot be read: this result
                    target = run.result_target(result)
                    cache[key] = (run.scoring_model(result.img_spec, target), target)
                rows = run.result_rows(result, *cache[key])
            except shared_results.READ_ERRORS as err:  # wrong size, NaN...
                if isinstance(err, UsageError) and "with --img FILE" in str(err):
                    raise  # a bare MAT file's target is the user's to give
                _skip(path, err, failed)  # this result is unreadable; go on
                continue
            table.parent.mkdir(parents=True, exist_ok=True)
            shared_results.write_row(rows, table)
            n_written += 1
            final = result.states[-1]
            print(f"{table}: L2 {run.overall_loss(rows, final['source']):.4g} "
                  f"({final['optimizer']}, {final['synth_iters']} iterations, "
                  f"{len(result.states)} metamer(s))", flush=True)
    finally:
        torch.set_num_threads(previous)
    return n_written


def _skip(path: Path, err: BaseException, failed: list) -> None:
    print(f"skipped {path}: {errors.describe(err)}", file=sys.stderr,
          flush=True)
    failed.append(path)


def analyze_run(run_dir: Path, figures: bool = True, force: bool = False) -> bool:
    """Write a run's ``loss.csv`` and its figure where missing (all with ``force``).

    Returns
    -------
    changed
        Whether anything was written.
    """
    changed = analyze([Path(run_dir)], force=force) > 0
    if figures:
        from ps_matlab_vs_plen import plot

        changed = plot.draw_run(run_dir, force=force) or changed
    return changed


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
    bare.add_argument("--img", "-i", type=cli.one_line_text, default=None,
                      help="the target: built-in name, PS paper figure or file "
                      "(default: from the file name)")
    bare.add_argument("--crop", type=cli.positive_int, default=None,
                      help="central crop of the target")
    bare.add_argument("--init_img", type=cli.one_line_text, default=None,
                      help="initial image label (default: from the file name)")
    bare.add_argument("--synth_iters", type=cli.positive_int, default=None,
                      help="iterations (default: from the file name)")
    bare.add_argument("--engine", type=cli.one_line_text, default=None,
                      help="the engine that made the files, e.g. 'Octave 7.3.0' "
                      "(default: engine unknown)")
    return parser.parse_args()


def main() -> None:
    """Write each result's loss table, then each run's figure."""
    args = parse_args()
    found = results_below(args.results)
    if not found:
        raise cli.UsageError("no finished results under "
                             + ", ".join(map(str, args.results)))
    from ps_matlab_vs_plen import plot, run

    failed: list = []
    n_written = analyze(found, force=args.force, csv_dir=args.csv_dir,
                        threads=args.threads, failed=failed, img=args.img,
                        crop=args.crop, init_img=args.init_img,
                        synth_iters=args.synth_iters, engine=args.engine)
    n_figures = 0
    if not args.no_plots:
        from plenexp.runs import results as shared_results

        for path in found:
            if path.is_dir() and path not in failed and \
                    run.is_loss_table(run.table_path(path)):
                with shared_results.skipping(path, "figure"):
                    n_figures += plot.draw_run(path, force=args.force)
    print(f"{n_written} of {len(found)} result(s) analysed "
          f"({len(found) - n_written - len(failed)} already had their table, "
          f"{len(failed)} unreadable), {n_figures} figure(s) drawn")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    cli.run(main)
