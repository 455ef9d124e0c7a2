"""The ps_noise summary: every run's table, the summary figure, contact sheets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_noise import figures, run, summary_figures
from plenexp.experiments.ps_noise.grids import LOSS_LABELS, normalize_args
from plenexp.runs import provenance, results
from plenexp.summary import facets, figure_files

#: Columns shown first in ``all_loss.csv``.
SUMMARY_COLUMNS = [
    "image", "crop", "noise_type", "noise_amplitude", "weights", "seed",
    "history_size", "synth_iter", "device", "device_name", "loss",
    "l2_no_minmax", "l2_norm", "max_abs_rep_error",
    "out_of_range", "metamer_min", "metamer_max", "init_min", "init_max",
    "init_duration", "synth_duration", "process_duration", "evaluations", "steps",
]


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("image", "crop", "noise_type", "weights", "device")
#: Columns the summary needs as numbers; a row without one is skipped.
NUMERIC_COLUMNS = ("noise_amplitude", "seed", "synth_iter", "l2_no_minmax",
                   "out_of_range", "metamer_min", "metamer_max", "init_min",
                   "init_max")


def gather_table(input_dir: Path) -> pd.DataFrame:
    """Every finished run's ``loss.csv`` below ``input_dir`` as one DataFrame.

    A table or row that cannot be used is reported by path and left out.
    """
    rows, problems = results.gather(input_dir, run.TABLE,
                                    required=REQUIRED_COLUMNS,
                                    numeric=NUMERIC_COLUMNS)
    errors.report(problems)
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


def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None) -> pd.DataFrame:
    """Write ``all_loss.csv``, ``success.csv``, the loss figure, contact sheets.

    Parameters
    ----------
    input_dir
        Where the runs are.
    output_dir
        Where to write.
    from_csv
        Re-plot this ``all_loss.csv`` instead of gathering runs; contact
        sheets are drawn only if its runs are still on disk.

    Returns
    -------
    frame
        The table of all runs.
    """
    if from_csv is not None:
        frame = pd.read_csv(from_csv)
        frame["weights"] = frame["weights"].astype(str)
    else:
        frame = gather_table(input_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if from_csv is None:
        results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    results.write_csv_atomic(success(frame), output_dir / "success.csv")
    figure_files.save(summary_figures.summary_figure(frame),
                      output_dir / "loss_by_noise_and_weights")
    if "run_dir" in frame.columns and all(
            (Path(d) / run.METAMER_FILE).is_file() for d in frame["run_dir"]):
        figures.contact_sheet(frame, output_dir, target_of)
    return frame


def _with_start(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(start=[summary_figures.start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])


def configuration(frame: pd.DataFrame) -> list[str]:
    """What the seeds of one configuration share: image, start, weights, settings."""
    return ["image", "start", "weights",
            *facets.varying(frame, summary_figures.SETTINGS)]


def recovery_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Median losses and out-of-range fraction per configuration, over seeds.

    Columns are named by what they are (:data:`.grids.LOSS_LABELS`), with ``n``
    the runs (seeds) behind each row.
    """
    data = _with_start(frame)
    measures = ["loss", "l2_no_minmax", "l2_norm", "out_of_range"]
    table = facets.aggregate(data, configuration(data), measures)
    keep = [c for c in table.columns if not c.endswith(("_min", "_max"))]
    names = {k: f"{v} (median)" for k, v in LOSS_LABELS.items()}
    names["out_of_range"] = "fraction outside [0, 1] (median)"
    return table[keep].rename(columns=names)


def success(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of runs per configuration meeting plenoptic's success criterion.

    The criterion's loss is the overall unweighted L2 (``l2_norm``): the
    weighted objective is not the loss it is stated in.
    """
    data = _with_start(frame)
    return facets.success_table(data, configuration(data), loss="l2_norm",
                                time="synth_duration", evaluations="evaluations")
