"""Where the time went: ``timing.txt`` beside every summary.

Runs on a cluster land on whatever nodes are free; a grid's timings mix CPU
models unless the job asked for one. From a summary table, this writes how
many runs ran on each host and hardware, how far seconds per step spread for
identical configurations run on different hosts, and a warning when the
compared runs ran on different hardware.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from plenexp.runs.rundir import atomic_path

#: Columns naming one run (the table may hold several rows per run).
RUN_COLUMNS = ("result", "run_dir", "name", "mat_path")
#: The hardware column: the CPU model or GPU name (else read from each run's
#: ``provenance.json``, found through ``RUN_COLUMNS``).
HARDWARE_COLUMNS = ("device_name",)
#: Seconds per step, directly, or as duration / steps (first found of each).
PER_STEP_COLUMNS = ("seconds_per_iteration",)
DURATION_COLUMNS = ("synth_duration", "synth_only_time", "synth_time")
STEP_COLUMNS = ("synth_iter", "synth_iters", "n_iter")
#: Arguments that set how much a step costs in every experiment; each
#: experiment adds its own (``write(..., config_columns=...)``). Seeds and
#: initial images are left out: they do not change the cost of a step.
CONFIG_COLUMNS = ("crop", "device", "torch_num_threads", "omp_num_threads")
#: Spreads (slowest / fastest host) listed individually, largest first.
MAX_LISTED = 10
FILE_NAME = "timing.txt"


def _first(frame, names) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def _recorded_hardware(runs) -> list[str]:
    """Each run's ``device_name`` from its ``provenance.json``, else unknown.

    The file is read as every run file is (:mod:`plenexp.runs.files`: a
    regular file of the run, capped): a table's ``run_dir`` may name anything.
    """
    from plenexp.runs import files

    names = []
    for row in runs.to_dict("records"):
        name = "unknown"
        for column in RUN_COLUMNS:
            value = row.get(column)
            if not isinstance(value, str) or not value:
                continue
            path = Path(value)
            run = path if path.is_dir() else path.parent
            try:
                record = files.read_json(run / "provenance.json")
            except (OSError, ValueError):  # BadFile too: FIFO, device, link out
                continue
            if not isinstance(record, dict):
                continue
            name = str(record.get("device_name") or "unknown")
            break
        names.append(name)
    return names


def per_run(frame):
    """One row per run, with ``hardware`` and ``seconds_per_step`` columns.

    Parameters
    ----------
    frame
        A summary table (``all_loss.csv`` as a DataFrame).

    Returns
    -------
    runs
        The table, one row per run; ``seconds_per_step`` is NaN where the
        table has no duration or step count.
    """
    import pandas as pd

    run_column = _first(frame, RUN_COLUMNS)
    runs = frame.drop_duplicates(run_column) if run_column else frame
    runs = runs.reset_index(drop=True).copy()
    hardware = _first(runs, HARDWARE_COLUMNS)
    runs["hardware"] = (runs[hardware].fillna("unknown").astype(str)
                        if hardware else _recorded_hardware(runs))
    direct = _first(runs, PER_STEP_COLUMNS)
    duration, steps = _first(runs, DURATION_COLUMNS), _first(runs, STEP_COLUMNS)
    if direct:
        runs["seconds_per_step"] = pd.to_numeric(runs[direct], errors="coerce")
    elif duration and steps:
        runs["seconds_per_step"] = (
            pd.to_numeric(runs[duration], errors="coerce")
            / pd.to_numeric(runs[steps], errors="coerce").where(lambda s: s > 0))
    else:
        runs["seconds_per_step"] = math.nan
    return runs


def host_spreads(runs, config_columns: Sequence[str] = ()):
    """Seconds per step of identical configurations run on several hosts.

    Returns
    -------
    spreads
        One row per configuration with runs on two or more hosts: the
        configuration (text), hosts, the fastest and slowest host's median
        seconds per step and their ratio (``spread``), largest spread first.
        A configuration is one value of each of ``config_columns`` (the
        experiment's) and :data:`CONFIG_COLUMNS` found in the table.
    """
    import pandas as pd

    columns = ["configuration", "hosts", "fastest", "slowest", "spread"]
    timed = runs.dropna(subset=["seconds_per_step"])
    if "host" not in timed.columns or timed.empty:
        return pd.DataFrame(columns=columns)
    config = [c for c in dict.fromkeys([*config_columns, *CONFIG_COLUMNS])
              if c in timed.columns]
    timed = timed[timed["host"].notna()]
    timed = timed.assign(_all="all runs", **{c: timed[c].astype(str) for c in config})
    keys = config or ["_all"]
    # one grouping for every configuration and host (a loop over
    # configurations took a quarter of a second on 10,000 runs)
    per_host = timed.groupby([*keys, "host"], sort=False, dropna=False)[
        "seconds_per_step"].median()
    spread = per_host.groupby(level=list(range(len(keys))), sort=False,
                              dropna=False).agg(["size", "min", "max"])
    rows = []
    for key, hosts, fastest, slowest in spread[spread["size"] >= 2].itertuples():
        values = key if isinstance(key, tuple) else (key,)
        text = ", ".join(f"{c}={v}" for c, v in zip(config, values, strict=True)) \
            if config else "all runs"
        rows.append({"configuration": text, "hosts": hosts,
                     "fastest": fastest, "slowest": slowest,
                     "spread": slowest / fastest})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("spread", ascending=False, kind="stable")


#: Seconds per unit of identical work differing more than this between groups
#: of runs: said in ``timing.txt`` and on the figures.
SPEED_THRESHOLD = 1.3


@dataclass
class SpeedDifference:
    """Seconds per unit of identical work differing between levels of a column.

    Attributes
    ----------
    column
        The column whose levels ran at different speeds (a variable that does
        not set the work, or the host / hardware).
    factors
        Level (text) -> its seconds per unit over the typical, median over
        groups of identical work.
    ratio
        Slowest factor over fastest.
    unit
        ``"iteration"`` or ``"evaluation"``.
    groups
        Groups of identical work compared.
    statement
        The sentence for ``timing.txt`` and ``conclusion.txt``.
    """

    column: str
    factors: dict
    ratio: float
    unit: str
    groups: int
    statement: str = ""


def seconds_per_unit(frame, time: str, iterations: str | None = None,
                     evaluations: str | None = None):
    """Seconds per evaluation (where recorded) or per iteration, and the unit."""
    import pandas as pd

    seconds = pd.to_numeric(frame[time], errors="coerce")
    for column, unit in ((evaluations, "evaluation"), (iterations, "iteration")):
        if column and column in frame.columns:
            count = pd.to_numeric(frame[column], errors="coerce")
            if count.notna().any():
                return seconds / count.where(count > 0), unit
    return seconds * math.nan, "run"


def speed_differences(frame, *, time: str, variables: Sequence[str] = (),
                      config_columns: Sequence[str] = (),
                      iterations: str | None = None,
                      evaluations: str | None = None, image: str | None = None,
                      hardware: Sequence[str] = ("host", "device_name"),
                      threshold: float = SPEED_THRESHOLD) -> list[SpeedDifference]:
    """Columns whose levels ran identical work at different speeds.

    Identical work: the same image and the same value of every
    ``config_columns`` column (the experiment's columns that set a step's
    cost). For each other swept variable, and each ``hardware`` column
    present, the seconds per unit (:func:`seconds_per_unit`) of each of its
    levels is compared with the group's median over levels; a level's factor
    is the median of that over groups. Factors more than ``threshold`` apart
    make a :class:`SpeedDifference` (batches of runs on different hardware,
    or, without evaluations, different work per iteration).
    """
    import pandas as pd

    from plenexp.summary.facets import format_levels

    per, unit = seconds_per_unit(frame, time, iterations, evaluations)
    if per.isna().all():
        return []
    work = [c for c in dict.fromkeys([image, *config_columns, *CONFIG_COLUMNS])
            if c and c in frame.columns]
    candidates = [c for c in dict.fromkeys([*variables, *hardware])
                  if c in frame.columns and c not in work]
    # one key per identical work (vectorized: a row-wise join took seconds
    # on 10,000 runs)
    if work:
        cells = frame[work].astype(str)
        keys = cells.iloc[:, 0].str.cat(cells.iloc[:, 1:], sep="\x1f")
    else:
        keys = pd.Series("all", index=frame.index)
    out = []
    for column in candidates:
        levels = format_levels(frame[column])
        if levels.nunique() < 2:
            continue
        table = pd.DataFrame({"work": keys, "level": levels, "per": per}).dropna()
        medians = table.groupby(["work", "level"])["per"].median().reset_index()
        typical = medians.groupby("work")["per"].transform("median")
        medians["relative"] = medians["per"] / typical
        counts = medians.groupby("work")["level"].transform("size")
        compared = medians[counts > 1]
        if compared.empty:
            continue
        factors = compared.groupby("level")["relative"].median()
        ratio = float(factors.max() / factors.min())
        if not ratio > threshold:
            continue
        order = sorted(factors.index, key=lambda v: _level_sort(v))
        shown = ", ".join(f"{v}: {factors[v]:.2f}" for v in order)
        n = int(compared["work"].nunique())
        cause = ("different hardware or load" if column in hardware else
                 "batches of runs on different hardware or load"
                 + ("" if unit == "evaluation" else
                    ", or different work per iteration (no evaluations "
                    "recorded to tell)"))
        statement = (f"seconds per {unit} of identical work differ {ratio:.1f}x "
                     f"between levels of {column} ({shown}, relative to the "
                     f"median; {n} group(s) of identical work): {cause}. Seconds "
                     "compared across these levels are not comparable; compare "
                     f"in evaluations or in time normalized per {unit}.")
        out.append(SpeedDifference(column, {str(k): float(v) for k, v in
                                            factors.items()}, ratio, unit, n,
                                   statement))
    return out


def _level_sort(value: str):
    from plenexp.summary.facets import level_key

    return level_key(value)


def normalized_time(frame, difference: SpeedDifference, time: str):
    """``time`` divided by the factor of each run's level (typical speed).

    A front in these seconds compares configurations as if every batch had
    run at the typical speed of identical work.
    """
    import pandas as pd

    from plenexp.summary.facets import format_levels

    factors = format_levels(frame[difference.column]).map(difference.factors)
    return pd.to_numeric(frame[time], errors="coerce") / factors.fillna(1.0)


def speed_note(differences: Sequence[SpeedDifference]) -> str:
    """One line for a figure: which levels ran at which speed."""
    return "; ".join(f"WARNING: seconds per {d.unit} differ {d.ratio:.1f}x "
                     f"between {d.column} levels (mixed hardware or batches?)"
                     for d in differences)


def report(frame, config_columns: Sequence[str] = (), *,
           variables: Sequence[str] = (), time: str | None = None,
           iterations: str | None = None, evaluations: str | None = None,
           image: str | None = None,
           threshold: float = SPEED_THRESHOLD,
           speed_columns: Sequence[str] | None = None) -> str:
    """The text of ``timing.txt`` for a summary table (see :func:`host_spreads`).

    With ``time`` (and ``iterations`` or ``evaluations``) it also says where
    seconds per unit of identical work differ by more than ``threshold``
    between levels of a variable or between hosts
    (:func:`speed_differences`). ``speed_columns``: the columns that make
    work identical there, if not ``config_columns`` (an experiment may leave
    out one that changes results but not what an iteration computes).
    """
    runs = per_run(frame)
    lines = [f"Where the time went: {len(runs)} run(s)", ""]
    speed = []
    if time and time in frame.columns:
        differences = speed_differences(
            frame, time=time, variables=variables,
            config_columns=(config_columns if speed_columns is None
                            else speed_columns),
            iterations=iterations, evaluations=evaluations, image=image,
            threshold=threshold)
        speed = ["", f"Speed of identical work (threshold {threshold:g}x):"]
        speed += [f"  {d.statement}" for d in differences] or [
            "  no two groups of runs differ by more than the threshold."]
    if "host" not in runs.columns or runs["host"].isna().all():
        lines.append("No host is recorded in this table (a table from before "
                     "hosts were recorded?): no hosts to compare.")
        return "\n".join(lines + speed) + "\n"
    runs["host"] = runs["host"].fillna("unknown").astype(str)
    lines.append("Runs per host and hardware (median seconds per step):")
    table = (runs.groupby(["host", "hardware"], sort=True)["seconds_per_step"]
             .agg(["size", "median"]).reset_index())
    width = max(len("host"), *(len(h) for h in table["host"]))
    hw_width = max(len("hardware"), *(len(h) for h in table["hardware"]))
    lines.append(f"  {'host':<{width}}  {'hardware':<{hw_width}}  {'runs':>5}  "
                 "s/step")
    for row in table.itertuples(index=False):
        median = "-" if math.isnan(row.median) else f"{row.median:.3g}"
        lines.append(f"  {row.host:<{width}}  {row.hardware:<{hw_width}}  "
                     f"{row.size:>5}  {median}")
    lines += ["", "Identical configurations on different hosts, seconds per step "
              "(slowest host / fastest):"]
    spreads = host_spreads(runs, config_columns)
    if spreads.empty:
        lines.append("  none: every configuration ran on one host.")
    else:
        lines.append(f"  {len(spreads)} configuration(s); spread median "
                     f"{spreads['spread'].median():.2f}x, largest "
                     f"{spreads['spread'].max():.2f}x")
        for row in spreads.head(MAX_LISTED).itertuples(index=False):
            lines.append(f"  {row.spread:.2f}x ({row.fastest:.3g}-{row.slowest:.3g}"
                         f" s, {row.hosts} hosts): {row.configuration}")
        if len(spreads) > MAX_LISTED:
            lines.append(f"  ... and {len(spreads) - MAX_LISTED} more")
    kinds = sorted(runs["hardware"].unique())
    if len(kinds) > 1:
        counts = runs["hardware"].value_counts()
        lines += ["", f"WARNING: these runs ran on {len(kinds)} kinds of hardware ("
                  + "; ".join(f"{k}: {counts[k]} run(s)" for k in kinds)
                  + "). Their timings are not comparable with each other: "
                  "compare durations within one kind of hardware, or ask SLURM "
                  "for one (-C <feature>)."]
    return "\n".join(lines + speed) + "\n"


def write(frame, output_dir: str | os.PathLike,
          config_columns: Sequence[str] = (), **speed) -> Path:
    """Write ``timing.txt`` for a summary table into ``output_dir``.

    Parameters
    ----------
    frame
        The summary table (``all_loss.csv`` as a DataFrame).
    output_dir
        The summary directory.
    config_columns
        The experiment's arguments that set how much a step costs.
    speed
        ``variables``, ``time``, ``iterations``, ``evaluations``, ``image``,
        ``threshold``, ``speed_columns`` of :func:`report` (the speed of
        identical work).

    Returns
    -------
    path
        The file written.
    """
    path = Path(output_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(report(frame, config_columns, **speed))
    return path
