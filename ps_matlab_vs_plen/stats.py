"""The decision: best method per time budget (or a tie), what the winner loses, success.

Every function takes the gathered table (one row per kept metamer x loss
function x statistic group, :func:`ps_matlab_vs_plen.summarize.normalize`)
and aggregates over seeds itself: a configuration is (image, curve,
iterations); its loss and time are medians over seeds, its interval the
min-max over seeds.
"""

from __future__ import annotations

import math

import pandas as pd

from plenexp.summary import facets
from plenexp.synth import success

#: Time columns a budget can be stated in, and how to say them.
TIMES = {"synth_duration": "synthesis time (s)",
         "process_duration": "whole-process time (s)"}
#: The identifying columns of one configuration (seeds aggregated).
CONFIG = ["img", "curve", "synth_iters"]


def ladder(low: float, high: float) -> list[float]:
    """1-2-5 values from the first at or above ``low`` to the first above ``high``.

    (The last is the first at or above ``high``.)
    """
    if not (low > 0 and math.isfinite(low) and math.isfinite(high)):
        return []
    values = []
    exponent = math.floor(math.log10(low))
    while True:
        for mantissa in (1, 2, 5):
            value = round(mantissa * 10.0**exponent, 10)
            if value >= low * (1 - 1e-9):
                values.append(value)
                if value >= high * (1 - 1e-9):
                    return values
        exponent += 1


def overall(frame: pd.DataFrame, loss_func: str = "l2_norm") -> pd.DataFrame:
    """The overall-loss rows of one loss function."""
    return frame[(frame["loss_func"] == loss_func)
                 & (frame["loss_type"] == "overall")]


def configurations(frame: pd.DataFrame, loss_func: str = "l2_norm",
                   loss_type: str = "overall") -> pd.DataFrame:
    """One row per configuration: medians, min and max over seeds, and ``n``."""
    sub = frame[(frame["loss_func"] == loss_func) & (frame["loss_type"] == loss_type)]
    return facets.aggregate(sub, [*CONFIG, "method", "platform"],
                            ["loss", *TIMES, "evaluations"])


def _tie_label(names: list[str]) -> str:
    return "tie: " + " ≈ ".join(names)


def best_by_budget(frame: pd.DataFrame, time: str = "synth_duration",
                   loss_func: str = "l2_norm") -> pd.DataFrame:
    """For each image and 1-2-5 time budget, the method with the lowest loss.

    A configuration fits a budget if its median time over seeds is within it;
    each curve (method on one engine, device and host) is represented by its
    best fitting configuration (lowest median loss). The winner is named
    only when its loss interval over seeds (min-max) does not overlap the
    runner-up's; otherwise ``best_method`` is ``tie: A ≈ B`` listing every
    curve whose interval overlaps the best one's.

    Returns
    -------
    table
        One row per (image, budget): ``best_method`` (winner or tie),
        ``winner`` (empty on a tie), the best curve's median loss, interval,
        iterations, median time and ``n``, the runner-up's, and each curve's
        best median loss as ``loss[<curve>]``.
    """
    configs = configurations(frame, loss_func)
    configs = configs[configs[time].notna()]
    rows = []
    for img in facets.order_levels(configs["img"]):
        data = configs[configs["img"] == img]
        curves = facets.order_levels(data["curve"])
        for budget in ladder(data[time].min(), data[time].max()):
            fits = data[data[time] <= budget * (1 + 1e-9)]
            best = (fits.sort_values("loss", kind="stable").groupby("curve",
                                                                    sort=False)
                    .head(1).reset_index(drop=True))
            top = best.iloc[0]
            tied = [c for c, low in zip(best["curve"][1:], best["loss_min"][1:],
                                        strict=True) if low <= top["loss_max"]]
            row = {"img": img, "time": time, "loss_func": loss_func,
                   "budget_s": budget,
                   "best_method": _tie_label([top["curve"], *tied]) if tied
                   else top["curve"],
                   "winner": "" if tied else top["curve"],
                   "best_loss": top["loss"], "best_loss_min": top["loss_min"],
                   "best_loss_max": top["loss_max"],
                   "best_synth_iters": int(top["synth_iters"]),
                   "best_time": top[time], "best_n": int(top["n"])}
            if len(best) > 1:
                second = best.iloc[1]
                row.update(runner_up=second["curve"], runner_up_loss=second["loss"],
                           runner_up_loss_min=second["loss_min"],
                           runner_up_loss_max=second["loss_max"])
            else:
                row.update(runner_up="", runner_up_loss=math.nan,
                           runner_up_loss_min=math.nan, runner_up_loss_max=math.nan)
            by_curve = dict(zip(best["curve"], best["loss"], strict=True))
            row.update({f"loss[{c}]": by_curve.get(c, math.nan) for c in curves})
            rows.append(row)
    return pd.DataFrame(rows)


def _group_losses(by_group: pd.DataFrame, img, curve: str, iters) -> pd.Series:
    """Median loss by statistic group of one configuration."""
    rows = by_group[(by_group["img"] == img) & (by_group["curve"] == curve)
                    & (by_group["synth_iters"] == iters)]
    return rows.set_index("loss_type")["loss"]


def groups_lost(frame: pd.DataFrame, best: pd.DataFrame,
                loss_func: str = "l2_norm") -> pd.DataFrame:
    """Per image, the statistic groups on which the overall winner loses.

    The overall winner of an image is the best curve at its largest
    synthesis-time budget (lowest median loss, named even on a tie, which the
    ``tie`` column then says). Each other curve is taken at its best
    configuration within that budget; a group is lost where the other
    curve's median loss on that group is lower.

    Returns
    -------
    table
        ``img``, ``budget_s``, ``winner``, ``tie``, ``other``, ``group``,
        ``winner_loss``, ``other_loss`` (medians over seeds), one row per
        group lost.
    """
    rows = []
    sub = best[best["time"] == "synth_duration"]
    groups = frame[(frame["loss_func"] == loss_func)
                   & (frame["loss_type"] != "overall")]
    by_group = facets.aggregate(groups, [*CONFIG, "loss_type"], ["loss"])
    configs = configurations(frame, loss_func)
    for img, part in sub.groupby("img", sort=False):
        last = part.loc[part["budget_s"].idxmax()]
        data = configs[(configs["img"] == img)
                       & (configs["synth_duration"] <= last["budget_s"] * (1 + 1e-9))]
        picks = (data.sort_values("loss", kind="stable").groupby("curve", sort=False)
                 .head(1).set_index("curve"))
        winner = picks.index[0]
        mine = _group_losses(by_group, img, winner, picks.loc[winner, "synth_iters"])
        for other in picks.index[1:]:
            theirs = _group_losses(by_group, img, other,
                                   picks.loc[other, "synth_iters"])
            for group in facets.order_levels(mine.index.intersection(theirs.index)):
                if theirs[group] < mine[group]:
                    rows.append({"img": img, "budget_s": last["budget_s"],
                                 "winner": winner, "tie": not last["winner"],
                                 "other": other, "group": group,
                                 "winner_loss": mine[group],
                                 "other_loss": theirs[group]})
    return pd.DataFrame(rows, columns=["img", "budget_s", "winner", "tie", "other",
                                       "group", "winner_loss", "other_loss"])


def success_by_method(frame: pd.DataFrame, time: str = "synth_duration"
                      ) -> pd.DataFrame:
    """Per image and curve: the share of seeds reaching plenoptic's success.

    A kept metamer succeeds when its overall L2 loss is at most
    :data:`plenexp.synth.success.SUCCESS_LOSS` and every statistic of its
    representation error is within :data:`plenexp.synth.success.SUCCESS_REP_ERROR`
    (the ``max_abs`` overall row). A seed reaches success if any of its
    budgets does; the time (and evaluations) to reach it is that of its
    shortest successful budget, so it is known to the budget ladder's
    resolution (an upper bound).

    Returns
    -------
    table
        ``img``, ``curve``, ``n_seeds``, ``n_success``, ``share``,
        ``median_seconds_to_success``, ``median_evaluations_to_success``,
        ``criterion``.
    """
    keys = ["img", "curve", "seed", "synth_iters"]
    l2 = overall(frame, "l2_norm").drop_duplicates(keys).set_index(keys)
    worst = overall(frame, "max_abs").drop_duplicates(keys).set_index(keys)["loss"]
    states = l2.assign(max_abs=worst.reindex(l2.index)).reset_index()
    states["ok"] = (states["loss"] <= success.SUCCESS_LOSS) & \
        (states["max_abs"] <= success.SUCCESS_REP_ERROR)
    rows = []
    for (img, curve), part in states.groupby(["img", "curve"], sort=False):
        firsts = (part[part["ok"]].sort_values(time, kind="stable")
                  .groupby("seed", sort=False).head(1))
        n_seeds = part["seed"].nunique()
        rows.append({"img": img, "curve": curve, "n_seeds": n_seeds,
                     "n_success": len(firsts),
                     "share": len(firsts) / n_seeds if n_seeds else math.nan,
                     "median_seconds_to_success": firsts[time].median(),
                     "median_evaluations_to_success":
                         pd.to_numeric(firsts["evaluations"], errors="coerce")
                         .median(),
                     "criterion": success.CRITERION})
    table = pd.DataFrame(rows)
    return facets.sort_frame(table, ["img", "curve"]) if len(table) else table


def _g(value: float) -> str:
    return "-" if value != value else f"{value:.3g}"


def format_best(best: pd.DataFrame) -> list[str]:
    """The best-method table as text lines."""
    lines = []
    for (img, time), part in best.groupby(["img", "time"], sort=False):
        lines.append(f"{img}, budget on {TIMES[time]}, lowest median "
                     f"{part['loss_func'].iloc[0]} loss (interval: min-max over "
                     "seeds):")
        for row in part.itertuples():
            runner = (f"; next {row.runner_up} {_g(row.runner_up_loss)} "
                      f"[{_g(row.runner_up_loss_min)}, {_g(row.runner_up_loss_max)}]"
                      if row.runner_up else "")
            lines.append(
                f"  <= {row.budget_s:>6g} s: {row.best_method} {_g(row.best_loss)} "
                f"[{_g(row.best_loss_min)}, {_g(row.best_loss_max)}] "
                f"({row.best_synth_iters} it, {row.best_time:.2g} s, "
                f"n={row.best_n}){runner}")
    return lines


def format_groups_lost(lost: pd.DataFrame, best: pd.DataFrame) -> list[str]:
    """Per image, which statistic groups the overall winner loses, as text."""
    lines = []
    sub = best[best["time"] == "synth_duration"]
    for img, part in sub.groupby("img", sort=False):
        last = part.loc[part["budget_s"].idxmax()]
        mine = lost[lost["img"] == img]
        head = (f"{img}: overall winner at <= {last['budget_s']:g} s: "
                f"{last['best_method']}")
        if last["best_method"] == last["winner"] and not last["runner_up"]:
            lines.append(f"{head}, the only method on this image.")
            continue
        if not len(mine):
            lines.append(f"{head}; it loses no statistic group to any other "
                         "method.")
            continue
        lines.append(f"{head}; statistic groups it loses (median "
                     f"{mine['winner'].iloc[0]} vs the other's):")
        for other, rows in mine.groupby("other", sort=False):
            lost_text = ", ".join(f"{r.group} ({_g(r.winner_loss)} vs "
                                  f"{_g(r.other_loss)})" for r in rows.itertuples())
            lines.append(f"  to {other}: {lost_text}")
    return lines


def format_success(table: pd.DataFrame) -> list[str]:
    """Success share and median time/evaluations to reach it, as text."""
    if not len(table):
        return []
    lines = [f"success: {table['criterion'].iloc[0]}; share of seeds reaching it "
             "within the largest budget, median time (and evaluations) of the "
             "first budget that reached it:"]
    for row in table.itertuples():
        reached = (f", median {row.median_seconds_to_success:.3g} s"
                   + (f", {row.median_evaluations_to_success:.0f} evaluations"
                      if row.median_evaluations_to_success
                      == row.median_evaluations_to_success else "")
                   if row.n_success else "")
        lines.append(f"  {row.img}, {row.curve}: {row.n_success}/{row.n_seeds} "
                     f"seeds ({row.share:.0%}){reached}")
    return lines


#: The first words of every MATLAB textureSynth curve.
MATLAB_METHOD = "textureSynth"


def matlab_ran(best: pd.DataFrame) -> bool:
    """Whether any textureSynth curve is among the best-method table's curves."""
    return any(str(column).startswith(f"loss[{MATLAB_METHOD}")
               for column in best.columns)


def conclusion(best: pd.DataFrame, lost: pd.DataFrame, reached: pd.DataFrame,
               matlab: bool | None = None) -> str:
    """The decision in a few plain sentences, one paragraph per image.

    Which method wins each synthesis-time budget (ties said as ties), what
    the overall winner still loses, and whether any method met plenoptic's
    success criterion. When no MATLAB textureSynth result is in the table
    (``matlab`` false; ``None``: as :func:`matlab_ran` finds), it says so
    first: the comparison is then between plenoptic's methods only.
    """
    paragraphs = []
    if not (matlab_ran(best) if matlab is None else matlab):
        paragraphs.append("MATLAB textureSynth never ran: the table has no "
                          "textureSynth rows, so this compares plenoptic's "
                          "methods only.")
    sub = best[best["time"] == "synth_duration"]
    for img, part in sub.groupby("img", sort=False):
        verdicts = []
        for row in part.itertuples():
            verdict = (f"a tie ({row.best_method.removeprefix('tie: ')})"
                       if not row.winner else f"{row.winner} ({_g(row.best_loss)})")
            verdicts.append(f"≤ {row.budget_s:g} s {verdict}")
        text = (f"{img}, lowest median overall L2 loss per synthesis-time budget "
                f"(a winner only outside the other's min–max over seeds): "
                f"{'; '.join(verdicts)}.")
        mine = lost[lost["img"] == img]
        if len(mine):
            by_other = [f"{', '.join(rows['group'])} to {other}"
                        for other, rows in mine.groupby("other", sort=False)]
            text += (f" At the largest budget, {mine['winner'].iloc[0]} still "
                     f"loses {'; '.join(by_other)}.")
        ok = reached[(reached["img"] == img) & (reached["n_success"] > 0)]
        if len(ok):
            text += " Plenoptic's success criterion was met by " + "; ".join(
                f"{r.curve} in {r.n_success} of {r.n_seeds} seeds"
                for r in ok.itertuples()) + "."
        elif len(reached):
            text += " No method met plenoptic's success criterion."
        paragraphs.append(text)
    return "\n\n".join(paragraphs)
