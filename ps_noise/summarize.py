"""Gather every ps_noise run into one table and draw the summary figures.

Writes into ``<grid>/summary/`` (or --output-dir): ``all_loss.csv`` (one row
per run: image, noise type and amplitude, weights, seed, device, the
weighted objective, unweighted losses overall and by PS statistic group,
pixel ranges, initialization / synthesis / whole-process seconds, model
evaluations, versions), ``success.csv`` (per configuration, the share of
seeds meeting plenoptic's success criterion),
``loss_by_noise_and_weights.{svg,png}`` (final losses by initial noise and
weights, one column per image, median over seeds with min-max bars) and
``contact_sheet_<image>.{svg,png}`` (initial images on one grey range and
metamers), ``timing.txt`` (where the time went) and ``conclusion.txt`` (what
the grid showed, in a few sentences). Prints the median losses, each named,
and the success shares.
--from-csv re-plots an all_loss.csv.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from plenexp import cli, errors  # noqa: E402
from plenexp.errors import UsageError  # noqa: E402
from plenexp.runs import provenance, results, rundir  # noqa: E402
from plenexp.summary import (  # noqa: E402
    axis_ticks,
    facet_grid,
    facets,
    figure_files,
    timing_report,
)
from plenexp.summary.aside import publishes_aside  # noqa: E402
from plenexp.synth import success as success_criterion  # noqa: E402
from plenexp.synth import synthesis  # noqa: E402
from ps_noise import plot, run  # noqa: E402
from ps_noise.options import (  # noqa: E402
    LOSS_DEFINITIONS,
    LOSS_LABELS,
    LOSS_SHORT,
    normalize_args,
)
from ps_noise.write_disbatch import EXPERIMENT  # noqa: E402

#: Columns shown first in ``all_loss.csv``.
SUMMARY_COLUMNS = [
    "image", "crop", "noise_type", "noise_amplitude", "weights", "seed",
    "history_size", "synth_iter", "device", "device_name", "loss",
    "l2_no_minmax", "l2_norm", "max_abs_rep_error",
    "out_of_range", "metamer_min", "metamer_max", "init_min", "init_max",
    "init_duration", "synth_duration", "process_duration", "evaluations", "steps",
]


#: The columns that set how much a step costs (``timing.txt``).
CONFIG_COLUMNS = ("image", "noise_type", "noise_amplitude", "weights",
                  "history_size")
#: The grid's conclusion, beside the summary (``index.html`` shows it).
CONCLUSION = "conclusion.txt"

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
                                    numeric=NUMERIC_COLUMNS, one_row=True,
                                    non_negative=("loss", "synth_iter"),
                                    measured=("synth_duration", "init_duration",
                                              "process_duration"))
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


@publishes_aside
def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None) -> pd.DataFrame:
    """Write ``all_loss.csv``, ``success.csv``, the figures, timing and conclusion.

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
    figure_files.save(summary_figure(frame),
                      output_dir / "loss_by_noise_and_weights")
    if "run_dir" in frame.columns and all(
            (Path(d) / run.METAMER_FILE).is_file() for d in frame["run_dir"]):
        contact_sheet(frame, output_dir, target_of)
    timing_report.write(frame, output_dir, config_columns=CONFIG_COLUMNS)
    with rundir.atomic_path(output_dir / CONCLUSION) as tmp:
        tmp.write_text(conclusion(frame))
    return frame


def _with_start(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(start=[start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])


def configuration(frame: pd.DataFrame) -> list[str]:
    """What the seeds of one configuration share: image, start, weights, settings."""
    return ["image", "start", "weights",
            *facets.varying(frame, SETTINGS)]


def recovery_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Median losses and out-of-range fraction per configuration, over seeds.

    Columns are named by what they are (:data:`.options.LOSS_LABELS`), with ``n``
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
    return facets.success_table(data, configuration(data), loss=success_loss(data),
                                time="synth_duration", evaluations="evaluations")


def success_loss(frame: pd.DataFrame) -> str:
    """The success criterion's loss column of ``frame``.

    ``l2_norm_loss`` (plenoptic's ``l2_norm``, recorded by every plenoptic
    experiment) where the table has it, else ``l2_norm`` (the same value).
    """
    if "l2_norm_loss" in frame.columns and frame["l2_norm_loss"].notna().any():
        return "l2_norm_loss"
    return "l2_norm"


def decision_lines(frame: pd.DataFrame) -> list[str]:
    """The rules every experiment's conclusion follows, on this grid.

    Variables that changed nothing, stalled or diverged runs
    (:mod:`plenexp.summary.decisions`), and per image the configuration with
    the lowest median L2 without pixel min/max within the grid's longest run,
    its spread over seeds and the configurations tied with it (seed ranges
    overlapping).
    """
    from plenexp.summary import decisions

    data = _with_start(frame)
    variables = [c for c in configuration(data) if c != "image"]
    loss = "l2_no_minmax"
    no_ops = decisions.no_op_variables(data, variables, loss=loss, image="image",
                                       iterations="synth_iter", seed="seed")
    data = decisions.collapse(data, no_ops)
    status = decisions.classify_runs(data, loss=loss, image="image",
                                     variables=variables, seed="seed")
    config = ["image", *facets.varying(data, variables)]
    agg = decisions.aggregate(data, config, [loss, "synth_duration"], status)
    budgets = {facets.format_level(image): [float(part["synth_duration"].max())]
               for image, part in agg.groupby("image", sort=False)}
    recs = decisions.recommend(agg, variables=variables, loss=loss,
                               time="synth_duration", image="image",
                               budgets=budgets)
    return ([op.statement for op in no_ops]
            + decisions.status_text(status, data, variables, "image")
            + decisions.recommendation_text(recs, SETTING_LABELS))



def _describe(row, extras) -> str:
    text = f"{row['start']}, weights {row['weights']}"
    return text + (f", {settings_text(row, extras)}" if extras else "")


def _three_digits(value: float) -> float:
    # losses are compared as they are printed: equal to 3 digits is a tie
    return float(f"{value:.3g}")


def conclusion(frame: pd.DataFrame) -> str:
    """What the grid showed, read off the success and recovery tables.

    How many runs meet plenoptic's success criterion; then, per image, the
    configuration(s) with the lowest median unweighted L2 without pixel
    min/max and which initial noises end at or below the uniform start (the
    baseline synthesis recovers to). Losses equal to 3 digits count as equal:
    a tie names every configuration in it.
    """
    table = success(frame)
    lines = [f"{int(table['n_success'].sum())} of {int(table['n'].sum())} run(s) "
             f"meet plenoptic's success criterion ({table['criterion'].iloc[0]}, "
             f"the loss being the {LOSS_LABELS['l2_norm']})."]
    recovery = recovery_table(frame)
    column = f"{LOSS_LABELS['l2_no_minmax']} (median)"
    extras = facets.varying(_with_start(frame), SETTINGS)
    for image in facets.order_levels(recovery["image"]):
        part = recovery[recovery["image"] == image].to_dict("records")
        for row in part:
            row["value"] = _three_digits(row[column])
        best = min(row["value"] for row in part)
        lowest = [row for row in part if row["value"] == best]
        names = "; ".join(_describe(row, extras) for row in lowest)
        tie = "a tie between " if len(lowest) > 1 else ""
        sentence = (f"On {image}, the lowest {LOSS_LABELS['l2_no_minmax']} "
                    f"(median over seeds) is {best:g}: {tie}{names}.")
        baseline = [row for row in part if str(row["start"]).startswith("uniform")]
        others = [row for row in part if row not in baseline]
        if baseline and others:
            bar = min(row["value"] for row in baseline)
            below = sorted({row["start"] for row in others if row["value"] <= bar},
                           key=start_order(frame).index)
            if not below:
                ends = "no other start ends at or below it"
            elif len(below) == 1:
                ends = f"{below[0]} ends at or below it (recovers)"
            else:
                ends = (f"{', '.join(below[:-1])} and {below[-1]} end at or below "
                        "it (recover)")
            sentence += f" Against the uniform start ({bar:g}), {ends}."
        lines.append(sentence)
    lines += ["", "By the rules every experiment's conclusion follows "
              f"(loss: {LOSS_LABELS['l2_no_minmax']}):", *decision_lines(frame)]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------ summary figure ---


def start_label(noise_type: str, amplitude: float) -> str:
    """Name the initial image's noise as figures do, e.g. ``normal 2``."""
    return f"{noise_type} {float(amplitude):g}"


def start_order(frame: pd.DataFrame) -> list[str]:
    """Initial-noise labels: uniform first, then by amplitude."""
    pairs = sorted({(t != "uniform", float(a), t) for t, a in
                    zip(frame["noise_type"], frame["noise_amplitude"], strict=True)})
    return [start_label(t, a) for _, a, t in pairs]


def weights_order(frame: pd.DataFrame) -> list[str]:
    """Weight sets in numeric order."""
    return sorted(frame["weights"].astype(str).unique(),
                  key=lambda w: [float(v) for v in w.split(",")])


#: Run settings that, where they vary, tell rows of a contact sheet and
#: points of the summary apart (besides image, start, weights and seed).
SETTINGS = ("synth_iter", "history_size", "crop", "device")
#: Their names in legends and titles.
SETTING_LABELS = {"synth_iter": "iterations", "history_size": "history",
                  "crop": "crop", "device": "device"}


def settings_text(row, columns) -> str:
    """``iterations 25, history 100``: the settings ``columns`` of ``row``."""
    return ", ".join(f"{SETTING_LABELS[c]} {facets.format_level(row[c])}"
                     for c in columns)


#: Rows of the summary figure: ``loss.csv`` column and axis label. The
#: objective (``loss``) is left out: at the end of a run it equals
#: ``l2_no_minmax`` to about 3 digits (see :data:`OBJECTIVE_NOTE`).
MEASURES = {
    "l2_no_minmax": LOSS_LABELS["l2_no_minmax"],
    "l2_norm": LOSS_LABELS["l2_norm"],
    "out_of_range": "fraction of metamer pixels outside [0, 1]",
}
#: Why the objective has no row of its own.
OBJECTIVE_NOTE = (
    f"{LOSS_LABELS['loss']} not drawn: it equals the top row to about 3 digits\n"
    "(min and max are weighted 0; the statistics weighted above 1 end matched);"
    " both are in all_loss.csv")
#: Where the success criterion's loss threshold is drawn.
SUCCESS_ROW = "l2_norm"


def _offsets(n_dodge: int, width: float = 0.7) -> np.ndarray:
    """Offsets along x of ``n_dodge`` series side by side at one position."""
    if n_dodge == 1:
        return np.zeros(1)
    return np.linspace(-width / 2, width / 2, n_dodge)


def summary_figure(frame: pd.DataFrame) -> plt.Figure:
    """Final losses by initial image (x) and weights (colour), one column per image.

    Rows: :data:`MEASURES`. Each point is the median over seeds with min-max
    bars (``n`` in the title); any other setting that varies (iterations,
    history, crop, device) is a marker. A log axis where values span a
    factor 4 or more. The success threshold of the overall L2 is drawn.
    """
    data = frame.assign(start=[start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])
    extras = facets.varying(data, SETTINGS)
    data["setting"] = [settings_text(r, extras) if extras else ""
                       for r in data.to_dict("records")]
    agg = facets.aggregate(data, ["image", "start", "weights", "setting"],
                           list(MEASURES))
    images = facets.order_levels(agg["image"])
    starts = start_order(data)
    weights = weights_order(data)
    settings = facets.order_levels(agg["setting"])
    colours = facet_grid.palette(weights)
    markers = dict(zip(settings, facets.MARKERS, strict=False))
    offsets = _offsets(len(weights) * len(settings))
    n_cols = len(images)
    fig, axes = plt.subplots(len(MEASURES), n_cols, squeeze=False,
                             figsize=(max(3.6 * n_cols, 4.5) + facet_grid.LEGEND_W,
                                      2.6 * len(MEASURES) + 1.4),
                             layout="constrained")
    for r, (measure, label) in enumerate(MEASURES.items()):
        values = agg[[measure, f"{measure}_min", f"{measure}_max"]].to_numpy(float)
        floor = 1e-5 if measure == "out_of_range" else None
        if floor and (values < floor).any():
            label = f"{label}\n(0 drawn at {floor:g})"
        if floor:
            values = np.clip(values, floor, None)
        if measure == SUCCESS_ROW:  # the threshold stays in view
            values = np.append(values, success_criterion.SUCCESS_LOSS)
        log = axis_ticks.use_log(values.ravel())
        limits = axis_ticks.padded_limits(values.ravel(), log)
        for c, image in enumerate(images):
            ax = axes[r, c]
            for k, (setting, weight) in enumerate(
                    (s, w) for s in settings for w in weights):
                part = agg[(agg["image"] == image) & (agg["weights"] == weight)
                           & (agg["setting"] == setting)]
                if not len(part):
                    continue
                x = np.array([starts.index(s) for s in part["start"]]) + offsets[k]
                y = part[measure].to_numpy(float)
                low = part[f"{measure}_min"].to_numpy(float)
                high = part[f"{measure}_max"].to_numpy(float)
                if floor:
                    y, low, high = (np.clip(v, floor, None) for v in (y, low, high))
                drawn = ax.errorbar(x, y, yerr=[y - low, high - y],
                                    fmt=markers[setting], color=colours[weight],
                                    markersize=6, elinewidth=0.8, capsize=0)
                for artist in drawn.get_children():
                    artist.set_gid(f"image:{image}")
            if measure == SUCCESS_ROW:
                ax.axhline(success_criterion.SUCCESS_LOSS, color="0.4", linestyle=":",
                           linewidth=1)
                ax.annotate(f"success: <= {success_criterion.SUCCESS_LOSS:g}",
                            (0.01, success_criterion.SUCCESS_LOSS),
                            xycoords=("axes fraction", "data"), xytext=(0, 2),
                            textcoords="offset points", fontsize=7, color="0.3")
            if log:
                ax.set_yscale("log")
            if limits:
                ax.set_ylim(*limits)
            axis_ticks.tidy_axis(ax.yaxis)
            ax.set_xticks(range(len(starts)), starts)
            ax.set_xlim(-0.6, len(starts) - 0.4)
            ax.grid(True, axis="y", linewidth=0.4, alpha=0.5)
            ax.tick_params(labelsize=8)
            if r == 0:
                ax.set_title(str(image), fontsize=10)
            if c == 0:
                ax.set_ylabel(label, fontsize=8.5)
        axes[-1, 0].set_xlabel("initial image (noise type, amplitude)", fontsize=9)
    facet_grid.add_legend(fig, _legend(weights, colours, settings, markers),
                          loc="outside right upper", fontsize=8)
    iters = ", ".join(facets.format_level(v)
                      for v in facets.order_levels(data["synth_iter"]))
    fig.suptitle(f"{EXPERIMENT}: losses after {iters} LBFGS iterations\n"
                 f"{facet_grid.caption(agg)}\ndotted line: overall L2 "
                 f"{success_criterion.SUCCESS_LOSS:g}, plenoptic's success threshold\n"
                 f"{OBJECTIVE_NOTE}", fontsize=9)
    return fig


def _legend(weights, colours, settings, markers) -> list:
    handles = [facet_grid.legend_header("weights")]
    handles += [Line2D([], [], linestyle="none", marker="o", color=colours[w],
                       label=w) for w in weights]
    if len(settings) > 1:
        handles.append(facet_grid.legend_header("settings"))
        handles += [Line2D([], [], linestyle="none", marker=markers[s],
                           color="0.3", label=s) for s in settings]
    return handles


# ------------------------------------------------------- contact sheet ---

#: What a contact-sheet cell says of its metamer.
CELL_LOSSES = ("loss", "l2_no_minmax", "l2_norm")


def _crop_text(value) -> str:
    text = str(value)
    return "" if text.lower() in ("", "none", "nan") else str(int(float(text)))


def _load(run_dir: Path, name: str) -> torch.Tensor:
    saved = synthesis.load_tensors(run_dir / name)
    return saved["_metamer"] if name == run.METAMER_FILE else saved


def contact_sheet(frame: pd.DataFrame, output_dir: Path, target_of) -> list[Path]:
    """Draw the initial images and metamers of every run, one page per image.

    Columns: the target (top row), the initial image, then one per weight
    set: the metamer on [0, 1], titled with its losses, each named, and its
    pixel range. Every initial image of a page shares one grey range (the
    widest), with a colour bar, so stronger noise looks stronger. Rows:
    initial noise and seed (and iterations, history or device where they
    vary). One page per image (and crop, where an image has several).

    Parameters
    ----------
    target_of
        Function of a run directory giving its target image.
    """
    written = []
    frame = frame.assign(
        start=[start_label(t, a) for t, a in zip(
            frame["noise_type"], frame["noise_amplitude"], strict=True)],
        crop_text=[_crop_text(c) for c in frame["crop"]])
    for (image, crop), sub in frame.groupby(["image", "crop_text"]):
        weights = weights_order(sub)
        order = {label: i for i, label in enumerate(start_order(sub))}
        extras = facets.varying(sub, [c for c in SETTINGS if c != "crop"])
        keys = ["start", "seed", *extras]
        rows = sorted({tuple(r) for r in sub[keys].itertuples(index=False)},
                      key=lambda r: (order[r[0]], *map(facets.level_key, r[1:])))
        n_cols = len(weights) + 2
        fig, axes = plt.subplots(len(rows), n_cols, squeeze=False,
                                 figsize=(2.5 * n_cols + 0.8, 2.8 * len(rows) + 1.0),
                                 layout="constrained")
        for ax in axes.flat:
            ax.set_axis_off()
        for j, weight in enumerate(weights):
            axes[0, j + 2].set_title(f"weights {weight}", fontsize=8)
        low = min(0.0, float(sub["init_min"].min()))
        high = max(1.0, float(sub["init_max"].max()))
        first = Path(sub["run_dir"].iloc[0])
        with results.skipping(first, "target not drawn"):
            plot.show(axes[0, 0], target_of(first), "target")
        shown = None
        for i, key in enumerate(rows):
            runs = sub[(sub[keys].map(str) == [str(k) for k in key]).all(axis=1)]
            label = f"{key[0]}, seed {key[1]}"
            if extras:
                label += "\n" + settings_text(runs.iloc[0], extras)
            for _, entry in runs.iterrows():
                run_dir = Path(entry["run_dir"])
                j = weights.index(str(entry["weights"])) + 2
                header = f"weights {entry['weights']}\n" if i == 0 else ""
                with results.skipping(run_dir / run.METAMER_FILE, "not drawn"):
                    plot.show(axes[i, j], _load(run_dir, run.METAMER_FILE),
                          header + plot.named_losses(entry, CELL_LOSSES, short=True)
                          + "\npixels "
                          f"[{entry['metamer_min']:.2f}, {entry['metamer_max']:.2f}]",
                          fontsize=7.5)
                if not axes[i, 1].images:
                    with results.skipping(run_dir / run.INIT_FILE, "not drawn"):
                        shown = plot.show(axes[i, 1], _load(run_dir, run.INIT_FILE),
                                      ("initial image\n" if i == 0 else "") + label,
                                      low, high, fontsize=8)
        if shown is not None:
            fig.colorbar(shown, ax=axes[:, 1], location="left", shrink=0.6,
                         label="initial pixel value (one range per page)")
        several_crops = frame.loc[frame["image"] == image, "crop_text"].nunique() > 1
        name = f"{image}_crop-{crop}" if several_crops and crop else image
        size = f", {crop}x{crop} crop" if crop else ""
        iters = ", ".join(str(int(v)) for v in sorted(sub["synth_iter"].unique()))
        names = "; ".join(f"{LOSS_SHORT[k]}: {LOSS_DEFINITIONS[k]}"
                          for k in CELL_LOSSES)
        fig.suptitle(f"{EXPERIMENT} metamers of {image}{size}, {iters} iterations, "
                     f"drawn on [0, 1]\n{names}", fontsize=9)
        written += figure_files.save(fig, output_dir / f"contact_sheet_{name}")
    return written


# ---------------------------------------------------------------- main ---


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    return parser.parse_args()


def main():
    """Write the tables and figures; print the losses and success shares."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    with cli.columns_of(args.from_csv):
        frame = summarize(input_dir, output_dir, from_csv=args.from_csv)
    print(recovery_table(frame).to_string(index=False,
                                          float_format="{:.4g}".format))
    table = success(frame)
    print(f"\nsuccess ({table['criterion'].iloc[0]}, loss = the overall "
          "unweighted L2):")
    print(table[[c for c in table.columns if c not in (
        "criterion", "median_evaluations_to_success", "reach_from")]].to_string(
            index=False, float_format="{:.4g}".format))
    print(f"{len(frame)} run(s) summarized; figures and all_loss.csv in "
          f"{output_dir}")


if __name__ == "__main__":
    cli.run(main)
