"""The ps_noise summary: every run's table, the summary figure, contact sheets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ... import provenance, results
from ...cli import UsageError
from . import figures, run
from .grids import normalize_args

#: Columns shown first in ``all_loss.csv``.
SUMMARY_COLUMNS = [
    "image", "crop", "noise_type", "noise_amplitude", "weights", "seed",
    "history_size", "synth_iter", "device", "device_name", "loss",
    "l2_no_minmax", "l2_norm", "max_abs_rep_error",
    "out_of_range", "metamer_min", "metamer_max", "init_min", "init_max",
    "init_duration", "synth_duration", "process_duration", "evaluations", "steps",
]


def gather_table(input_dir: Path) -> pd.DataFrame:
    """Every finished run's ``loss.csv`` below ``input_dir`` as one DataFrame."""
    rows, problems = results.gather(input_dir, run.TABLE)
    results.report(problems)
    if not rows:
        raise UsageError(f"no finished runs with a loss under {input_dir}")
    frame = results.to_frame(rows)
    frame["weights"] = frame["weights"].astype(str)
    first = [c for c in SUMMARY_COLUMNS if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    return frame.sort_values(["image", "noise_type", "noise_amplitude", "weights",
                              "seed", "device"]).reset_index(drop=True)


def target_of(run_dir: Path):
    """The target image of a finished run."""
    return run.load_target(normalize_args(provenance.load(run_dir)["args"]))


def summarize(input_dir: Path, output_dir: Path,
              from_csv: Path | None = None) -> pd.DataFrame:
    """Write ``all_loss.csv``, the loss figure and the contact sheets.

    Returns
    -------
    frame
        The table of all runs.
    """
    frame = gather_table(input_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    figures.loss_figure(frame, output_dir)
    figures.contact_sheet(frame, output_dir, target_of)
    return frame


def recovery_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean losses and out-of-range fraction by image, start and weights."""
    data = frame.assign(start=[figures.start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])
    return (data.groupby(["image", "start", "weights"])[["l2_no_minmax", "loss",
                                                         "out_of_range"]]
            .mean().reset_index())
