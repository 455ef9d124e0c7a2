"""How well does longest-first task order pack a disBatch job? Measured durations.

For every ``all_loss.csv`` below DIR (default: ``../shared/reference/
ps_lbfgs_original``, the earlier ps_lbfgs sweeps run on a cluster), each row's
task is rebuilt from its arguments and given ps_lbfgs's cost estimate
(``ps_lbfgs/write_disbatch.py``'s ``run_seconds``, from the pieces in
``plenexp.cluster.cost``). Prints the estimate's Spearman rank correlation with the
measured durations, and the simulated disBatch makespan (each task, in file
order, starts on the first free slot) at 50 and 200 slots for: the table's
own order ("file"), the estimate's order, the estimate's order had each run's
number of steps been known in advance ("steps known": the estimate scaled by
the measured ``synth_iter``; runs stop early, which no argument tells), the
order by each configuration's mean measured duration ("config mean": every run
given the mean of the runs whose arguments differ from its own only in image
and seed; no estimate made from those arguments can rank better than an exact
one, so this column is what such an estimate can at best achieve), and
longest first by the measured durations (what a perfect estimate would give),
all as ratios to the lower bound max(total / slots, longest task). Target: the
estimate's order within 1.05x of the lower bound.

Durations may be seconds or ``[H:]MM:SS``; ``LBFGS_max_eval`` may be a count,
a fraction of ``LBFGS_max_iter`` (a non-integer, or written ``0.5x``) or empty
(None: LBFGS's default).
"""

import math
from pathlib import Path

from _support import bench

from plenexp import cli
from plenexp.runs import paths

SLOTS = (50, 200)
TARGET = 1.05
DEFAULT_DIR = paths.REPO_ROOT.parent / "shared" / "reference" / "ps_lbfgs_original"


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR,
                        help="directory searched for all_loss.csv tables "
                        "(default: ../shared/reference/ps_lbfgs_original)")
    parser.add_argument("--slots", type=cli.positive_int, nargs="+",
                        default=list(SLOTS), help="slot counts (default: 50 200)")
    parser.add_argument("--synth-max-iter", "--synth_max_iter",
                        dest="synth_max_iter", type=cli.positive_int, default=2000,
                        help="steps per run when the table does not say "
                        "(default: 2000, the earlier sweeps' value)")
    return parser.parse_args()


def max_eval_arg(value, max_iter: int) -> str:
    """``--max_eval`` of a row: a count, ``None``, or a fraction made a count."""
    text = str(value).strip().lower()
    if text in ("", "nan", "none"):
        return "None"
    fraction = text.endswith("x")
    number = float(text.rstrip("x"))
    if fraction or not number.is_integer():
        return str(max(1, int(max_iter * number)))
    return str(int(number))


def row_values(row: dict, synth_max_iter: int) -> dict:
    """The cost-setting arguments of one table row (``write_disbatch.run_seconds``).

    Rows of the earlier tables use their names (``filename``, ``search_func``,
    ``LBFGS_max_iter`` ...), mapped by ``ps_lbfgs.columns``.
    """
    from ps_lbfgs import columns

    names = columns.rename_2024(row)
    row = {names.get(k, k): v for k, v in row.items()}
    max_iter = int(float(row["max_iter"]))
    max_eval = max_eval_arg(row.get("max_eval", ""), max_iter)
    search = str(row.get("line_search_fn", "")).strip()
    crop = str(row.get("crop", "")).strip()
    return {"img": str(row["img"]),
            "crop": int(float(crop)) if crop not in ("", "nan", "None") else None,
            "synth_max_iter": int(float(row.get("synth_max_iter") or synth_max_iter)),
            "max_iter": max_iter,
            "max_eval": None if max_eval == "None" else int(max_eval),
            "line_search_fn": search if search and search not in ("nan", "None")
            else None}


def read_table(path: Path, synth_max_iter: int):
    """Measured seconds, estimates, steps-known estimates, configuration means.

    All in file order. The third list is empty when the table has no
    ``synth_iter``; the fourth gives each run the mean measured seconds of the
    runs with its arguments but for image and seed.
    """
    import pandas as pd

    from plenexp.summary.facets import parse_duration
    from ps_lbfgs import columns
    from ps_lbfgs.write_disbatch import run_seconds

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.rename(columns=columns.rename_2024(frame.columns))
    missing = {"img", "max_iter", "history_size", "lr",
               "synth_duration"} - set(frame.columns)
    if missing:
        raise cli.UsageError(f"{path}: not a ps_lbfgs table (no "
                             f"{', '.join(sorted(missing))})")
    measured, estimated, steps_known, configs = [], [], [], []
    for row in frame.to_dict("records"):
        seconds = parse_duration(row["synth_duration"])
        if math.isnan(seconds):
            continue
        values = row_values(row, synth_max_iter)
        measured.append(seconds)
        # a configuration: the arguments but for image and seed
        configs.append((*(v for k, v in values.items() if k != "img"),
                        str(row["history_size"]), str(row["lr"])))
        estimated.append(run_seconds(**values))
        steps = str(row.get("synth_iter", "")).strip()
        if steps and steps != "nan":
            steps_known.append(run_seconds(
                **{**values, "synth_max_iter": int(float(steps))}))
    if len(steps_known) != len(measured):
        steps_known = []
    by_config: dict[tuple, list[float]] = {}
    for config, seconds in zip(configs, measured, strict=True):
        by_config.setdefault(config, []).append(seconds)
    config_mean = [sum(by_config[c]) / len(by_config[c]) for c in configs]
    return measured, estimated, steps_known, config_mean


def main():
    args = parse_args()
    if not args.dir.is_dir():
        print(f"makespan.py: no reference tables: {args.dir} does not exist; "
              "nothing to measure")
        return
    tables = sorted(args.dir.rglob("all_loss.csv"))
    if not tables:
        print(f"makespan.py: no all_loss.csv below {args.dir}; nothing to measure")
        return
    from scipy.stats import spearmanr

    from plenexp.cluster import cost

    met = config_met = True
    for table in tables:
        measured, estimated, steps_known, config_mean = read_table(
            table, args.synth_max_iter)
        if not measured:
            print(f"{table}: no durations")
            continue
        rho = spearmanr(estimated, measured).statistic
        by_estimate = [measured[i] for i in cost.longest_first(estimated)]
        by_steps = [measured[i] for i in cost.longest_first(steps_known)]
        by_config = [measured[i] for i in cost.longest_first(config_mean)]
        by_measured = sorted(measured, reverse=True)
        print(f"{table.relative_to(args.dir)}: {len(measured)} runs, "
              f"{sum(measured) / 3600:.1f} h in all, longest {max(measured):.0f} s; "
              f"rank correlation of estimate and duration: {rho:.2f}")
        print(f"  {'slots':>5}  {'lower bound':>11}  {'file order':>10}  "
              f"{'estimate':>8}  {'steps known':>11}  {'config mean':>11}  "
              f"{'measured':>8}  "
              "(makespan / lower bound)")
        for slots in args.slots:
            bound = bench.lower_bound(measured, slots)
            file, estimate, steps, config, best = (
                cost.makespan(order, slots) / bound if order else math.nan
                for order in (measured, by_estimate, by_steps, by_config,
                              by_measured))
            ok = estimate <= TARGET
            met &= ok
            config_met &= config <= TARGET
            steps = "-" if math.isnan(steps) else f"{steps:.3f}x"
            print(f"  {slots:>5}  {bound:>9.0f} s  {file:>9.3f}x  {estimate:>7.3f}x  "
                  f"{steps:>11}  {config:>10.3f}x  {best:>7.3f}x  "
                  f"{'within' if ok else 'NOT within'} {TARGET}x")
    print(f"estimate's order within {TARGET}x of the lower bound everywhere: "
          f"{'yes' if met else 'no'}")
    print(f"any estimate from these arguments (config mean) within {TARGET}x "
          f"everywhere: {'yes' if config_met else 'no'}")


if __name__ == "__main__":
    cli.run(main)
