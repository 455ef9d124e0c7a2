"""Gather every result's loss table into all_loss.csv; draw the summary; say who wins.

Every point is one configuration (method on one engine, device and host;
image; iterations): the median over seeds, bars min to max over seeds in loss
and in time, n in the caption; one row of panels per image. In the summary
directory (SVG + PNG):

- overall_<func>: overall loss against synthesis time, beside loss against
  PS model evaluations (plenoptic runs; the same on every machine);
- overall_<func>_vs_process_duration: against the whole process's time;
- groups_<func>: one panel per PS statistic group;
- trajectories: the objective each plenoptic run minimised, step by step;
- metamers/<img>_seed-<N>: metamers at equal synthesis-time budgets (rows =
  methods, columns = 1-2-5 budgets, one grey range).

best_method.csv: per image and 1-2-5 budget, the method whose best
configuration within the budget has the lowest median loss, named only when
its min-max interval over seeds does not overlap the runner-up's (else
"tie: A ≈ B"); groups_lost.csv: the statistic groups on which each image's
overall winner is beaten; success.csv: the share of seeds reaching
plenoptic's success criterion and the median time to reach it. Their text is
summary.txt (also printed); conclusion.txt says the decision in a few
sentences (and plainly when no MATLAB run is in the table); timing.txt says
where the time went. ``--from-csv`` re-plots an existing all_loss.csv
(no metamers, no trajectories: those need the runs).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli, errors
from plenexp.errors import UsageError
from plenexp.summary.aside import publishes_aside
from ps_matlab_vs_plen.write_disbatch import EXPERIMENT, seed_of

if TYPE_CHECKING:
    import pandas as pd

    from plenexp.summary import facets

#: Loss functions the summary can plot (every one ``loss.csv`` holds).
LOSS_FUNCS = ("l2_norm", "mse", "sse", "max_abs")
#: The columns that set what one step costs, for ``timing.txt``.
CONFIG_COLUMNS = ("img", "optimizer", "method", "res_highpass_weight")


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
    ``method`` (:func:`ps_matlab_vs_plen.run.method_label`), ``platform``
    (device and host) and ``curve``: the method, with the platform when the
    table holds more than one, so runs of different engines, devices or hosts
    never share a curve.
    """
    import pandas as pd

    from ps_matlab_vs_plen.run import method_label

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
    import pandas as pd

    from plenexp.runs import results
    from ps_matlab_vs_plen.run import LOSS_TABLE

    if from_csv is not None:
        return pd.read_csv(from_csv)
    rows, problems = results.gather(input_dir, LOSS_TABLE,
                                    required=REQUIRED_COLUMNS,
                                    non_negative=("loss",),
                                    measured=("synth_duration", "init_duration",
                                              "process_duration"))
    errors.report(problems)
    if not rows:
        raise UsageError(f"no analysed results under {input_dir} (run analyze.py "
                         "on the finished runs first)")
    return pd.DataFrame.from_records(rows)


@publishes_aside
def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None,
              loss_funcs: Iterable[str] = ("l2_norm",),
              metamers: bool = True) -> pd.DataFrame:
    """Write all_loss.csv, the figures, and the decision tables and text.

    Files in ``output_dir``: ``all_loss.csv``; ``best_method.csv``,
    ``groups_lost.csv``, ``success.csv`` and ``summary.txt`` (their text);
    ``conclusion.txt`` (the decision in a few sentences); ``timing.txt``;
    the loss figures (:func:`summary_figures`); with ``metamers`` and not
    ``from_csv``, the metamers at equal budgets (:func:`metamer_grids`: they
    need the runs' files) in ``metamers/``.

    Returns
    -------
    frame
        The gathered, normalized table.
    """
    import pandas as pd

    from plenexp.runs import results
    from plenexp.summary import timing_report
    from ps_matlab_vs_plen import stats

    frame = normalize(read_table(input_dir, from_csv))
    output_dir.mkdir(parents=True, exist_ok=True)  # not before: no empty summary
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    loss_funcs = list(loss_funcs)
    summary_figures(frame, output_dir, loss_funcs)
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
        stats.conclusion(best, lost, reached,
                         (frame["optimizer"] == stats.MATLAB_METHOD).any()) + "\n")
    timing_report.write(frame, output_dir, config_columns=CONFIG_COLUMNS)
    if metamers and from_csv is None:
        metamer_grids(frame, output_dir / "metamers")
    return frame


# ---------------------------------------------------------------- figures

NAMES = {"l2_norm": "L2 norm", "mse": "mean squared error",
         "sse": "sum of squared errors", "max_abs": "largest absolute error"}
XLABELS = {"synth_duration": "synthesis time (s)",
           "process_duration": "whole-process time (s)",
           "evaluations": "PS model evaluations"}
LABELS = {"img": "image", "loss_type": "group", "platform": "device and host"}
NO_EVALUATIONS = "textureSynth: no evaluation count (time panels only)"
#: Short names of the PS statistic groups, for panel titles.
GROUP_NAMES = {
    "pixel_statistics": "pixel stats",
    "auto_correlation_magnitude": "autocorr. magnitude",
    "skew_reconstructed": "skew (recon.)",
    "kurtosis_reconstructed": "kurtosis (recon.)",
    "auto_correlation_reconstructed": "autocorr. (recon.)",
    "std_reconstructed": "std (recon.)",
    "cross_orientation_correlation_magnitude": "cross-orient. corr. magn.",
    "magnitude_std": "magnitude std",
    "cross_scale_correlation_magnitude": "cross-scale corr. magn.",
    "cross_scale_correlation_real": "cross-scale corr. real",
    "var_highpass_residual": "var. highpass residual",
}


def encoding(agg: pd.DataFrame, **kwargs) -> facets.Encoding:
    """Colour = method, marker = device and host (when several)."""
    from plenexp.summary import facets

    return facets.choose_encoding(agg, ["method", "platform"], image="img",
                                  labels=LABELS, hue_first=["method"], **kwargs)


def join_budgets(fig, agg: pd.DataFrame, xs: list[str], enc: facets.Encoding,
                 group: str | None = None) -> None:
    """Join each curve's points in iteration order, in every panel of ``fig``.

    A curve is one method on one engine, device and host. Panels are matched
    by their title (image, then ``<group label>=<level>``) and x label; each
    line carries its image's gid, like the points.
    """
    from plenexp.summary import facet_grid, facets

    colours = (facet_grid.palette(facets.order_levels(agg[enc.hue])) if enc.hue
               else {})
    columns = {XLABELS.get(x, x): x for x in xs}
    for ax in fig.axes:
        x = columns.get(ax.get_xlabel())
        if not ax.axison or x is None:
            continue
        title = ax.get_title()
        image, _, rest = title.partition(facet_grid.TITLE_SEP)
        cell = agg[facets.format_levels(agg["img"]) == image]
        if group is not None:
            level = rest.partition("=")[2]
            cell = cell[facets.format_levels(cell[group]) == level]
        for curve, part in cell.groupby("curve", sort=False):
            part = part.dropna(subset=[x, "loss"]).sort_values("synth_iters")
            colour = colours.get(facets.format_level(part[enc.hue].iloc[0]), "C0") \
                if enc.hue and len(part) else "C0"
            if len(part) > 1:
                (line,) = ax.plot(part[x], part["loss"], color=colour,
                                  linewidth=1, alpha=0.7, zorder=1.5,
                                  label=f"_budgets {curve}")
                line.set_gid(f"image:{image}")


def title_beside_legend(fig, lines: list[str]) -> None:
    """Centre the figure title over the panels, wrapped clear of the legend.

    The legend sits at the right, as wide as its labels (method names are
    long); the title is wrapped to the room left of it.
    """
    from plenexp.summary import facet_grid

    if not fig.legends:
        return
    fig.canvas.draw()
    left = fig.legends[0].get_window_extent(fig.canvas.get_renderer()).x0 \
        / fig.bbox.width
    fig.suptitle(facet_grid.wrap_title(lines, left * fig.get_figwidth(), legend_w=0.2),
                 x=left / 2, fontsize=9.5)


def loss_figure(frame: pd.DataFrame, loss_func: str, xs: list[str],
                title: str, note: str = ""):
    """Overall loss against each of ``xs``, side by side, one row per image."""
    from plenexp.summary import facet_grid
    from ps_matlab_vs_plen import stats

    agg = stats.configurations(frame, loss_func)
    agg = agg[agg[xs[0]].notna()]
    enc = encoding(agg)
    fig = facet_grid.scatter_grid(agg, xs, "loss", enc, xlabels=XLABELS,
                                  ylabel=f"PS loss ({NAMES[loss_func]}, overall)",
                                  title=title, note=note)
    join_budgets(fig, agg, xs, enc)
    title_beside_legend(fig, [title, facet_grid.caption(agg), note])
    return fig


def groups_figure(frame: pd.DataFrame, loss_func: str, per_row: int = 4):
    """One panel per image and statistic group: loss against synthesis time.

    Groups differ by orders of magnitude, so every panel has its own y axis;
    each image's panels form a block of rows. Points are medians over seeds,
    bars min-max in loss and time, a line joins each curve's budgets.
    """
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.lines import Line2D

    from plenexp.summary import axis_ticks, facet_grid, facets
    from ps_matlab_vs_plen import stats

    parts = [stats.configurations(frame, loss_func, group)
             .assign(loss_type=GROUP_NAMES.get(group, group))
             for group in facets.order_levels(
                 frame.loc[frame["loss_type"] != "overall", "loss_type"])]
    agg = pd.concat(parts, ignore_index=True).dropna(subset=["synth_duration"])
    enc = encoding(agg)
    colours = facet_grid.palette(facets.order_levels(agg[enc.hue])) if enc.hue else {}
    markers = ({facets.format_level(v): facets.MARKERS[i % len(facets.MARKERS)]
                for i, v in enumerate(facets.order_levels(agg[enc.marker]))}
               if enc.marker else {})
    images = facets.order_levels(agg["img"])
    groups = facets.order_levels(agg["loss_type"])
    block = -(-len(groups) // per_row)
    fig, axes = plt.subplots(block * len(images), per_row, squeeze=False,
                             figsize=(3.1 * per_row + 2.6,
                                      2.45 * block * len(images) + 0.9),
                             layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    for i_img, img in enumerate(images):
        for i_group, group in enumerate(groups):
            ax = axes[i_img * block + i_group // per_row, i_group % per_row]
            ax.set_axis_on()
            cell = agg[(agg["img"] == img) & (agg["loss_type"] == group)]
            for _, part in cell.groupby("curve", sort=False):
                part = part.sort_values("synth_iters")
                first = part.iloc[0]
                colour = colours.get(facets.format_level(first[enc.hue]), "C0") \
                    if enc.hue else "C0"
                marker = markers.get(facets.format_level(first[enc.marker]), "o") \
                    if enc.marker else "o"
                bars = ax.errorbar(
                    part["synth_duration"], part["loss"],
                    xerr=[part["synth_duration"] - part["synth_duration_min"],
                          part["synth_duration_max"] - part["synth_duration"]],
                    yerr=[part["loss"] - part["loss_min"],
                          part["loss_max"] - part["loss"]],
                    color=colour, marker=marker, markersize=4, linewidth=1,
                    elinewidth=0.7, alpha=0.85)
                for artist in bars.get_children():
                    artist.set_gid(f"image:{img}")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{img}{facet_grid.TITLE_SEP}{group}", fontsize=8.5)
            ax.set_xlabel(XLABELS["synth_duration"], fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(True, linewidth=0.4, alpha=0.5)
            ax.minorticks_off()
            axis_ticks.tidy_axis(ax.xaxis)
            axis_ticks.tidy_axis(ax.yaxis)
            if i_group % per_row == 0:
                ax.set_ylabel(f"PS loss ({NAMES[loss_func]})", fontsize=8)
    handles = []
    for column, levels in ((enc.hue, colours), (enc.marker, markers)):
        if column:
            handles.append(facet_grid.legend_header(enc.label(column)))
            for level, value in levels.items():
                handles.append(Line2D([], [], linestyle="none",
                                      color=value if column == enc.hue else "0.3",
                                      marker=value if column == enc.marker else "o",
                                      label=level))
    if handles:
        facet_grid.add_legend(fig, handles, loc="outside right upper", fontsize=8)
    title_beside_legend(fig, [
        f"ps_matlab_vs_plen: {NAMES[loss_func]} of each statistic group (each "
        "panel its own y axis)", facet_grid.caption(agg)])
    return fig


def trajectories(frame: pd.DataFrame) -> pd.DataFrame:
    """Each plenoptic curve and seed's longest run's trajectory, one row per step."""
    import pandas as pd

    from plenexp.runs import results

    runs = frame[(frame["optimizer"] != "textureSynth") & frame["steps"].notna()]
    if "run_dir" not in runs or runs.empty:
        return pd.DataFrame()
    longest = (runs.sort_values("steps", kind="stable")
               .groupby(["img", "curve", "seed"], sort=False).tail(1))
    parts = []
    for row in longest.itertuples():
        # lexists: a FIFO or a link to a device is named, not passed over
        if os.path.lexists(Path(row.run_dir) / "trajectory.csv"):
            steps = results.read_trajectory(row.run_dir)
            if steps is None:
                continue
            parts.append(steps.assign(img=row.img, curve=row.curve, seed=row.seed,
                                      method=row.method, objective=row.objective))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def trajectory_figure(steps: pd.DataFrame, methods: list[str]):
    """The objective each run minimised against seconds and against evaluations.

    One row of panels per image and objective (weighted and plain losses
    never share an axis); per curve, the median over seeds at each step, the
    band min-max. Colours are the methods' (``methods``: every method of the
    summary, as the other figures colour them); a curve of another platform
    of the same method is dashed.
    """
    import matplotlib.pyplot as plt

    from plenexp.summary import axis_ticks, facet_grid, facets

    keys = facets.order_levels(
        steps["img"].map(str) + facet_grid.TITLE_SEP + steps["objective"].map(str))
    colours = facet_grid.palette(methods)
    firsts = steps.drop_duplicates("curve")
    styles = dict(zip(firsts["curve"], [("-", "--", ":", "-.")[r % 4] for r in
                                        firsts.groupby("method").cumcount()],
                      strict=True))
    fig, axes = plt.subplots(len(keys), 2, figsize=(11, 2.9 * len(keys) + 0.9),
                             squeeze=False, layout="constrained")
    for (ax_t, ax_e), key in zip(axes, keys, strict=True):
        img, _, objective = key.partition(facet_grid.TITLE_SEP)
        part = steps[(steps["img"].map(str) == img)
                     & (steps["objective"].map(str) == objective)]
        for curve, run in part.groupby("curve", sort=False):
            per_step = run.groupby("step").agg(
                seconds=("seconds", "median"), evaluations=("evaluations", "median"),
                loss=("loss", "median"), low=("loss", "min"), high=("loss", "max"),
                n=("seed", "nunique"))
            for ax, x in ((ax_t, "seconds"), (ax_e, "evaluations")):
                kept = per_step[per_step[x] > 0]
                colour = colours[facets.format_level(run["method"].iloc[0])]
                ax.fill_between(kept[x], kept["low"], kept["high"], color=colour,
                                alpha=0.2, linewidth=0, gid=f"image:{img}")
                ax.plot(kept[x], kept["loss"], color=colour, linewidth=1.2,
                        linestyle=styles[curve], gid=f"image:{img}",
                        label=f"{curve} (n = {int(per_step['n'].max())})")
        for ax, x in ((ax_t, "synthesis time (s)"), (ax_e, "PS model evaluations")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{img}{facet_grid.TITLE_SEP}objective: {objective}",
                         fontsize=8.5)
            ax.set_xlabel(x, fontsize=8.5)
            ax.tick_params(labelsize=7.5)
            ax.grid(True, linewidth=0.4, alpha=0.5)
            axis_ticks.tidy_axis(ax.xaxis)
            axis_ticks.tidy_axis(ax.yaxis)
        ax_t.set_ylabel("objective (as minimised)", fontsize=8.5)
    handles = {}
    for ax in axes[:, 0]:
        for line in ax.get_lines():
            handles.setdefault(line.get_label(), line)
    ordered = sorted(handles.items(), key=lambda item: facets.level_key(item[0]))
    fig.legend(handles=[h for _, h in ordered], loc="outside right upper",
               fontsize=8, frameon=False, handlelength=1.6)
    title_beside_legend(fig, [
        "ps_matlab_vs_plen: trajectories of the plenoptic runs (the objective each "
        "minimised, range penalty included)",
        "line: median over seeds at each step; band: min to max"])
    return fig


def summary_figures(frame: pd.DataFrame, output_dir: Path,
                    loss_funcs: list[str]) -> list[Path]:
    """Draw every loss figure (SVG + PNG) into ``output_dir``.

    ``overall_<func>``: overall loss against synthesis time beside loss against
    model evaluations; ``overall_<func>_vs_process_duration`` (when the
    whole-process times exist); ``groups_<func>``: one panel per statistic
    group; ``trajectories`` (when the runs' trajectories are at hand).
    """
    from plenexp.summary import facets, figure_files

    written = []
    evals = frame["evaluations"].notna().any()
    matlab = (frame["optimizer"] == "textureSynth").any()
    for func in loss_funcs:
        xs = ["synth_duration", "evaluations"] if evals else ["synth_duration"]
        fig = loss_figure(frame, func, xs, "ps_matlab_vs_plen: overall loss against "
                          "synthesis time and model evaluations",
                          NO_EVALUATIONS if evals and matlab else "")
        written += figure_files.save(fig, output_dir / f"overall_{func}")
        if frame["process_duration"].notna().any():
            fig = loss_figure(frame, func, ["process_duration"],
                              "ps_matlab_vs_plen: overall loss against the whole "
                              "process's time (start-up included)")
            written += figure_files.save(
                fig, output_dir / f"overall_{func}_vs_process_duration")
        written += figure_files.save(groups_figure(frame, func),
                                     output_dir / f"groups_{func}")
    steps = trajectories(frame)
    if len(steps):
        methods = facets.order_levels(frame["method"])
        written += figure_files.save(trajectory_figure(steps, methods),
                                     output_dir / "trajectories")
    return written


def metamer_grids(frame: pd.DataFrame, output_dir: Path) -> list[Path]:
    """Metamers at equal time budgets, one figure per image and seed.

    ``<img>_seed-<N>.png``/``.svg`` (:func:`ps_matlab_vs_plen.plot.budget_grid`):
    rows = methods (curves), columns = 1-2-5 synthesis-time budgets. Results
    whose run directory is gone are left out. A run file that cannot be read
    (a FIFO, a link out of the run, damaged) is reported and drawn as
    unreadable; a grid whose target cannot be read is left out.
    """
    from plenexp.summary import figure_files
    from ps_matlab_vs_plen import plot, run, stats

    unreadable = (OSError, ValueError, KeyError, RuntimeError, UsageError)

    def metamer(row):
        try:
            return run.metamer_at(row["run_dir"], row["metamer"])
        except unreadable as err:
            errors.report([f"{errors.where(err, row['run_dir'])}: metamer unreadable "
                           f"({errors.describe(err)}); drawn as such"])
            return None

    cells = stats.overall(frame)
    cells = cells[cells["run_dir"].map(lambda p: Path(str(p)).is_dir())]
    written = []
    for (img, seed), part in cells.groupby(["img", "seed"], sort=True):
        # one row per curve (a method on one engine, device and host)
        part = part.drop_duplicates(["curve", "synth_iters"]).assign(
            method=lambda t: t["curve"])
        target = None
        for run_dir in part["run_dir"].unique():  # any run's target will do
            try:
                target = run.result_target(run.load_result(run_dir))
                break
            except unreadable as err:
                errors.report([f"{errors.where(err, run_dir)}: unreadable "
                               f"({errors.describe(err)}); "
                               "not in the metamers at equal budgets"])
        if target is None:
            continue
        fig, _ = plot.budget_grid(
            part, target, method_order(part["curve"]), metamer,
            f"ps_matlab_vs_plen: {img}, seed {seed:g}: metamers at equal "
            "synthesis-time budgets")
        written += figure_files.save(fig, output_dir / f"{img}_seed-{seed:g}")
    return written


def parse_args():
    """Parse the command line (fast: no heavy imports)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--loss_func", nargs="+", choices=LOSS_FUNCS,
                        default=["l2_norm"],
                        help="loss function(s) to plot; the first decides the "
                        "best-method table")
    parser.add_argument("--no_metamers", action="store_true",
                        help="skip the metamers at equal budgets")
    return parser.parse_args()


def main() -> None:
    """Write all_loss.csv, the figures and the decision tables."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    with cli.columns_of(args.from_csv):
        frame = summarize(input_dir, output_dir, args.from_csv, args.loss_func,
                          metamers=not args.no_metamers)
    print((output_dir / "summary.txt").read_text(), end="")
    n_results = frame["run_dir"].nunique() if "run_dir" in frame else len(frame)
    print(f"{n_results} result(s) summarized; figures, all_loss.csv and the "
          f"tables in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
