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
    """Each run's ``device_name`` from its ``provenance.json``, else unknown."""
    import json

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
                record = json.loads((run / "provenance.json").read_text())
            except (OSError, ValueError):
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
    timed = timed.assign(_all="all runs", **{c: timed[c].astype(str) for c in config})
    rows = []
    for key, group in timed.groupby(config or ["_all"], sort=False, dropna=False):
        by_host = group.groupby("host")["seconds_per_step"].median()
        if len(by_host) < 2:
            continue
        values = key if isinstance(key, tuple) else (key,)
        text = ", ".join(f"{c}={v}" for c, v in zip(config, values, strict=True))
        rows.append({"configuration": text or "all runs", "hosts": len(by_host),
                     "fastest": by_host.min(), "slowest": by_host.max(),
                     "spread": by_host.max() / by_host.min()})
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("spread", ascending=False, kind="stable")


def report(frame, config_columns: Sequence[str] = ()) -> str:
    """The text of ``timing.txt`` for a summary table (see :func:`host_spreads`)."""
    runs = per_run(frame)
    lines = [f"Where the time went: {len(runs)} run(s)", ""]
    if "host" not in runs.columns or runs["host"].isna().all():
        lines.append("No host is recorded in this table (a table from before "
                     "hosts were recorded?): nothing to compare.")
        return "\n".join(lines) + "\n"
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
    return "\n".join(lines) + "\n"


def write(frame, output_dir: str | os.PathLike,
          config_columns: Sequence[str] = ()) -> Path:
    """Write ``timing.txt`` for a summary table into ``output_dir``.

    Parameters
    ----------
    frame
        The summary table (``all_loss.csv`` as a DataFrame).
    output_dir
        The summary directory.
    config_columns
        The experiment's arguments that set how much a step costs.

    Returns
    -------
    path
        The file written.
    """
    path = Path(output_dir) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(report(frame, config_columns))
    return path
