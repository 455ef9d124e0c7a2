"""The ps_matlab summary: every metamer's PS loss, the summary figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_matlab import figures
from plenexp.experiments.ps_matlab.results import MatlabMetamer, Scorer, find_metamers
from plenexp.runs import results
from plenexp.summary import facets, figure_files

#: A configuration: what the seeds of one point share.
CONFIGURATION = ["image", "n_iter", "engine", "crop", "init"]


def loss_table(metamers: list[MatlabMetamer]) -> tuple[pd.DataFrame, list[str]]:
    """One row per metamer: run facts, overall and per-group PS loss.

    Returns
    -------
    frame, problems
        The table (``loss`` = plenoptic's ``l2_norm`` over all statistics,
        ``max_abs_rep_error``, then one ``l2_norm`` column per statistic
        group) and one line per metamer left out.
    """
    scorer, rows, problems = Scorer(), [], []
    for metamer in metamers:
        try:
            rows.append(scorer.row(metamer))
        except ValueError as err:
            problems.append(f"{metamer.mat_path}: {err}")
    return pd.DataFrame.from_records(rows), problems


def success(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of runs (seeds) per configuration meeting plenoptic's criterion."""
    table = facets.success_table(frame, [c for c in CONFIGURATION
                                         if c in frame.columns],
                                 loss="loss", time="synth_duration")
    # textureSynth's cost is not counted in PS model evaluations
    return table.drop(columns="median_evaluations_to_success")


def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None,
              target_dir: Path | None = None) -> pd.DataFrame:
    """Write ``all_loss.csv``, ``success.csv`` and the summary figures.

    Parameters
    ----------
    input_dir
        Where to find metamers (:func:`.results.find_metamers`).
    output_dir
        Where to write.
    from_csv
        Re-plot this ``all_loss.csv`` instead of scoring metamers again.
    target_dir
        Targets of loose MAT files.

    Returns
    -------
    frame
        The table.
    """
    if from_csv is not None:
        frame = pd.read_csv(from_csv)
    else:
        metamers, problems = find_metamers(input_dir, target_dir)
        frame, more = loss_table(metamers)
        errors.report(problems + more)
        if frame.empty:
            raise UsageError(f"no MATLAB metamers found under {input_dir}")
    output_dir.mkdir(parents=True, exist_ok=True)
    if from_csv is None:
        results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    results.write_csv_atomic(success(frame), output_dir / "success.csv")
    figure_files.save(figures.loss_overall(frame), output_dir / "loss_overall")
    figure_files.save(figures.loss_by_group(frame), output_dir / "loss_by_group")
    return frame

