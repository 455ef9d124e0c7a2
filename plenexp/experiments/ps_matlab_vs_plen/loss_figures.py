"""Summary figures: loss against time and evaluations, by group, trajectories.

Built on :mod:`plenexp.summary.facets`: one panel (row) per image, seeds aggregated
(point = median, bars = min-max over seeds in loss and in time), ``n`` in the
caption, one colour per curve (a method on one engine, device and host), and
each curve's budgets joined by a line in iteration order.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from plenexp.experiments.ps_matlab_vs_plen import stats  # noqa: E402
from plenexp.summary import (
    axis_ticks,
    facet_grid,
    facets,
    figure_files,  # noqa: E402
)

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
    return facets.choose_encoding(agg, ["method", "platform"], image="img",
                                  labels=LABELS, hue_first=["method"], **kwargs)


def join_budgets(fig, agg: pd.DataFrame, xs: list[str], enc: facets.Encoding,
                 group: str | None = None) -> None:
    """Join each curve's points in iteration order, in every panel of ``fig``.

    A curve is one method on one engine, device and host. Panels are matched
    by their title (image, then ``<group label>=<level>``) and x label; each
    line carries its image's gid, like the points.
    """
    colours = (facet_grid.palette(facets.order_levels(agg[enc.hue])) if enc.hue
               else {})
    columns = {XLABELS.get(x, x): x for x in xs}
    for ax in fig.axes:
        x = columns.get(ax.get_xlabel())
        if not ax.axison or x is None:
            continue
        title = ax.get_title()
        image, _, rest = title.partition(facet_grid.TITLE_SEP)
        cell = agg[agg["img"].map(facets.format_level) == image]
        if group is not None:
            level = rest.partition("=")[2]
            cell = cell[cell[group].map(facets.format_level) == level]
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
    runs = frame[(frame["optimizer"] != "textureSynth") & frame["steps"].notna()]
    if "run_dir" not in runs or runs.empty:
        return pd.DataFrame()
    longest = (runs.sort_values("steps", kind="stable")
               .groupby(["img", "curve", "seed"], sort=False).tail(1))
    parts = []
    for row in longest.itertuples():
        path = Path(row.run_dir) / "trajectory.csv"
        if path.is_file():
            steps = pd.read_csv(path)
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

