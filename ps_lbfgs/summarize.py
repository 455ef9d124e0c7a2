"""Gather every ps_lbfgs run's loss.csv into all_loss.csv and write the summary.

Final loss against synthesis seconds (and PS model evaluations, when
recorded): one point per configuration (median over seeds, min-max bars),
one panel per image and panel variable, each image's Pareto front drawn as a
line; ``pareto.csv``, ``success.csv``, ``configurations.csv`` and
``summary.txt`` (the front in words, the success share, what was assumed
reading the table). ``--from-csv`` re-plots an existing table, including those
of the earlier version of this experiment (its column names mapped to these).

Writes into the summary directory:

``all_loss.csv``
    Every run, in one form whatever the table's age (:func:`normalize_table`).
``configurations.csv``
    One row per configuration (image included): medians over seeds of loss,
    seconds (and evaluations), their min and max, and ``n``.
``pareto.csv``, ``summary.txt``, ``conclusion.txt``
    Per image (and loss function), the configurations no other one beats in
    both median time and median loss; what was assumed reading the table; the
    success share (plenoptic issue #365). ``conclusion.txt`` is the front in
    words (the decision).
``success.csv``
    Per configuration: share of runs meeting the criterion, median seconds and
    evaluations to reach it.
``loss_vs_cost[_<loss>].{png,svg}``
    Final loss against synthesis seconds (beside evaluations, when recorded);
    no SVG for figures of more than :data:`SVG_MAX_AXES` panels.
``loss_curves.{png,svg}``
    Loss against seconds and evaluations from the runs' trajectories, when the
    runs recorded them and the configurations fit in colours and line styles.
``timing.txt``
    Seconds per step of identical configurations on different hosts.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from plenexp import cli, errors
from plenexp.errors import UsageError
from plenexp.runs import results, rundir
from plenexp.summary import facets, timing_report
from plenexp.summary.aside import publishes_aside
from plenexp.synth import success
from ps_lbfgs import columns

if TYPE_CHECKING:
    import matplotlib.pyplot as plt

EXPERIMENT = "ps_lbfgs"
#: Fractions of ``max_iter`` the earlier grids wrote as counts, in order.
NOMINAL_FRACTIONS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
#: Summary figures with more panels than this are written as PNG only (an SVG
#: of dozens of panels is slow to write and to open).
SVG_MAX_AXES = 12
#: What LBFGS does with ``max_eval=None``: ``1.25 * max_iter``.
NONE_FRACTION = 1.25

_TEXT = {"", "nan", "NaN", "None", "none"}


def nominal_fraction(max_eval: float, max_iter: float) -> float:
    """``max_eval / max_iter`` as an earlier grid meant it (``--from-csv`` only).

    Those grids wrote the count ``int(fraction * max_iter)``, so 0.5 x 5 is
    stored as 2; that is recovered as 0.5, not 0.4. A missing ``max_eval`` is
    LBFGS's default, 1.25 x ``max_iter``.
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


def _numbers(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.map(lambda v: None if str(v).strip() in _TEXT
                                    else v), errors="coerce")


def read_2024(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """An earlier table in this version's names, ``max_eval_fraction`` made once.

    Columns are renamed by ``columns.NAMES_2024``. Without a
    ``max_eval_fraction`` column, ``max_eval`` may be a count (2, 5.0 ...) or a
    fraction of ``max_iter`` (0.5, 1.0): a column whose values are all at most
    1, or not all whole numbers, is read as fractions; counts give back the
    grid's fraction (:func:`nominal_fraction`). Empty means None.

    Returns
    -------
    frame, assumptions
        The table, and one line per assumption made reading it.
    """
    frame = frame.rename(columns=columns.rename_2024(frame.columns))
    notes = []
    if "max_eval_fraction" in frame or "max_iter" not in frame:
        return frame, notes
    if "max_eval" not in frame:
        notes.append("no max_eval column: every run taken as max_eval=None "
                     f"({NONE_FRACTION:g} x max_iter)")
        frame["max_eval"] = ""
    raw = frame["max_eval"]
    numbers = _numbers(raw)
    max_iter = pd.to_numeric(frame["max_iter"], errors="coerce")
    if _max_eval_is_fraction(raw):
        notes.append("max_eval read as a fraction of max_iter (all values "
                     "<= 1 or not whole numbers); count = int(fraction x max_iter)")
        frame["max_eval_fraction"] = numbers
        frame["max_eval"] = (numbers * max_iter).map(
            lambda v: v if math.isnan(v) else max(1, int(v)))
    else:
        notes.append("max_eval read as a count of evaluations per step; "
                     "max_eval / max_iter recovered as the grid's fraction "
                     "(2 of 5 is 0.5, since grids stored int(fraction x "
                     "max_iter))")
        frame["max_eval_fraction"] = [
            None if math.isnan(e) else nominal_fraction(e, i)
            for e, i in zip(numbers, max_iter, strict=True)]
    return frame, notes


def normalize_table(frame: pd.DataFrame, from_csv: bool = False
                    ) -> tuple[pd.DataFrame, list[str]]:
    """Bring a table of runs to one form (``from_csv``: maybe an earlier one's).

    ``max_eval_fraction`` is read from the table as the runs recorded it
    (``from_csv``: :func:`read_2024` derives it for earlier tables); None
    (empty) is LBFGS's default, shown as 1.25 x ``max_iter``, and
    ``max_eval`` is the count (``"None"`` for None). Durations may be seconds
    or ``[H:]MM:SS``. Empty ``line_search_fn`` is None; a leftover ``index``
    column is dropped.

    Returns
    -------
    frame, assumptions
        The table, and one line per assumption made reading it.
    """
    frame = frame.copy()
    notes = []
    frame = frame.drop(columns=[c for c in frame.columns
                                if c == "index" or str(c).startswith("Unnamed")])
    if from_csv:
        frame, notes = read_2024(frame)
    missing = [c for c in ("img", "loss", "max_iter") if c not in frame]
    if missing:
        raise UsageError(f"not a ps_lbfgs table: no column {', '.join(missing)}")
    if "line_search_fn" in frame:
        frame["line_search_fn"] = frame["line_search_fn"].map(
            lambda v: "None" if str(v).strip() in _TEXT else str(v).strip())
    for column in ("synth_duration", "process_duration", "init_duration"):
        if column in frame:
            text = frame[column].astype(str)
            clock = text.str.contains(":").sum()
            if clock:
                notes.append(f"{column}: {clock} value(s) written as [H:]MM:SS, "
                             "read as seconds")
            frame[column] = facets.parse_durations(frame[column])
    for column in ("max_iter", "history_size", "lr", "loss", "synth_iter", "seed",
                   "evaluations", "steps", "max_abs_rep_error",
                   "seconds_to_success_loss", "evaluations_to_success_loss",
                   "synth_max_iter", "crop"):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    if "max_eval_fraction" not in frame:
        raise UsageError("not a ps_lbfgs table of this version: no column "
                         "max_eval_fraction (read earlier tables with --from-csv)")
    fractions = _numbers(frame["max_eval_fraction"].astype(object))
    n_none = int(fractions.isna().sum())
    if n_none:
        notes.append(f"{n_none} run(s) with an empty/None max_eval: LBFGS's default, "
                     f"{NONE_FRACTION:g} x max_iter")
    frame["max_eval_fraction"] = fractions.fillna(NONE_FRACTION)
    counts = _numbers(frame["max_eval"].astype(object)) if "max_eval" in frame \
        else pd.Series(math.nan, index=frame.index)
    frame["max_eval"] = counts.map(lambda v: "None" if pd.isna(v) else str(int(v)))
    if "loss_function" not in frame:
        notes.append("no loss_function column: all runs taken as one loss; the "
                     f"success criterion (loss <= {success.SUCCESS_LOSS:g}) "
                     "assumes it is the L2 norm, plenoptic's default")
    return frame, notes


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("img", "line_search_fn", "max_eval")
#: Columns the summary needs as numbers; a row without one is skipped.
NUMERIC_COLUMNS = ("max_iter", "history_size", "lr",
                   "synth_iter", "seed", "synth_duration")


def start_gather(input_dir: Path) -> Callable[[], pd.DataFrame]:
    """Every finished run's ``loss.csv`` row below ``input_dir``, as a table.

    Begun now, in forked children: call what it returns for the table. A
    table or row that cannot be used is reported by path and left out.
    """
    pending = results.start_gather(input_dir, "loss.csv",
                                   required=REQUIRED_COLUMNS,
                                   numeric=NUMERIC_COLUMNS, one_row=True,
                                   non_negative=("loss", "synth_duration"))

    def table() -> pd.DataFrame:
        rows, problems = pending()
        errors.report(problems)
        if not rows:
            raise UsageError(f"no finished runs with a loss under {input_dir}")
        return pd.DataFrame.from_records(rows)

    return table


def _config_columns(frame: pd.DataFrame) -> list[str]:
    """The image and every variable that varies.

    With the max_eval fraction comes the max_eval count, for the text (it
    splits no configuration further).
    """
    config = ["img", *facets.varying(frame, [*columns.VARIABLES, "loss_function"])]
    if "max_eval_fraction" in config:
        config.append("max_eval")
    return config


def _fixed(frame: pd.DataFrame) -> str:
    """The experimental variables that do not vary, as one line."""
    parts = []
    for column in columns.VARIABLES + ["loss_function"]:
        if column in frame and column not in facets.varying(frame, [column]):
            value = frame[column].iloc[0]
            if not facets.is_missing(value) or column == "line_search_fn":
                parts.append(f"{columns.label(column)} "
                             f"{facets.format_level(value)}")
    return "fixed: " + ", ".join(parts) if parts else ""


def _describe(row: pd.Series, config: list[str]) -> str:
    """A configuration in words: max_iter and max_eval (a count) first."""
    shown = [c for c in ("max_iter", "max_eval") if c in config]
    hidden = ("max_eval_fraction",) if "max_eval" in config else ()
    shown += [c for c in config if c not in (
        "img", "loss_function", *hidden, *shown)]
    return ", ".join(f"{columns.label(c)}="
                     f"{facets.format_level(row[c])}" for c in shown)


def identical_text(agg: pd.DataFrame, config: list[str]) -> list[str]:
    """Configurations that computed the same thing (same evaluations and loss).

    LBFGS stops a step at whichever of ``max_iter`` and ``max_eval`` comes
    first, so configurations differing only in the other one compute the same
    metamer; their seconds differ only by timing noise.
    """
    if "evaluations" not in agg or not agg["evaluations"].notna().any():
        return []
    by = [c for c in ("img", "loss_function") if c in config]
    key = agg[by].astype(str).agg("/".join, axis=1) if by else ""
    same = agg.assign(_key=key, _loss=agg["loss"].map(lambda v: f"{v:.6g}"))
    alike = ["_key", "_loss", "evaluations"]
    # only groups of two or more are looked at (thousands of configurations)
    same = same[same.groupby(alike, sort=False)["_loss"].transform("size") > 1]
    lines = []
    for _, group in same.groupby(alike, sort=False):
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
        head = facets.format_level(row["img"]) if "img" in row else ""
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
    # all runs or none (earlier runs recorded none): looked at before the
    # settings of thousands of runs are copied out
    if not all((Path(d) / "trajectory.csv").exists() for d in frame["run_dir"]):
        return None
    rows, read = [], set()
    settings_of = frame[["run_dir", *config]].to_dict("records")
    for i, run in zip(frame.index, settings_of, strict=True):
        curve = results.trajectory_rows(run["run_dir"])
        if curve is None:
            continue
        read.update(curve[0])
        settings = {**{c: run[c] for c in config}, "run": i}
        rows.extend({**step, **settings} for step in curve)
    # the trajectories' own columns from text; the settings keep their values
    return results.to_frame(rows, sorted(read - {*config, "run"})) if rows else None


#: plenoptic's published guidance for PS metamers (LBFGS, strong Wolfe line
#: search, lr 1, max_iter = max_eval = 10, history 100, highpass weight 100).
GUIDANCE = {"line_search_fn": "strong_wolfe", "lr": 1, "max_iter": 10,
            "max_eval_fraction": 1.0, "history_size": 100, "highpass_weight": 100}
#: The settings that bound how much work one step may do (a group whose final
#: loss is identical across every setting of them is stuck).
BUDGET_VARIABLES = ("max_iter", "max_eval_fraction")
#: What makes two runs' iterations identical work for the speed comparison:
#: the cost columns without lr (lr changes the result, not what an iteration
#: computes; with a line search it can change the evaluations per step, which
#: the statement says when evaluations are not recorded).
SPEED_COLUMNS = tuple(c for c in columns.CONFIG_COLUMNS if c != "lr")
#: The swept variables the decision reads.
DECISION_VARIABLES = [*columns.VARIABLES, "loss_function"]
#: Loss scales ``--loss`` accepts.
LOSS_KINDS = ("l2_norm", "mse")
#: Values PortillaSimoncelli returns per image (plenoptic 2.1, 4 orientations,
#: spatial_corr_width 7; independent of the image size) by number of scales:
#: ``mse = l2_norm ** 2 / n`` (plenoptic.loss: mse is the mean of the squared
#: differences, l2_norm the square root of their sum).
PS_STATISTICS = {4: 710, 3: 529}
#: plenoptic's stop criterion default here (absolute loss change).
STOP_CRITERION = 1e-4


def n_statistics(image: str) -> int | None:
    """Values of the PS representation of ``image`` (``None`` if unknown)."""
    from plenexp.synth.images import DEFAULT_N_SCALES, N_SCALES

    return PS_STATISTICS.get(N_SCALES.get(str(image), DEFAULT_N_SCALES))


def loss_scale(frame: pd.DataFrame, requested: str | None) -> tuple[str, str]:
    """The scale of the ``loss`` column (``l2_norm``, ``mse`` or ``by row``).

    ``requested`` (``--loss``) wins; else the table's ``loss_function``
    column; else plenoptic's default, the L2 norm, said as assumed.
    """
    if requested:
        return requested, f"loss read as {requested} (--loss {requested})"
    if "loss_function" in frame:
        levels = set(frame["loss_function"].astype(str))
        if len(levels) == 1:
            (kind,) = levels
            return kind, f"loss read as {kind} (the table's loss_function column)"
        return "by row", ("loss read per run from the table's loss_function "
                          "column (" + "/".join(sorted(levels)) + ")")
    note = ("no loss_function column and no --loss: loss taken as the L2 norm, "
            "plenoptic's default (pass --loss mse for a table of MSE values)")
    values = pd.to_numeric(frame["loss"], errors="coerce")
    if len(values.dropna()) and values.max() < 1e-3:
        note += (f"; every loss is below 1e-3 (largest {values.max():.2g}), "
                 "which looks like MSE: check")
    return "l2_norm", note


def success_measure(frame: pd.DataFrame, kind: str) -> tuple[pd.Series, str]:
    """Each run's loss on the L2 scale of the success criterion, and how.

    ``l2_norm_loss`` where recorded (the pure L2 of the representation
    difference); else ``loss`` (an L2 norm) or ``sqrt(n x loss)`` for MSE
    (``n`` from :func:`n_statistics`; the range penalty in plenoptic's
    objective is taken as negligible); NaN where no conversion exists.
    """
    if "l2_norm_loss" in frame and frame["l2_norm_loss"].notna().any():
        return (pd.to_numeric(frame["l2_norm_loss"], errors="coerce"),
                "success and fronts on l2_norm_loss (the pure L2 norm of the "
                "representation difference, no range penalty; loss is "
                "plenoptic's objective)")
    loss = pd.to_numeric(frame["loss"], errors="coerce")
    kinds = (frame["loss_function"].astype(str) if kind == "by row"
             else pd.Series(kind, index=frame.index))
    n = frame["img"].map(n_statistics).astype(float)
    l2 = pd.Series(math.nan, index=frame.index)
    l2[kinds == "l2_norm"] = loss[kinds == "l2_norm"]
    mse = kinds == "mse"
    l2[mse] = (loss[mse] * n[mse]) ** 0.5
    parts = []
    if (kinds == "l2_norm").any():
        parts.append("loss is an L2 norm (plenoptic's objective: the L2 norm "
                     "plus 0.1 x the pixel-range penalty)")
    if mse.any():
        shown = ", ".join(f"{img}: n={n_statistics(img)}" for img in
                          facets.order_levels(frame.loc[mse, "img"]))
        parts.append("MSE converted to the L2 scale as L2 = sqrt(n x MSE), n the "
                     f"values of the PS representation ({shown}; plenoptic.loss: "
                     "mse = mean((x-y)^2), l2_norm = sqrt(sum((x-y)^2))); the "
                     "range penalty in the objective taken as negligible; "
                     f"criterion loss <= {success.SUCCESS_LOSS:g} is MSE <= "
                     + "/".join(f"{success.SUCCESS_LOSS ** 2 / n_statistics(i):.3g}"
                                for i in facets.order_levels(frame.loc[mse, "img"])))
    other = ~(kinds.isin(LOSS_KINDS))
    if other.any():
        parts.append(f"{int(other.sum())} run(s) of another loss "
                     f"({'/'.join(sorted(set(kinds[other])))}): not comparable "
                     "with the criterion, never counted as successes")
    return l2, "; ".join(parts)


def stopping_text(frame: pd.DataFrame, kind: str) -> list[str]:
    """Where the stop criterion fired, and what it did to run times."""
    iters = pd.to_numeric(frame.get("synth_iter"), errors="coerce")
    seconds = pd.to_numeric(frame["synth_duration"], errors="coerce")
    if iters is None or iters.isna().all():
        return []
    lines = ["Stopping:"]
    if "synth_max_iter" in frame and frame["synth_max_iter"].notna().any():
        cap = pd.to_numeric(frame["synth_max_iter"], errors="coerce")
        early = iters < cap
        if not early.any():
            lines.append("  every run ran all its synth_max_iter steps (the stop "
                         "criterion never fired): run times are of equal steps")
            return lines
        per = seconds / iters.where(iters > 0)
        lines.append(
            f"  {int(early.sum())} of {len(frame)} run(s) stopped before "
            f"synth_max_iter (the stop criterion fired): median "
            f"{seconds[early].median():.3g} s and {iters[early].median():.0f} steps,"
            f" against {seconds[~early].median():.3g} s and "
            f"{iters[~early].median():.0f} steps for runs that ran every step"
            if (~early).any() else
            f"  all {len(frame)} run(s) stopped before synth_max_iter (the stop "
            f"criterion fired), after {iters.min():.0f}-{iters.max():.0f} steps")
        lines.append(f"  seconds per step {per[early].median():.3g} (stopped) "
                     + (f"vs {per[~early].median():.3g}" if (~early).any() else "")
                     + ": a stopped run is short because it stopped, so its "
                     "seconds rank where the criterion fired, not speed; "
                     "compare at equal loss")
        return lines
    lines.append(f"  synth_max_iter not recorded: runs took {iters.min():.0f}-"
                 f"{iters.max():.0f} steps (median {iters.median():.0f}), so "
                 "which stopped on the criterion is unknown")
    lines.append("  plenoptic's stop criterion is absolute (the loss changed by "
                 f"less than stop_criterion, {STOP_CRITERION:g} by default, over "
                 "stop_iters_to_check steps): a run's seconds include where it "
                 "fired, compare at equal loss")
    if kind == "mse":
        loss = pd.to_numeric(frame["loss"], errors="coerce")
        lines.append(f"  on this MSE scale the final losses (median "
                     f"{loss.median():.2g}) are below {STOP_CRITERION:g}: a "
                     "criterion of that size fires as soon as the loss moves less "
                     "than the loss itself, so these runs stopped early and "
                     "their short times are an artefact of stopping, not speed")
    return lines


def front_text(agg: pd.DataFrame, on: pd.Series, y: str, x: str,
               config: list[str], unit: str = "s") -> list[str]:
    """A front in words: per image, fastest first, with seed spreads."""
    lines = []
    front = agg[on].sort_values(x, kind="stable")
    by = [c for c in ("img", "loss_function") if c in config]
    front = facets.sort_frame(front, by)
    groups = front.groupby(by, sort=False) if by else [((), front)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        head = " / ".join(map(facets.format_level, key)) or "all runs"
        lines.append(f"{head}: {len(part)} configuration(s) on the Pareto front "
                     f"of {columns.label(y)} against {columns.label(x)} (no other "
                     "ok one both faster and lower), fastest first:")
        for _, row in part.iterrows():
            spread = (f" [{row[f'{y}_min']:.3g}-{row[f'{y}_max']:.3g}, "
                      f"{row[f'{x}_min']:.3g}-{row[f'{x}_max']:.3g} {unit}]"
                      if row["n"] > 1 else "")
            runs = (f"median of {int(row['n'])} runs" if row["n"] > 1
                    else "one run: no spread known")
            lines.append(f"  {_describe(row, config) or 'the only configuration'}: "
                         f"{columns.label(y)} {row[y]:.4g} in {row[x]:.4g} {unit} "
                         f"({runs}){spread}")
    return lines


@publishes_aside
def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None, loss: str | None = None
              ) -> pd.DataFrame:
    """Gather (or read) the table; write the summary tables, text and figures.

    ``loss``: the scale of the table's ``loss`` (``l2_norm`` or ``mse``);
    default from its ``loss_function`` column, else the L2 norm (stated).
    """
    output_dir = Path(output_dir)
    if loss is not None and loss not in LOSS_KINDS:
        raise UsageError(f"--loss {loss}: expected one of {', '.join(LOSS_KINDS)}")
    reading = start_gather(input_dir) if from_csv is None else None
    # the drawing code (matplotlib) loads here while the runs are read: for
    # 10,000 runs each takes about half a second
    from plenexp.summary import decisions, facet_grid, figure_files, overview

    if reading is None:
        raw = pd.read_csv(from_csv, dtype=str, keep_default_na=False)
        source = str(from_csv)
    else:
        raw = reading()
        source = str(input_dir)
    frame, notes = normalize_table(raw, from_csv=from_csv is not None)
    if "l2_norm_loss" in frame:
        frame["l2_norm_loss"] = pd.to_numeric(frame["l2_norm_loss"], errors="coerce")
    kind, scale_note = loss_scale(frame, loss)
    frame["success_l2"], measure_note = success_measure(frame, kind)
    notes = [n for n in notes if not n.startswith("no loss_function column")]
    notes += [scale_note, measure_note]
    if from_csv is None:
        # build() never reweights: the runs minimise the unweighted loss
        frame["highpass_weight"] = 1
    pure = "l2_norm_loss" in frame and frame["l2_norm_loss"].notna().any()
    y = "l2_norm_loss" if pure else "loss"
    y_label = ("L2 norm of the representation difference" if pure else
               {"mse": "final loss (MSE)", "l2_norm": "final loss (L2 norm)"}
               .get(kind, "final loss"))
    output_dir.mkdir(parents=True, exist_ok=True)
    # the run table as read, before the columns the summary adds
    run_table = frame[list(frame.columns)]
    has_evals = "evaluations" in frame and frame["evaluations"].notna().any()
    speed = timing_report.speed_differences(
        frame, time="synth_duration", variables=DECISION_VARIABLES,
        config_columns=SPEED_COLUMNS, iterations="synth_iter",
        evaluations="evaluations" if has_evals else None, image="img")
    extra = ["loss", "success_l2", "synth_iter"]
    if speed:
        normalized = frame["synth_duration"]
        for difference in speed:
            normalized = timing_report.normalized_time(
                frame.assign(synth_duration=normalized), difference,
                "synth_duration")
        frame["synth_duration_normalized"] = normalized
        extra.append("synth_duration_normalized")
    # side by side with the decision and the text: first the run table and
    # timing.txt (they need nothing decided), then the figures
    figures = figure_files.FigureJobs()
    figures.submit(functools.partial(write_run_tables, frame, run_table,
                                     output_dir, has_evals))
    curves = trajectory_curves(frame, _config_columns(frame))
    decision = decisions.decide(
        frame, variables=DECISION_VARIABLES, loss=y, time="synth_duration",
        image="img", seed="seed", iterations="synth_iter",
        evaluations="evaluations" if has_evals else None,
        budget_variables=BUDGET_VARIABLES, trajectories=curves,
        guidance=GUIDANCE, labels=columns.LABELS,
        guidance_name="plenoptic's published guidance",
        values=[v for v in extra if v != y])
    agg, config, status = decision.agg, decision.config, decision.status
    fixed = _fixed(frame)
    xs = ["synth_duration", *(["evaluations"] if has_evals else [])]
    note = "; ".join(t for t in (
        timing_report.speed_note(speed),
        "MSE values (success converted to L2)" if kind == "mse" else "") if t)
    losses = (facets.order_levels(agg["loss_function"])
              if "loss_function" in config and not pure else [None])
    for level in losses:
        part = agg if level is None else agg[agg["loss_function"] == level]
        name = "loss_vs_cost" if level is None else f"loss_vs_cost_{level}"
        title = f"ps_lbfgs: {y_label} against cost ({len(frame)} runs)"
        if level is not None:
            title += f", loss function {level}"
        enc = facets.choose_encoding(part, columns.VARIABLES, image="img",
                                     labels=columns.LABELS,
                                     level_names=columns.LEVEL_NAMES)
        for job in facet_grid.figure_jobs(
                part, xs, y, enc, output_dir / name,
                title="\n".join(t for t in (title, fixed) if t),
                xlabels=columns.LABELS, ylabel=y_label, front=True, note=note):
            figures.submit(job)
    figures.submit(functools.partial(
        overview.write_overview,
        agg if len(losses) == 1 else agg[agg["loss_function"] == losses[0]],
        output_dir / "overview", variables=columns.VARIABLES, loss=y,
        time="synth_duration", image="img", labels=columns.LABELS,
        title=f"ps_lbfgs overview: {y_label} ({len(frame)} runs, {source})",
        note=note, ylabel=y_label))
    curve_note = "no trajectories recorded (earlier runs or a table)"
    if curves is not None:
        enc = facets.choose_encoding(curves, columns.VARIABLES, image="img",
                                     max_markers=4)
        if enc.facets:
            curve_note = ("trajectories not drawn: more varying variables ("
                          + ", ".join(enc.facets) + ") than colour and line style")
        else:
            figures.submit(lambda: figure_files.save(curve_figure(
                curves, config, f"ps_lbfgs: loss during synthesis ({source})"),
                output_dir / "loss_curves"))
            curve_note = "loss_curves: loss against seconds and evaluations per run"
    # the figures are under way (they need no success share): the rest here
    successes, success_lines = decisions.success_ranking(
        decision.frame, config, loss="success_l2", time="synth_duration",
        status=status, labels=columns.LABELS)
    if frame["success_l2"].isna().all():
        success_lines = ["success: not comparable (no loss on the L2 scale of "
                         "the criterion in this table)"]
    agg = agg.merge(successes[[*config, "share"]].rename(
        columns={"share": "success_share"}), on=config, how="left")
    on = decisions.front(agg, "synth_duration", y,
                         by=[c for c in ("img", "loss_function") if c in config])
    for table, name in [(agg, "configurations.csv"), (successes, "success.csv"),
                        (agg[on].sort_values(["img", "synth_duration"]),
                         "pareto.csv")]:
        results.write_csv_atomic(table, output_dir / name)
    fronts = front_text(agg, on, y, "synth_duration", config)
    if has_evals:
        on_evals = decisions.front(agg, "evaluations", y, by=["img"])
        fronts += ["", "The same fronts in PS model evaluations (no timing noise):",
                   *front_text(agg, on_evals, y, "evaluations", config,
                               unit="evaluations")]
    speed_lines = [f"  {d.statement}" for d in speed]
    if speed:
        on_norm = decisions.front(agg, "synth_duration_normalized", y, by=["img"])
        fronts += ["", "The same fronts in seconds normalized to the typical "
                   "speed of identical work (the batches above):",
                   *front_text(agg, on_norm, y, "synth_duration_normalized", config)]
    stopping = stopping_text(frame, kind)
    text = [f"ps_lbfgs summary of {len(frame)} run(s) from {source}",
            f"configurations: {len(agg)} (medians over the ok seeds; n per "
            f"configuration {int(agg['n'].min())}-{int(agg['n'].max())})",
            fixed, "", "Reading the table:",
            *(f"  {n}" for n in notes or ["nothing assumed"]), "",
            "The decision (the same rules in every experiment):",
            *(f"  {line}" for line in decision.lines), "",
            *fronts, "", *identical_text(agg, config), "",
            *success_lines, "", *stopping, "",
            "Speed of identical work:",
            *(speed_lines or ["  no two batches of runs differ by more than "
                              f"{timing_report.SPEED_THRESHOLD:g}x"]), "",
            curve_note]
    conclusion = [*decision.lines, *success_lines[:3], f"({scale_note}; "
                  f"{measure_note})", *speed_lines, *stopping[1:2]]
    with rundir.atomic_path(output_dir / "conclusion.txt") as tmp:
        tmp.write_text("\n".join(conclusion) + "\n")
    # the text is made: now the figures' turn (drawn meanwhile)
    written = figures.paths()
    text.append("figures: " + ", ".join(
        sorted({p.name for p in written if p.suffix == ".png"})))
    with rundir.atomic_path(output_dir / "summary.txt") as tmp:
        tmp.write_text("\n".join(text) + "\n")
    return frame


def write_run_tables(frame: pd.DataFrame, run_table: pd.DataFrame,
                     output_dir: Path, has_evals: bool) -> list[Path]:
    """``all_loss.csv`` (``run_table``) and ``timing.txt`` of ``frame``."""
    results.write_csv_atomic(run_table, output_dir / "all_loss.csv")
    return [output_dir / "all_loss.csv", timing_report.write(
        frame, output_dir, config_columns=columns.CONFIG_COLUMNS,
        variables=DECISION_VARIABLES, time="synth_duration",
        iterations="synth_iter", evaluations="evaluations" if has_evals else None,
        image="img", speed_columns=SPEED_COLUMNS)]


def cost_figure(agg: pd.DataFrame, xs: list[str], fixed: str, title: str,
                note: str = "") -> plt.Figure:
    """Final loss against seconds (and evaluations), Pareto front per image."""
    from plenexp.summary import facet_grid

    enc = facets.choose_encoding(agg, columns.VARIABLES, image="img",
                                 labels=columns.LABELS,
                                 level_names=columns.LEVEL_NAMES)
    return facet_grid.scatter_grid(
        agg, xs, "loss", enc, xlabels=columns.LABELS, ylabel="final loss",
        title="\n".join(t for t in (title, fixed) if t), front=True, note=note)


def curve_figure(curves: pd.DataFrame, config_columns: list[str],
                 title: str) -> plt.Figure:
    """Loss against seconds beside loss against evaluations, one curve per run.

    ``curves``: one row per trajectory state with ``run``, ``seconds``,
    ``evaluations``, ``loss`` and the configuration columns. One row of panels
    per image; colour and line style from the varying variables (the caller
    checks they are no more than two besides the image and seed).
    """
    import matplotlib.pyplot as plt

    from plenexp.summary import axis_ticks, facet_grid

    enc = facets.choose_encoding(curves, columns.VARIABLES, image="img",
                                 labels=columns.LABELS, max_markers=4,
                                 level_names=columns.LEVEL_NAMES)
    images_ = facets.order_levels(curves["img"])
    fig, axes = plt.subplots(len(images_), 2, squeeze=False, layout="constrained",
                             figsize=(9.5, 2.9 * len(images_) + 0.8))
    hues = facets.order_levels(curves[enc.hue]) if enc.hue else [None]
    colours = facet_grid.palette(hues) if enc.hue else {}
    styles = dict(zip(
        map(facets.format_level, facets.order_levels(curves[enc.marker]))
        if enc.marker else [], ["-", "--", ":", "-."], strict=False))
    for row, image in enumerate(images_):
        sub = curves[facets.format_levels(curves["img"])
                     == facets.format_level(image)]
        for col, x in enumerate(("seconds", "evaluations")):
            ax = axes[row, col]
            for _, run in sub.groupby("run", sort=False):
                first = run.iloc[0]
                colour = colours.get(facets.format_level(first[enc.hue]), "C0") \
                    if enc.hue else "C0"
                style = styles.get(facets.format_level(first[enc.marker]), "-") \
                    if enc.marker else "-"
                (line,) = ax.plot(run[x], run["loss"], color=colour,
                                  linestyle=style, linewidth=1.1, alpha=0.85)
                line.set_gid(f"image:{facets.format_level(image)}")
            ax.set_yscale("log")
            ax.set_xlabel("seconds since synthesis started" if x == "seconds"
                          else "PS model evaluations", fontsize=8.5)
            if col == 0:
                ax.set_ylabel("loss", fontsize=8.5)
            ax.set_title(facets.format_level(image), fontsize=9)
            ax.tick_params(labelsize=7.5)
            ax.set_ylim(*axis_ticks.padded_limits(sub["loss"], log=True))
            axis_ticks.tidy_axis(ax.xaxis)
            axis_ticks.tidy_axis(ax.yaxis)
            ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
    handles = []
    for column, levels, draw_one in (
            (enc.hue, hues, lambda v: dict(color=colours[facets.format_level(v)])),
            (enc.marker, facets.order_levels(curves[enc.marker]) if enc.marker
             else [], lambda v: dict(color="0.3",
                                     linestyle=styles[facets.format_level(v)]))):
        if column:
            handles.append(facet_grid.legend_header(columns.label(column)))
            handles += [plt.Line2D([], [], label=enc.level(column, v),
                                   **draw_one(v)) for v in levels]
    if handles:
        facet_grid.add_legend(fig, handles, loc="outside right upper", fontsize=8)
    fig.suptitle(facet_grid.wrap_title([title, "one line per run (every seed)"],
                                       fig.get_figwidth()), fontsize=9.5)
    return fig


def parse_args():
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--loss", choices=LOSS_KINDS, default=None,
                        help="scale of the table's loss column (default: its "
                        "loss_function column, else l2_norm; stated in "
                        "summary.txt)")
    return parser.parse_args()


def main():
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    frame = summarize(input_dir, output_dir, from_csv=args.from_csv, loss=args.loss)
    print(f"{len(frame)} run(s) summarized; figures, tables and summary.txt in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
