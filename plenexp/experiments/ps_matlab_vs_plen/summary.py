"""Every result's table into one; the summary figures, tables and texts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_matlab_vs_plen import loss_figures, stats
from plenexp.experiments.ps_matlab_vs_plen.grids import (
    LOSS_TABLE,
    method_label,
    seed_of,
)
from plenexp.runs import results

#: Column names of earlier versions of this experiment's tables.
LEGACY_COLUMNS = {"init_time": "init_duration", "synth_only_time": "synth_duration",
                  "total_time": "process_duration"}
NUMERIC = ("seed", "synth_iters", "steps", "evaluations", "res_highpass_weight",
           "init_duration", "synth_duration", "process_duration", "loss")


def normalize(frame: pd.DataFrame) -> pd.DataFrame:
    """Types, names and the curve each row belongs to.

    Earlier tables' ``init_time``/``synth_only_time``/``total_time`` become
    ``init_duration``/``synth_duration``/``process_duration``, and their
    ``matlab`` optimizer ``textureSynth`` of an unknown engine. Adds
    ``method`` (:func:`grids.method_label`), ``platform`` (device and host)
    and ``curve``: the method, with the platform when the table holds more
    than one, so runs of different engines, devices or hosts never share a
    curve.
    """
    frame = frame.rename(columns={k: v for k, v in LEGACY_COLUMNS.items()
                                  if k in frame and v not in frame})
    frame = frame.copy()
    for column in ("engine", "host", "device"):
        if column not in frame:
            frame[column] = ""
        frame[column] = frame[column].fillna("").astype(str).replace("None", "")
    frame["device"] = frame["device"].replace("", "cpu")
    if "seed" not in frame:
        frame["seed"] = [seed_of(v) for v in frame["init_img"]]
    for column in NUMERIC:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["optimizer"] = frame["optimizer"].replace("matlab", "textureSynth")
    frame["res_highpass_weight"] = frame["res_highpass_weight"].fillna(1.0)
    frame = _checkpoint_process_durations(frame)
    frame["method"] = [method_label(o, w, e) for o, w, e in zip(
        frame["optimizer"], frame["res_highpass_weight"], frame["engine"],
        strict=True)]
    frame["platform"] = frame["device"] + [f" on {h}" if h else "" for h in
                                           frame["host"]]
    several = frame["platform"].nunique() > 1
    frame["curve"] = frame["method"] + (" [" + frame["platform"] + "]"
                                        if several else "")
    return frame


def _checkpoint_process_durations(frame: pd.DataFrame) -> pd.DataFrame:
    """A checkpoint's whole-process time: its run's, less the synthesis after it.

    That is what a run stopped at the checkpoint would have taken (its set-up
    and start-up are the same); rows without a ``metamer`` or ``run_dir``
    column (earlier tables) are left as they are.
    """
    if not {"metamer", "run_dir"} <= set(frame.columns):
        return frame
    final = frame[frame["metamer"] == "metamer.pt"].drop_duplicates("run_dir")
    final = final.set_index("run_dir")[["synth_duration", "process_duration"]]
    kept = frame["metamer"].astype(str).str.startswith("checkpoints")
    ends = final.reindex(frame.loc[kept, "run_dir"])
    frame.loc[kept, "process_duration"] = (
        ends["process_duration"].to_numpy()
        - (ends["synth_duration"].to_numpy()
           - frame.loc[kept, "synth_duration"].to_numpy()))
    return frame


def history(label: str) -> float:
    """The LBFGS history size in a method label (inf for other methods)."""
    match = re.match(r"LBFGS-(\d+)", label)
    return float(match[1]) if match else float("inf")


def method_order(labels: Iterable[str]) -> list[str]:
    """Adam, textureSynth, then LBFGS by history size (numeric)."""
    return sorted(set(labels), key=lambda m: (m.startswith("LBFGS"), history(m), m))


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("img", "optimizer", "res_highpass_weight", "synth_iters",
                    "loss_func", "loss_type")


def read_table(input_dir: Path | None, from_csv: Path | None) -> pd.DataFrame:
    """Gather every run's ``loss.csv`` below ``input_dir``, or read ``from_csv``.

    Raises
    ------
    UsageError
        If nothing was found.
    """
    if from_csv is not None:
        return pd.read_csv(from_csv)
    rows, problems = results.gather(input_dir, LOSS_TABLE,
                                    required=REQUIRED_COLUMNS)
    errors.report(problems)
    if not rows:
        raise UsageError(f"no analysed results under {input_dir} (run analyze.py "
                         "on the finished runs first)")
    return pd.DataFrame.from_records(rows)


def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None,
              loss_funcs: Iterable[str] = ("l2_norm",)) -> pd.DataFrame:
    """Write all_loss.csv, the figures, and the decision tables and text.

    Files in ``output_dir``: ``all_loss.csv``; ``best_method.csv``,
    ``groups_lost.csv``, ``success.csv`` and ``summary.txt`` (their text,
    also printed); ``conclusion.txt`` (the decision in a few sentences); the
    loss figures (:mod:`.loss_figures`). The metamers at equal budgets are
    :func:`.metamers.metamer_grids` (they need the runs' files, and torch).

    Returns
    -------
    frame
        The gathered, normalized table.
    """
    frame = normalize(read_table(input_dir, from_csv))
    output_dir.mkdir(parents=True, exist_ok=True)  # not before: no empty summary
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    loss_funcs = list(loss_funcs)
    loss_figures.summary_figures(frame, output_dir, loss_funcs)
    tables = [stats.best_by_budget(frame, time, loss_funcs[0])
              for time in stats.TIMES if frame[time].notna().any()]
    best = pd.concat(tables, ignore_index=True)
    lost = stats.groups_lost(frame, best, loss_funcs[0])
    reached = stats.success_by_method(frame)
    results.write_csv_atomic(best, output_dir / "best_method.csv")
    results.write_csv_atomic(lost, output_dir / "groups_lost.csv")
    results.write_csv_atomic(reached, output_dir / "success.csv")
    text = [*stats.format_best(best), "", *stats.format_groups_lost(lost, best), "",
            *stats.format_success(reached)]
    (output_dir / "summary.txt").write_text("\n".join(text) + "\n")
    (output_dir / "conclusion.txt").write_text(
        stats.conclusion(best, lost, reached) + "\n")
    return frame

