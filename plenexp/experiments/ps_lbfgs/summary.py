"""ps_lbfgs summary: the table of every run, the decision, the figures.

Writes into the summary directory:

``all_loss.csv``
    Every run, in one form whatever the table's age (:func:`normalize_table`).
``configurations.csv``
    One row per configuration (image included): medians over seeds of loss,
    seconds (and evaluations), their min and max, and ``n``.
``pareto.csv``, ``summary.txt``
    Per image (and loss function), the configurations no other one beats in
    both median time and median loss; what was assumed reading the table; the
    success share (plenoptic issue #365).
``success.csv``
    Per configuration: share of runs meeting the criterion, median seconds and
    evaluations to reach it.
``loss_vs_cost[_<loss>].{png,svg}``
    Final loss against synthesis seconds (beside evaluations, when recorded);
    no SVG for figures of more than :data:`SVG_MAX_AXES` panels.
``loss_curves.{png,svg}``
    Loss against seconds and evaluations from the runs' trajectories, when the
    runs recorded them and the configurations fit in colours and line styles.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_lbfgs import summary_figures as figures
from plenexp.runs import results, rundir
from plenexp.summary import facets, figure_files
from plenexp.synth import success

#: Fractions of ``max_iter`` the grids use (``grids.max_eval_arg``), in order.
NOMINAL_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
#: Summary figures with more panels than this are written as PNG only (an SVG
#: of dozens of panels is slow to write and to open).
SVG_MAX_AXES = 12
#: What LBFGS does with ``max_eval=None``: ``1.25 * max_iter``.
NONE_FRACTION = 1.25

_TEXT = {"", "nan", "NaN", "None", "none"}


def nominal_fraction(max_eval: float, max_iter: float) -> float:
    """``max_eval / max_iter`` as the grid meant it.

    Grids write ``int(fraction * max_iter)``, so 0.5 x 5 is stored as 2; that
    is recovered as 0.5, not 0.4. A missing ``max_eval`` is LBFGS's default,
    1.25 x ``max_iter``.
    """
    if math.isnan(max_eval):
        return NONE_FRACTION
    for fraction in NOMINAL_FRACTIONS:
        if max(1, int(max_iter * fraction)) == max_eval:
            return fraction
    return max_eval / max_iter


def _max_eval_is_fraction(values: pd.Series) -> bool:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if not len(numbers):
        return False
    return bool((numbers % 1 != 0).any() or (numbers <= 1).all())


def normalize_table(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Bring any ``all_loss.csv`` (this version's or an earlier one's) to one form.

    ``LBFGS_max_eval`` may be a count (2, 5.0 ...) or a fraction of
    ``max_iter`` (0.5, 1.0): a column whose values are all at most 1, or not
    all whole numbers, is read as fractions. Empty means None (LBFGS's default,
    1.25 x ``max_iter``). ``LBFGS_max_eval_frac`` is the fraction,
    ``LBFGS_max_eval`` the count (``"None"`` for None). Durations may be
    seconds or ``[H:]MM:SS``. Empty ``search_func`` is None; a leftover
    ``index`` column is dropped.

    Returns
    -------
    frame, assumptions
        The table, and one line per assumption made reading it.
    """
    frame = frame.copy()
    notes = []
    frame = frame.drop(columns=[c for c in frame.columns
                                if c == "index" or str(c).startswith("Unnamed")])
    missing = [c for c in ("filename", "loss", "LBFGS_max_iter") if c not in frame]
    if missing:
        raise UsageError(f"not a ps_lbfgs table: no column {', '.join(missing)}")
    if "search_func" in frame:
        frame["search_func"] = frame["search_func"].map(
            lambda v: "None" if str(v).strip() in _TEXT else str(v).strip())
    for column in ("synth_duration", "process_duration", "init_duration"):
        if column in frame:
            text = frame[column].astype(str)
            clock = text.str.contains(":").sum()
            if clock:
                notes.append(f"{column}: {clock} value(s) written as [H:]MM:SS, "
                             "read as seconds")
            frame[column] = facets.parse_durations(frame[column])
    for column in ("LBFGS_max_iter", "LBFGS_history_size", "learning_rate", "loss",
                   "synth_iter", "seed", "evaluations", "steps",
                   "max_abs_rep_error", "seconds_to_success_loss",
                   "evaluations_to_success_loss", "synth_max_iter", "crop"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    raw = frame["LBFGS_max_eval"] if "LBFGS_max_eval" in frame else pd.Series(
        "", index=frame.index)
    numbers = pd.to_numeric(raw.map(lambda v: None if str(v).strip() in _TEXT
                                    else v), errors="coerce")
    n_none = int(numbers.isna().sum())
    if "LBFGS_max_eval" not in frame:
        notes.append("no LBFGS_max_eval column: every run taken as max_eval=None "
                     f"({NONE_FRACTION:g} x max_iter)")
    if _max_eval_is_fraction(raw):
        notes.append("LBFGS_max_eval read as a fraction of max_iter (all values "
                     "<= 1 or not whole numbers); count = int(fraction x max_iter)")
        frame["LBFGS_max_eval_frac"] = numbers.fillna(NONE_FRACTION)
        counts = (numbers * frame["LBFGS_max_iter"]).map(
            lambda v: v if math.isnan(v) else max(1, int(v)))
    else:
        if "LBFGS_max_eval" in frame:
            notes.append("LBFGS_max_eval read as a count of evaluations per step; "
                         "max_eval / max_iter recovered as the grid's fraction "
                         "(2 of 5 is 0.5, since grids store int(fraction x "
                         "max_iter))")
        frame["LBFGS_max_eval_frac"] = [
            nominal_fraction(e, i) for e, i in zip(numbers, frame["LBFGS_max_iter"],
                                                   strict=True)]
        counts = numbers
    if n_none and "LBFGS_max_eval" in frame:
        notes.append(f"{n_none} run(s) with an empty/None max_eval: LBFGS's default, "
                     f"{NONE_FRACTION:g} x max_iter")
    frame["LBFGS_max_eval"] = counts.map(
        lambda v: "None" if pd.isna(v) else str(int(v)))
    if "loss_function" not in frame:
        notes.append("no loss_function column: all runs taken as one loss; the "
                     f"success criterion (loss <= {success.SUCCESS_LOSS:g}) "
                     "assumes it is the L2 norm, plenoptic's default")
    return frame, notes


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("filename", "search_func", "LBFGS_max_eval")
#: Columns the summary needs as numbers; a row without one is skipped.
NUMERIC_COLUMNS = ("LBFGS_max_iter", "LBFGS_history_size", "learning_rate",
                   "synth_iter", "seed", "synth_duration")


def gather(input_dir: Path) -> pd.DataFrame:
    """Every finished run's ``loss.csv`` row below ``input_dir``.

    A table or row that cannot be used is reported by path and left out.
    """
    rows, problems = results.gather(input_dir, "loss.csv",
                                    required=REQUIRED_COLUMNS,
                                    numeric=NUMERIC_COLUMNS)
    errors.report(problems)
    if not rows:
        raise UsageError(f"no finished runs with a loss under {input_dir}")
    return pd.DataFrame.from_records(rows)


def _config_columns(frame: pd.DataFrame) -> list[str]:
    """The image and every variable that varies.

    With the max_eval fraction comes the max_eval count, for the text (it
    splits no configuration further).
    """
    config = ["filename", *facets.varying(frame, figures.VARIABLES
                                          + ["loss_function"])]
    if "LBFGS_max_eval_frac" in config:
        config.append("LBFGS_max_eval")
    return config


def _fixed(frame: pd.DataFrame) -> str:
    """The experimental variables that do not vary, as one line."""
    parts = []
    for column in figures.VARIABLES + ["loss_function"]:
        if column in frame and column not in facets.varying(frame, [column]):
            value = frame[column].iloc[0]
            if not facets.is_missing(value) or column == "search_func":
                parts.append(f"{figures.LABELS.get(column, column)} "
                             f"{facets.format_level(value)}")
    return "fixed: " + ", ".join(parts) if parts else ""


def pareto_table(agg: pd.DataFrame, config: list[str]) -> pd.DataFrame:
    """Each image's (and loss function's) Pareto front, fastest first."""
    by = [c for c in ("filename", "loss_function") if c in config]
    on = facets.pareto_front(agg, "synth_duration", "loss", by=by)
    front = agg[on].copy()
    return facets.sort_frame(front.sort_values("synth_duration", kind="stable"), by)


def _describe(row: pd.Series, config: list[str]) -> str:
    """A configuration in words: max_iter and max_eval (a count) first."""
    shown = [c for c in ("LBFGS_max_iter", "LBFGS_max_eval") if c in config]
    shown += [c for c in config if c not in (
        "filename", "loss_function", "LBFGS_max_eval_frac", *shown)]
    names = {"LBFGS_max_eval": "max_eval"}
    return ", ".join(f"{names.get(c, figures.LABELS.get(c, c))}="
                     f"{facets.format_level(row[c])}" for c in shown)


def pareto_text(front: pd.DataFrame, config: list[str]) -> list[str]:
    """The front in words: per image, fastest to lowest loss."""
    lines = []
    by = [c for c in ("filename", "loss_function") if c in config]
    groups = front.groupby(by, sort=False) if by else [((), front)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        head = " / ".join(map(facets.format_level, key)) or "all runs"
        lines.append(f"{head}: {len(part)} configuration(s) on the Pareto front "
                     "(no other both faster and lower), fastest first:")
        for _, row in part.iterrows():
            spread = (f" [{row['loss_min']:.3g}-{row['loss_max']:.3g}, "
                      f"{row['synth_duration_min']:.3g}-"
                      f"{row['synth_duration_max']:.3g} s]" if row["n"] > 1 else "")
            evals = (f", {row['evaluations']:.0f} evaluations"
                     if "evaluations" in row and pd.notna(row["evaluations"]) else "")
            runs = (f"median of {int(row['n'])} runs" if row["n"] > 1
                    else "one run: no spread known")
            lines.append(f"  {_describe(row, config) or 'the only configuration'}: "
                         f"loss {row['loss']:.4g} in {row['synth_duration']:.4g} s"
                         f"{evals} ({runs}){spread}")
    return lines


def identical_text(agg: pd.DataFrame, config: list[str]) -> list[str]:
    """Configurations that computed the same thing (same evaluations and loss).

    LBFGS stops a step at whichever of ``max_iter`` and ``max_eval`` comes
    first, so configurations differing only in the other one compute the same
    metamer; their seconds differ only by timing noise.
    """
    if "evaluations" not in agg or not agg["evaluations"].notna().any():
        return []
    by = [c for c in ("filename", "loss_function") if c in config]
    key = agg[by].astype(str).agg("/".join, axis=1) if by else ""
    same = agg.assign(_key=key, _loss=agg["loss"].map(lambda v: f"{v:.6g}"))
    lines = []
    for _, group in same.groupby(["_key", "_loss", "evaluations"], sort=False):
        if len(group) > 1:
            names = "; ".join(_describe(r, config) for _, r in group.iterrows())
            seconds = ", ".join(f"{v:.3g}" for v in group["synth_duration"])
            lines.append(f"  same loss ({group['loss'].iloc[0]:.5g}) and "
                         f"evaluations ({group['evaluations'].iloc[0]:.0f}): "
                         f"{names} -- seconds {seconds}: one limit was binding, "
                         "the time difference is noise")
    if lines:
        lines.insert(0, "Configurations that computed the same thing:")
    return lines


def success_text(table: pd.DataFrame, config: list[str]) -> list[str]:
    """How many configurations reach the criterion, the best shares."""
    if not len(table):
        return []
    lines = [f"success: {table['criterion'].iloc[0]}"]
    full = table[table["share"] >= 1.0]
    lines.append(f"  {len(full)} of {len(table)} configuration(s) reach it in "
                 f"every run; {int((table['share'] > 0).sum())} in at least one")
    reached = table[table["n_success"] > 0].sort_values(
        ["share", "median_seconds_to_success"], ascending=[False, True])
    for _, row in reached.head(3).iterrows():
        head = facets.format_level(row["filename"]) if "filename" in row else ""
        evals = row["median_evaluations_to_success"]
        evals = "" if pd.isna(evals) else f", {evals:.0f} evaluations"
        lines.append(f"  {head}: {_describe(row, config)}: {row['n_success']}/"
                     f"{row['n']} runs, median {row['median_seconds_to_success']:.3g}"
                     f" s{evals} to reach it (from: {row['reach_from']})")
    return lines


def trajectory_curves(frame: pd.DataFrame, config: list[str]) -> pd.DataFrame | None:
    """Every run's trajectory (``trajectory.csv`` beside its ``loss.csv``)."""
    if "run_dir" not in frame:
        return None
    parts = []
    for i, row in frame.iterrows():
        path = Path(row["run_dir"]) / "trajectory.csv"
        if not path.exists():
            return None
        curve = pd.read_csv(path)
        for column in config:
            curve[column] = row[column]
        curve["run"] = i
        parts.append(curve)
    return pd.concat(parts, ignore_index=True) if parts else None


def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None) -> pd.DataFrame:
    """Gather (or read) the table; write the summary tables, text and figures."""
    output_dir = Path(output_dir)
    if from_csv is not None:
        raw = pd.read_csv(from_csv, dtype=str, keep_default_na=False)
        source = str(from_csv)
    else:
        raw = gather(input_dir)
        source = str(input_dir)
    frame, notes = normalize_table(raw)
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    config = _config_columns(frame)
    values = [v for v in ("loss", "synth_duration", "evaluations")
              if v in frame and frame[v].notna().any()]
    agg = facets.aggregate(frame, config, values)
    successes = facets.success_table(frame, config)
    agg = agg.merge(successes[[*config, "share"]].rename(
        columns={"share": "success_share"}), on=config, how="left")
    results.write_csv_atomic(agg, output_dir / "configurations.csv")
    results.write_csv_atomic(successes, output_dir / "success.csv")
    front = pareto_table(agg, config)
    results.write_csv_atomic(front, output_dir / "pareto.csv")
    fixed = _fixed(frame)
    xs = ["synth_duration", *(["evaluations"] if "evaluations" in values else [])]
    losses = (facets.order_levels(frame["loss_function"]) if "loss_function" in config
              else [None])
    for loss in losses:
        part = agg if loss is None else agg[agg["loss_function"] == loss]
        name = "loss_vs_cost" if loss is None else f"loss_vs_cost_{loss}"
        title = f"ps_lbfgs: final loss against cost ({len(frame)} runs)"
        if loss is not None:
            title += f", loss function {loss}"
        fig = figures.cost_figure(part, xs, fixed, title)
        formats = ("svg", "png") if len(fig.axes) <= SVG_MAX_AXES else ("png",)
        figure_files.save(fig, output_dir / name, formats=formats, bbox_inches=None)
    curves = trajectory_curves(frame, config)
    curve_note = "no trajectories recorded (earlier runs or a table)"
    if curves is not None:
        enc = facets.choose_encoding(curves, figures.VARIABLES, image="filename",
                                     max_markers=4)
        if enc.facets:
            curve_note = ("trajectories not drawn: more varying variables ("
                          + ", ".join(enc.facets) + ") than colour and line style")
        else:
            figure_files.save(figures.curve_figure(
                curves, config, f"ps_lbfgs: loss during synthesis ({source})"),
                output_dir / "loss_curves")
            curve_note = "loss_curves: loss against seconds and evaluations per run"
    text = [f"ps_lbfgs summary of {len(frame)} run(s) from {source}",
            f"configurations: {len(agg)} (medians over seeds; n per configuration "
            f"{int(agg['n'].min())}-{int(agg['n'].max())})",
            fixed, "", "Reading the table:",
            *(f"  {n}" for n in notes or ["nothing assumed"]), "",
            *pareto_text(front, config), "", *identical_text(agg, config), "",
            *success_text(successes, config), "",
            curve_note]
    with rundir.atomic_path(output_dir / "summary.txt") as tmp:
        tmp.write_text("\n".join(text) + "\n")
    return frame
