"""Decisions that hold on any sweep: what did nothing, what is stuck, what to use.

Every function takes the table (one row per run, or one per configuration
from :func:`plenexp.summary.facets.aggregate`) and is told which columns are
the experiment's swept variables, its image, loss, time, iteration and
evaluation columns: nothing here assumes a column name or a level.

:func:`no_op_variables`, :func:`collapse`
    Variables whose levels gave bit-identical results (final loss and
    iterations, or evaluations when recorded) with everything else fixed, and
    the table with each such variable's levels merged into one.
:func:`classify_runs`
    Each run ``ok``, ``stalled`` (loss flat from early on, not below its
    initial loss, or identical across budget settings that should differ) or
    ``diverged`` (not finite, or far above the rest of its image).
:func:`aggregate`, :func:`front`
    Medians over the ``ok`` runs only, with a ``status`` per configuration;
    the Pareto front of the ``ok`` configurations.
:func:`time_budgets`, :func:`recommend`, :func:`recommendation_text`
    Per image, at a few budgets, the configuration to use, with its spread
    over seeds and its ties.
:func:`guidance_comparison`, :func:`guidance_text`
    A given configuration (published guidance) against the front: its time
    relative to the front's fastest configuration reaching its loss.
:func:`success_ranking`
    :func:`plenexp.summary.facets.success_table` of the ``ok`` runs, said
    honestly: "loss criterion only" without a representation error, ranked by
    time to reach it only where trajectories say when.

No matplotlib here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from plenexp.summary import facets
from plenexp.synth import success

OK, STALLED, DIVERGED = "ok", "stalled", "diverged"
#: A run is diverged when its loss exceeds this many times its image's median.
DIVERGE_FACTOR = 1e3
#: Budget settings that must share one final loss for a group to be stalled.
MIN_SETTINGS = 3


def _present(frame: pd.DataFrame, columns) -> list[str]:
    return [c for c in dict.fromkeys(c for c in columns if c) if c in frame.columns]


def _keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One text key per row from ``columns`` (missing cells as ``None``)."""
    if not columns:
        return pd.Series("all", index=frame.index)
    parts = [facets.format_levels(frame[c]) for c in columns]
    key = parts[0]
    for part in parts[1:]:
        key = key + "\x1f" + part
    return key


def _codes(frame: pd.DataFrame, columns: Sequence[str],
           cache: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """One integer per row, equal where :func:`_keys` gives equal keys.

    For grouping within one table (10,000 runs: text keys of many columns
    cost a tenth of a second per grouping). ``cache``: each column's codes,
    kept between calls over the same table.
    """
    cache = {} if cache is None else cache
    out = np.zeros(len(frame), dtype=np.int64)
    for column in columns:
        if column not in cache:
            cache[column] = pd.factorize(facets.format_levels(frame[column]))[0]
        codes = cache[column]
        # renumbered after each column, so the numbers stay below len(frame)**2
        out = pd.factorize(out * (int(codes.max(initial=0)) + 1) + codes)[0]
    return out


def _label(labels: Mapping | None, column: str) -> str:
    return (labels or {}).get(column, column)


def describe(row, columns: Sequence[str], labels: Mapping | None = None) -> str:
    """A configuration in words: ``lr=1, history=100``."""
    return ", ".join(f"{_label(labels, c)}={facets.format_level(row[c])}"
                     for c in columns if c in row) or "the only configuration"


# ---------------------------------------------------------------- no-ops


@dataclass
class NoOp:
    """A variable whose levels gave identical results.

    Attributes
    ----------
    variable
        The column.
    levels
        Its levels, in order.
    groups
        Groups (everything else fixed, seeds included) with two or more of its
        levels, every one of them identical.
    compared
        What was compared (``"final loss and iterations"``).
    statement
        One sentence for ``summary.txt`` / ``conclusion.txt``.
    """

    variable: str
    levels: list
    groups: int
    compared: str
    statement: str = ""


def _work_column(frame: pd.DataFrame, iterations: str | None,
                 evaluations: str | None) -> str | None:
    for column in (evaluations, iterations):
        if column and column in frame.columns and frame[column].notna().any():
            return column
    return None


def no_op_variables(frame: pd.DataFrame, variables: Sequence[str], *,
                    loss: str, image: str | None = None,
                    iterations: str | None = None,
                    evaluations: str | None = None, seed: str | None = None,
                    labels: Mapping | None = None) -> list[NoOp]:
    """The variables whose levels changed nothing.

    A variable is a no-op when, in every group of runs that share all other
    variables, the image and the seed and hold two or more of its levels, the
    final ``loss`` and the work done (``evaluations`` where recorded, else
    ``iterations``) are bit-identical across its levels. Seconds are not
    compared (they differ by timing noise).

    Parameters
    ----------
    frame
        One row per run.
    variables
        The experiment's swept variables (those that do not vary are skipped).
    loss, iterations, evaluations, image, seed
        The columns of the final loss, the work done, the image and the seed.
    labels
        Display names of columns, for the statements.
    """
    vary = facets.varying(frame, variables)
    work = _work_column(frame, iterations, evaluations)
    compared = f"final {_label(labels, loss)}" + (
        f" and {_label(labels, work)}" if work else "")
    values = _present(frame, [loss, work])
    codes: dict[str, np.ndarray] = {}
    result = _codes(frame, values, codes) if values else None
    out = []
    for variable in vary:
        others = _present(frame, [image, seed, *(v for v in vary if v != variable)])
        data = pd.DataFrame({"group": _codes(frame, others, codes),
                             "level": _codes(frame, [variable], codes),
                             "result": result})
        counts = data.groupby("group", sort=False).agg(
            levels=("level", "nunique"), results=("result", "nunique"))
        compared_groups = counts[counts["levels"] > 1]
        if len(compared_groups) and (compared_groups["results"] == 1).all():
            levels = facets.order_levels(frame[variable])
            shown = "/".join(map(facets.format_level, levels))
            n = len(compared_groups)
            out.append(NoOp(variable, levels, n, compared, (
                f"{_label(labels, variable)} {shown} gave identical results "
                f"({compared}) in all {n} group(s) with everything else fixed: "
                "collapsed (each point is the median over its levels' runs)")))
    return out


def collapse(frame: pd.DataFrame, no_ops: Sequence[NoOp]) -> pd.DataFrame:
    """``frame`` with each no-op variable's levels merged into one (``3/10/100``)."""
    frame = frame.copy()
    for op in no_ops:
        frame[op.variable] = "/".join(map(facets.format_level, op.levels))
    return frame


# ---------------------------------------------------------------- stalls


def classify_runs(frame: pd.DataFrame, *, loss: str, image: str | None = None,
                  variables: Sequence[str] = (),
                  budget_variables: Sequence[str] = (), seed: str | None = None,
                  initial_loss: str | None = None,
                  trajectories: pd.DataFrame | None = None,
                  run: str | None = None, flat_after: float = 0.1,
                  flat_rtol: float = 1e-3,
                  diverge_factor: float = DIVERGE_FACTOR) -> pd.DataFrame:
    """Each run ``ok``, ``stalled`` or ``diverged``, and why.

    Stalled (kept off fronts and success rankings):

    - ``initial_loss`` known: the final loss is not below it;
    - ``trajectories`` known: the loss after ``flat_after`` of the run's steps
      is already within ``flat_rtol`` of its final loss (flat from early on);
    - ``budget_variables`` given (the settings that set how much work a run
      may do, e.g. iterations per step and evaluations per step): every run of
      a group sharing everything else (image, seed, the other variables) ends
      at one bit-identical loss over at least :data:`MIN_SETTINGS` budget
      settings: more work changed nothing, the optimizer is stuck.

    Diverged: loss not finite, or above ``diverge_factor`` times its image's
    median final loss, or (``initial_loss`` known) above 10 x the initial loss.

    Parameters
    ----------
    frame
        One row per run.
    trajectories
        One row per trajectory state: ``run`` (the value of ``frame[run]``, or
        of ``frame``'s index when ``run`` is None), ``loss``, in step order.

    Returns
    -------
    table
        Indexed like ``frame``: ``status`` and ``reason``.
    """
    values = pd.to_numeric(frame[loss], errors="coerce")
    status = pd.Series(OK, index=frame.index, dtype=object)
    reason = pd.Series("", index=frame.index, dtype=object)

    def mark(mask, kind, why):
        mask = mask.fillna(False) & (status == OK)
        status[mask] = kind
        reason[mask] = why

    images = _keys(frame, _present(frame, [image]))
    finite = values.where(np.isfinite(values) & (values > 0))
    median = finite.groupby(images).transform("median")
    mark(~np.isfinite(values), DIVERGED, "loss not finite")
    mark(values > diverge_factor * median, DIVERGED,
         f"loss > {diverge_factor:g} x the image's median")
    if initial_loss and initial_loss in frame.columns:
        start = pd.to_numeric(frame[initial_loss], errors="coerce")
        mark(values > 10 * start, DIVERGED, "loss > 10 x the initial loss")
        mark(values >= start, STALLED, "not below the initial loss")
    if trajectories is not None and len(trajectories):
        ids = frame[run] if run else pd.Series(frame.index, index=frame.index)
        flat = {}
        for key, curve in trajectories.groupby("run", sort=False):
            losses = pd.to_numeric(curve["loss"], errors="coerce").to_numpy(float)
            if len(losses) < 5:
                continue
            early = losses[max(1, int(flat_after * (len(losses) - 1)))]
            final = losses[-1]
            flat[key] = bool(np.isfinite(early) and final >= early * (1 - flat_rtol))
        mark(ids.map(flat).astype("boolean"), STALLED, "loss flat from early on")
    budget = _present(frame, budget_variables)
    if budget:
        vary = facets.varying(frame, variables)
        others = _present(frame, [image, seed, *(v for v in vary if v not in budget)])
        data = pd.DataFrame({"group": _codes(frame, others),
                             "setting": _codes(frame, budget),
                             "loss": values.map(repr)})
        counts = data.groupby("group", sort=False).agg(
            settings=("setting", "nunique"), losses=("loss", "nunique"))
        stuck = counts[(counts["settings"] >= MIN_SETTINGS) & (counts["losses"] == 1)]
        names = "/".join(_label(None, c) for c in budget)
        mark(data["group"].isin(stuck.index), STALLED,
             f"final loss identical across every {names} setting")
    return pd.DataFrame({"status": status, "reason": reason})


def status_text(status: pd.DataFrame, frame: pd.DataFrame | None = None,
                variables: Sequence[str] = (), image: str | None = None,
                labels: Mapping | None = None, max_listed: int = 6) -> list[str]:
    """Lines saying how many runs were stalled or diverged, and where."""
    lines = []
    for kind in (STALLED, DIVERGED):
        mine = status[status["status"] == kind]
        if not len(mine):
            continue
        reasons = "; ".join(f"{n} {why}" for why, n in
                            mine["reason"].value_counts().items())
        lines.append(f"{len(mine)} of {len(status)} run(s) {kind} ({reasons}): "
                     "kept off the fronts, recommendations and success rankings")
        if frame is not None:
            columns = _present(frame, [image, *facets.varying(frame, variables)])
            where = frame.loc[mine.index, columns].drop_duplicates()
            for _, row in where.head(max_listed).iterrows():
                lines.append(f"  {describe(row, columns, labels)}")
            if len(where) > max_listed:
                lines.append(f"  ... and {len(where) - max_listed} more "
                             "configuration(s)")
    return lines


def aggregate(frame: pd.DataFrame, by: Sequence[str], values: Sequence[str],
              status: pd.DataFrame | pd.Series | None = None) -> pd.DataFrame:
    """:func:`facets.aggregate` over ``ok`` runs, with a ``status`` per configuration.

    A configuration with an ``ok`` run is summarized over its ``ok`` runs only
    (``status`` ``ok``, ``n_excluded`` the runs left out); one without is
    summarized over all its runs and takes the most common status of its runs
    (so it can still be drawn, at the edge).
    """
    if status is None:
        agg = facets.aggregate(frame, by, values)
        return agg.assign(status=OK, n_excluded=0)
    kinds = status["status"] if isinstance(status, pd.DataFrame) else status
    good = kinds.reindex(frame.index).fillna(OK) == OK
    ok = facets.aggregate(frame[good], by, values).assign(status=OK)
    by = [c for c in by if c in frame.columns]
    everything = facets.aggregate(frame.assign(_status=kinds), by, values)
    key_all, key_ok = _keys(everything, by), _keys(ok, by)
    worst = (frame.assign(_key=_keys(frame, by).to_numpy(), _status=kinds)
             .groupby("_key")["_status"].agg(lambda s: s[s != OK].mode().iat[0]
                                             if (s != OK).any() else OK))
    rest = everything[~key_all.isin(set(key_ok))].copy()
    rest["status"] = key_all[rest.index].map(worst)
    out = pd.concat([ok, rest], ignore_index=True)
    n_all = dict(zip(key_all, everything["n"], strict=True))
    out["n_excluded"] = [n_all[k] - n if s == OK else 0 for k, n, s in zip(
        _keys(out, by), out["n"], out["status"], strict=True)]
    return facets.sort_frame(out, by)


def front(agg: pd.DataFrame, x: str, y: str, by: Sequence[str] = (),
          status: str = "status") -> pd.Series:
    """:func:`facets.pareto_front` of the ``ok`` rows (the others are never on it)."""
    ok = agg[status] == OK if status in agg.columns else pd.Series(True, agg.index)
    on = pd.Series(False, index=agg.index)
    on[ok] = facets.pareto_front(agg[ok], x, y, by=[c for c in by if c in agg])
    return on


# ---------------------------------------------------------- recommendation


def _round2(value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        return value
    digits = 1 - int(math.floor(math.log10(value)))
    return round(value, digits)


def time_budgets(agg: pd.DataFrame, *, time: str, loss: str,
                 image: str | None = None, n: int = 3,
                 status: str = "status") -> dict:
    """A few budgets per image: the front's fastest time, its middle, its end.

    Rounded to two significant digits, up (a budget includes its
    configuration). Returns ``{image level (text): [budgets]}``.
    """
    out = {}
    groups = agg.groupby(_keys(agg, _present(agg, [image])), sort=False)
    for key, part in groups:
        on = front(part, time, loss, status=status)
        times = np.sort(part.loc[on, time].to_numpy(float))
        if not len(times):
            out[key] = []
            continue
        picks = [times[round(q * (len(times) - 1))] for q in np.linspace(0, 1, n)]
        budgets = []
        for t in picks:
            b = _round2(t)
            b = b if b >= t else _round2(t * 1.05)
            if b not in budgets:
                budgets.append(b)
        out[key] = budgets
    return out


@dataclass
class Recommendation:
    """The configuration to use for one image within one budget."""

    image: str
    budget: float
    unit: str
    best: dict
    loss: float
    loss_min: float
    loss_max: float
    cost: float
    n: int
    ties: list[dict] = field(default_factory=list)


def recommend(agg: pd.DataFrame, *, variables: Sequence[str], loss: str,
              time: str, image: str | None = None,
              evaluations: str | None = None,
              budgets: Mapping | None = None, status: str = "status",
              tie_rtol: float = 0.02) -> list[Recommendation]:
    """Per image and budget, the ``ok`` configuration with the lowest median loss.

    Within a budget (median ``time``, and separately median ``evaluations``
    when given and recorded, at most the budget), the best is the lowest median
    loss; configurations whose seed range reaches the best's (their min at
    most the best's max), or within ``tie_rtol`` of it when either has one
    run, are its ties.

    Parameters
    ----------
    agg
        From :func:`aggregate` (``status``, ``n``, ``<loss>_min/_max``).
    budgets
        ``{image: [seconds]}`` (default :func:`time_budgets`); evaluation
        budgets are always :func:`time_budgets` of the evaluations.
    """
    image_key = _keys(agg, _present(agg, [image]))
    columns = [c for c in facets.varying(agg, variables) if c != image]
    ok = agg[status] == OK if status in agg.columns else pd.Series(True, agg.index)
    plans = [(time, "s", budgets or time_budgets(agg, time=time, loss=loss,
                                                image=image, status=status))]
    if evaluations and evaluations in agg.columns and agg[evaluations].notna().any():
        plans.append((evaluations, "evaluations", time_budgets(
            agg, time=evaluations, loss=loss, image=image, status=status)))
    out = []
    for cost, unit, plan in plans:
        for key, values in plan.items():
            part = agg[(image_key == key) & ok]
            for budget in values:
                within = part[part[cost] <= budget].sort_values(
                    [loss, cost], kind="stable")
                if not len(within):
                    continue
                best = within.iloc[0]
                high = best.get(f"{loss}_max", best[loss])
                ties = []
                for _, row in within.iloc[1:].iterrows():
                    low = row.get(f"{loss}_min", row[loss])
                    single = min(best.get("n", 1), row.get("n", 1)) <= 1
                    if (low <= high and not single) or \
                            row[loss] <= best[loss] * (1 + tie_rtol):
                        ties.append({c: row[c] for c in [*columns, loss, cost]})
                out.append(Recommendation(
                    image=key, budget=budget, unit=unit,
                    best={c: best[c] for c in columns}, loss=float(best[loss]),
                    loss_min=float(best.get(f"{loss}_min", best[loss])),
                    loss_max=float(high), cost=float(best[cost]),
                    n=int(best.get("n", 1)), ties=ties))
    return out


def recommendation_text(recs: Sequence[Recommendation],
                        labels: Mapping | None = None,
                        max_ties: int = 3) -> list[str]:
    """The recommendations in words, one paragraph per image."""
    lines = []
    current = None
    for rec in recs:
        if rec.image != current:
            current = rec.image
            lines.append(f"{rec.image.replace(chr(31), ' / ')}: what to use")
        columns = list(rec.best)
        spread = (f", {rec.loss_min:.3g}-{rec.loss_max:.3g} over {rec.n} seeds"
                  if rec.n > 1 else ", one run: no spread known")
        unit = " s" if rec.unit == "s" else " evaluations"
        text = (f"  within {rec.budget:g}{unit}: "
                f"{describe(rec.best, columns, labels)} (median loss "
                f"{rec.loss:.3g}{spread}; {rec.cost:.3g}{unit})")
        if rec.ties:
            shown = "; ".join(describe(t, columns, labels)
                              for t in rec.ties[:max_ties])
            more = (f" and {len(rec.ties) - max_ties} more"
                    if len(rec.ties) > max_ties else "")
            text += f"; tied with {shown}{more} (their seed ranges overlap)"
        lines.append(text)
    return lines


# ---------------------------------------------------------------- guidance


def _matches(series: pd.Series, level) -> pd.Series:
    wanted = facets.as_number(level)
    if wanted is not None and not isinstance(level, bool):
        numbers = series.map(facets.as_number)
        return numbers.map(lambda v: v is not None and math.isclose(v, wanted))
    return facets.format_levels(series) == facets.format_level(level)


@dataclass
class GuidanceResult:
    """A given configuration against the front of one image."""

    image: str
    found: bool
    statement: str
    ratio: float = math.nan


def guidance_comparison(agg: pd.DataFrame, guidance: Mapping, *, loss: str,
                        time: str, image: str | None = None,
                        variables: Sequence[str] = (), status: str = "status",
                        labels: Mapping | None = None,
                        name: str = "the published guidance",
                        frame: pd.DataFrame | None = None) -> list[GuidanceResult]:
    """How ``guidance`` (variable -> level) compares with each image's front.

    Guidance variables that are not columns of ``agg`` are named: with
    ``frame`` (the runs), a column fixed there at another level than the
    guidance's is said (the comparison is then not of the guidance), one
    missing from it is said to be unrecorded. A level that never ran makes the
    comparison impossible, and says so. Among the rows matching the
    guidance (other varying variables free), the lowest median loss is
    compared: its time over the time of the front's fastest configuration
    reaching at most that loss.
    """
    image_key = _keys(agg, _present(agg, [image]))
    absent = [k for k in guidance if k not in agg.columns]
    unrecorded, differ = [], []
    for column in absent:
        if frame is None or column not in frame.columns:
            unrecorded.append(_label(labels, column))
        elif not _matches(frame[column], guidance[column]).all():
            ran = "/".join(map(facets.format_level, facets.order_levels(frame[column])))
            differ.append(f"{_label(labels, column)} ran at {ran}")
    free = [c for c in facets.varying(agg, variables)
            if c not in guidance and c != image]
    gtext = ", ".join(f"{_label(labels, k)}={facets.format_level(v)}"
                      for k, v in guidance.items())
    out = []
    for key in dict.fromkeys(image_key):
        part = agg[image_key == key]
        head = key.replace("\x1f", " / ")
        mask = pd.Series(True, index=part.index)
        missing = []
        for column, level in guidance.items():
            if column in part.columns:
                hit = _matches(part[column], level)
                if not hit.any():
                    missing.append(f"{_label(labels, column)}="
                                   f"{facets.format_level(level)}")
                mask &= hit
        if missing or not mask.any():
            why = ", ".join(missing) or "that combination"
            out.append(GuidanceResult(key, False, (
                f"{head}: {name} ({gtext}) is not in this table ({why} never "
                "ran): no comparison")))
            continue
        rows = part[mask].sort_values([loss, time], kind="stable")
        mine = rows.iloc[0]
        note = ""
        if unrecorded:
            note += (" (" + ", ".join(unrecorded) + " not recorded in this "
                     "table: compared as the runs were made)")
        if differ:
            note += (" (NOT the guidance: " + ", ".join(differ) + ")")
        if free and len(rows) > 1:
            note += f" (best of its {len(rows)} rows over {', '.join(free)})"
        if status in mine and mine[status] != OK:
            out.append(GuidanceResult(key, True, (
                f"{head}: {name} ({gtext}) runs are {mine[status]}{note}")))
            continue
        on = front(part, time, loss, status=status)
        reach = part[on & (part[loss] <= mine[loss])]
        fastest = reach.sort_values(time, kind="stable").iloc[0] if len(reach) \
            else mine
        ratio = float(mine[time]) / float(fastest[time])
        if ratio <= 1.005:
            verdict = ("is on the front (nothing reaches its loss faster)"
                       if ratio <= 1.0 + 1e-9 else
                       f"matches the front ({ratio:.3f}x its time at equal loss)")
        else:
            shown = free + [c for c in guidance if c in part]
            verdict = (f"takes {ratio:.2f}x the time of the front at equal loss "
                       f"(front: {describe(fastest, shown, labels)}, "
                       f"loss {fastest[loss]:.3g} in {fastest[time]:.3g} s)")
        out.append(GuidanceResult(key, True, (
            f"{head}: {name} ({gtext}) reaches loss {mine[loss]:.3g} in "
            f"{mine[time]:.3g} s and {verdict}{note}"), ratio))
    return out


def guidance_text(results: Sequence[GuidanceResult]) -> list[str]:
    """The comparison in words, one line per image."""
    return [r.statement for r in results]


# ---------------------------------------------------------------- success


def success_ranking(frame: pd.DataFrame, by: Sequence[str], *, loss: str,
                    time: str, evaluations: str = "evaluations",
                    status: pd.DataFrame | pd.Series | None = None,
                    labels: Mapping | None = None,
                    top: int = 3) -> tuple[pd.DataFrame, list[str]]:
    """The success table of the ``ok`` runs and what it can honestly say.

    Without a representation-error column the criterion is the loss alone
    ("loss criterion only"). Configurations are ranked by the median time to
    reach the criterion only when trajectories say when it was reached
    (``reach_from`` is ``trajectory``); whole-run times do not say when, so
    then no ranking is given.

    Returns
    -------
    table, lines
        :func:`facets.success_table` (``ranked`` column added: the rank, or
        NaN) and lines for ``summary.txt``.
    """
    kinds = None
    if status is not None:
        kinds = status["status"] if isinstance(status, pd.DataFrame) else status
        frame = frame[kinds.reindex(frame.index).fillna(OK) == OK]
    table = facets.success_table(frame, by, loss=loss, time=time,
                                 evaluations=evaluations)
    has_rep = ("max_abs_rep_error" in frame.columns
               and pd.to_numeric(frame["max_abs_rep_error"],
                                 errors="coerce").notna().any())
    criterion = success.CRITERION if has_rep else (
        f"loss criterion only (loss <= {success.SUCCESS_LOSS:g}; no "
        "representation error in this table)")
    lines = [f"success: {criterion}"]
    if kinds is not None and (kinds != OK).any():
        lines.append(f"  {int((kinds != OK).sum())} stalled or diverged run(s) "
                     "left out")
    full = table[table["share"] >= 1.0]
    lines.append(f"  {len(full)} of {len(table)} configuration(s) reach it in "
                 f"every run; {int((table['share'] > 0).sum())} in at least one")
    timed = table[(table["n_success"] > 0)
                  & table["reach_from"].str.startswith("trajectory")
                  & ~table["reach_from"].str.contains(",")]
    table["ranked"] = np.nan
    if len(timed):
        order = timed.sort_values(["share", "median_seconds_to_success"],
                                  ascending=[False, True])
        table.loc[order.index, "ranked"] = range(1, len(order) + 1)
        columns = [c for c in by if c in table.columns]
        lines.append("  fastest to reach it (median seconds to the loss, from "
                     "the trajectories):")
        for _, row in order.head(top).iterrows():
            lines.append(f"    {describe(row, columns, labels)}: "
                         f"{row['n_success']}/{row['n']} runs, "
                         f"{row['median_seconds_to_success']:.3g} s")
    elif not (table["n_success"] > 0).any():
        lines.append("  not ranked: no run reaches it")
    else:
        lines.append("  not ranked: no trajectories, so when each run reached "
                     "it is unknown (whole-run times would rank stopping, not "
                     "speed)")
    return table, lines


# ---------------------------------------------------------------- all of it


@dataclass
class Decision:
    """Everything :func:`decide` found, and its text.

    Attributes
    ----------
    no_ops
        :func:`no_op_variables`.
    frame
        The runs, no-op variables collapsed (:func:`collapse`).
    status
        :func:`classify_runs` of ``frame``.
    agg
        :func:`aggregate` of ``frame`` by image and varying variables.
    config
        The columns of a configuration (image first).
    on_front
        :func:`front` of ``agg`` (seconds against loss, per image).
    recommendations, guidance
        :func:`recommend`, :func:`guidance_comparison` (empty without one).
    lines
        The decision in words, for ``conclusion.txt`` and ``summary.txt``:
        no-ops, stalls, recommendations, guidance.
    """

    no_ops: list
    frame: pd.DataFrame
    status: pd.DataFrame
    agg: pd.DataFrame
    config: list
    on_front: pd.Series
    recommendations: list
    guidance: list
    lines: list


def decide(frame: pd.DataFrame, *, variables: Sequence[str], loss: str,
           time: str, image: str | None = None, seed: str | None = None,
           iterations: str | None = None, evaluations: str | None = None,
           budget_variables: Sequence[str] = (),
           initial_loss: str | None = None,
           trajectories: pd.DataFrame | None = None, run: str | None = None,
           guidance: Mapping | None = None, guidance_name: str =
           "the published guidance", labels: Mapping | None = None,
           values: Sequence[str] = ()) -> Decision:
    """No-ops, stalls, status-aware medians, front, recommendation, guidance.

    The same rules for every experiment: pass the experiment's columns (its
    swept ``variables``, ``image``, ``seed``, ``loss``, ``time``, and where
    recorded ``iterations``, ``evaluations``, ``initial_loss``,
    ``trajectories``) and the settings that set how much work a run may do
    (``budget_variables``). ``values``: more columns to aggregate.
    """
    no_ops = no_op_variables(frame, variables, loss=loss, image=image,
                             iterations=iterations, evaluations=evaluations,
                             seed=seed, labels=labels)
    frame = collapse(frame, no_ops)
    status = classify_runs(frame, loss=loss, image=image, variables=variables,
                           budget_variables=budget_variables, seed=seed,
                           initial_loss=initial_loss, trajectories=trajectories,
                           run=run)
    config = _present(frame, [image, *facets.varying(frame, variables)])
    measured = _present(frame, [loss, time, iterations, evaluations, *values])
    agg = aggregate(frame, config, measured, status)
    on = front(agg, time, loss, by=_present(agg, [image]))
    recs = recommend(agg, variables=variables, loss=loss, time=time, image=image,
                     evaluations=evaluations)
    compared = guidance_comparison(
        agg, guidance, loss=loss, time=time, image=image, variables=variables,
        labels=labels, name=guidance_name, frame=frame) if guidance else []
    lines = [op.statement for op in no_ops]
    lines += status_text(status, frame, variables, image, labels)
    lines += recommendation_text(recs, labels)
    lines += guidance_text(compared)
    return Decision(no_ops, frame, status, agg, config, on, recs, compared, lines)
