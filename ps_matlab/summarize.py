"""Tabulate plenoptic's PS loss of every MATLAB metamer and compare the images.

Writes all_loss.csv (one row per metamer: run facts, timings, the l2_norm PS
loss overall and per statistic group), success.csv (per image, iterations and
engine: the share of seeds meeting plenoptic's success criterion), timing.txt,
conclusion.txt (the success table in sentences) and two figures, SVG and PNG:
loss_overall (PS loss against iterations, one panel per image, median over
seeds with min-max bars) and loss_by_group (log10 loss per metamer and
statistic group, rows labelled image / seed / iterations). Metamers are found
as by plot.py; --from-csv re-plots an all_loss.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plenexp import cli
from plenexp.summary import timing_report
from plenexp.summary.aside import publishes_aside

if TYPE_CHECKING:
    import matplotlib.pyplot as plt
    import pandas as pd

    from plenexp.summary import facets
    from ps_matlab.metamers import MatlabMetamer

EXPERIMENT = "ps_matlab"
#: A configuration: what the seeds of one point share.
CONFIGURATION = ["image", "n_iter", "engine", "crop", "init"]
#: The columns that set a textureSynth iteration's cost, for ``timing.txt``
#: (``crop`` is among every experiment's).
CONFIG_COLUMNS = ("engine", "image", "n_iter")
#: Label values beside their points when a panel has at most this many.
MAX_LABELLED = 6


def labels() -> dict[str, str]:
    """Display names of the summary's variables."""
    from ps_matlab.run import LOSS_LABEL

    return {"n_iter": "textureSynth iterations", "engine": "engine", "crop": "crop",
            "init": "initial image", "loss": LOSS_LABEL}


# ---------------------------------------------------------------- table ---


def loss_table(found: list[MatlabMetamer]) -> tuple[pd.DataFrame, list[str]]:
    """One row per metamer: run facts, overall and per-group PS loss.

    Returns
    -------
    frame, problems
        The table (``loss`` = plenoptic's ``l2_norm`` over all statistics,
        ``max_abs_rep_error``, then one ``l2_norm`` column per statistic
        group) and one line per metamer left out.
    """
    import pandas as pd

    from ps_matlab import run

    scorer, rows, problems = run.Scorer(), [], []
    for metamer in found:
        try:
            rows.append(scorer.row(metamer))
        except ValueError as err:
            problems.append(f"{metamer.mat_path}: {err}")
    return pd.DataFrame.from_records(rows), problems


def success(frame: pd.DataFrame) -> pd.DataFrame:
    """Share of runs (seeds) per configuration meeting plenoptic's criterion."""
    from plenexp.summary import facets

    table = facets.success_table(frame, [c for c in CONFIGURATION
                                         if c in frame.columns],
                                 loss="loss", time="synth_duration")
    # textureSynth's cost is not counted in PS model evaluations
    return table.drop(columns="median_evaluations_to_success")


def conclusion(frame: pd.DataFrame, table: pd.DataFrame) -> str:
    """The success table in plain sentences (``conclusion.txt``).

    Parameters
    ----------
    frame
        The loss table (one row per metamer).
    table
        Its :func:`success` table.
    """
    import pandas as pd

    from plenexp.summary import facets
    from ps_matlab.plot import engine_name
    from ps_matlab.run import LOSS

    engines = sorted({engine_name(r) for r in frame.to_dict("records")})
    n_success = int(table["n_success"].sum())
    lines = [f"{len(frame)} textureSynth metamer(s) ({', '.join(engines)}), "
             f"scored with plenoptic's PS model ({LOSS}): {n_success} of "
             f"{len(frame)} meet plenoptic's success criterion "
             f"({table['criterion'].iloc[0]})."]
    by = [c for c in CONFIGURATION if c in table.columns]
    for config in table.to_dict("records"):
        same = pd.Series(True, index=frame.index)
        for column in by:
            value = config[column]
            same &= (frame[column].isna() if pd.isna(value)
                     else frame[column].astype(str) == str(value))
        loss = pd.to_numeric(frame.loc[same, "loss"], errors="coerce")
        where = [str(config["image"]),
                 f"{facets.format_level(config['n_iter'])} iterations"]
        if len(engines) > 1 and "engine" in by:
            where.append(str(config["engine"]))
        if "crop" in by and pd.notna(config["crop"]):
            where.append(f"crop {facets.format_level(config['crop'])}")
        spread = (f" (from {loss.min():.3g} to {loss.max():.3g})"
                  if loss.min() < loss.max() else "")
        lines.append(f"{', '.join(where)}: {int(config['n_success'])} of "
                     f"{int(config['n'])} seed(s) succeed; PS loss "
                     f"{loss.median():.3g}{' median' if len(loss) > 1 else ''}"
                     f"{spread}.")
    lines += decision_lines(frame)
    return "\n".join(lines) + "\n"


def decision_lines(frame: pd.DataFrame) -> list[str]:
    """The rules every experiment's conclusion follows, on these metamers.

    Variables that changed nothing, stalled or diverged metamers
    (:mod:`plenexp.summary.decisions`), and per image the configuration with
    the lowest median PS loss at a few time budgets, its spread over seeds
    and its ties (seed ranges overlapping).
    """
    import pandas as pd

    from plenexp.summary import decisions

    if "synth_duration" not in frame.columns or \
            pd.to_numeric(frame["synth_duration"], errors="coerce").isna().all():
        return []
    variables = [c for c in CONFIGURATION if c not in ("image", "seed")
                 and c in frame.columns]
    decision = decisions.decide(
        frame, variables=variables, loss="loss", time="synth_duration",
        image="image", seed="seed" if "seed" in frame.columns else None,
        budget_variables=["n_iter"] if "n_iter" in frame.columns else (),
        labels=labels())
    return ["", "By the rules every experiment's conclusion follows:",
            *decision.lines]


# -------------------------------------------------------------- figures ---


def group_columns(frame: pd.DataFrame) -> list[str]:
    """The per-statistic-group loss columns of a loss table."""
    from ps_matlab.run import FACT_COLUMNS

    return [c for c in frame.columns if c not in FACT_COLUMNS]


def _label_points(fig, agg: pd.DataFrame, enc: facets.Encoding, x: str,
                  y: str) -> None:
    """Write each point's value (and min-max, n) beside it, in sparse panels."""
    import numpy as np
    from matplotlib.collections import PathCollection

    from plenexp.summary import facets

    for ax in fig.axes:
        gids = {a.get_gid() for a in ax.get_children()}
        images = [g.split(":", 1)[1] for g in gids
                  if isinstance(g, str) and g.startswith("image:")]
        if len(images) != 1:
            continue
        rows = agg[facets.format_levels(agg[enc.image]) == images[0]]
        # facets draws the medians as one scatter per panel (older: lines)
        points = [tuple(xy) for line in ax.lines
                  if line.get_marker() not in (None, "", "None")
                  for xy in line.get_xydata()]
        points += [tuple(xy) for coll in ax.collections
                   if isinstance(coll, PathCollection)
                   for xy in np.asarray(coll.get_offsets())]
        if not points or len(points) > MAX_LABELLED:
            continue
        for px, py in points:
            match = rows[np.isclose(rows[x].astype(float), px)
                         & np.isclose(rows[y].astype(float), py)]
            if not len(match):
                continue
            one = match.iloc[0]
            text = f"{py:.3g}"
            if one["n"] > 1:
                text += f"\n({one[f'{y}_min']:.3g} to {one[f'{y}_max']:.3g},"\
                    f" n={int(one['n'])})"
            ax.annotate(text, (px, py), xytext=(7, 0), textcoords="offset points",
                        va="center", fontsize=7.5, color="0.2")


def loss_overall(frame: pd.DataFrame) -> plt.Figure:
    """PS loss against iterations, one panel per image, seeds aggregated.

    Points are medians over seeds with min-max bars (``n`` in the caption);
    the axis is linear when the values span little (log otherwise, with
    several labelled ticks), and sparse panels write each value beside its
    point. Engine, crop and initial image, where they vary, are colour,
    marker or panels.
    """
    import matplotlib.ticker as mticker

    from plenexp.summary import facet_grid, facets
    from ps_matlab.plot import engine_name
    from ps_matlab.run import LOSS_LABEL

    names = labels()
    data = frame.assign(engine=[engine_name(r) for r in frame.to_dict("records")])
    by = [c for c in ("image", "n_iter", "engine", "crop", "init")
          if c in data.columns]
    agg = facets.aggregate(data, by, ["loss"])
    enc = facets.choose_encoding(agg, ["engine", "init", "crop"], image="image",
                                 labels=names)
    fig = facet_grid.scatter_grid(
        agg, "n_iter", "loss", enc, xlabels={"n_iter": names["n_iter"]},
        ylabel=LOSS_LABEL,
        title="textureSynth metamers scored by plenoptic's PS model")
    _label_points(fig, agg, enc, "n_iter", "loss")
    for ax in fig.axes:  # iterations are whole numbers
        if ax.axison and ax.get_xscale() == "linear":
            ax.xaxis.set_major_locator(
                mticker.MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
    return fig


def row_label(row: dict, several_engines: bool) -> str:
    """``image / seed S / N it`` (and the engine, where several)."""
    from plenexp.summary import facets
    from ps_matlab.plot import engine_name

    seed = facets.format_level(row.get("seed"))
    n_iter = facets.format_level(row.get("n_iter"))
    parts = [str(row["image"]), f"seed {seed}", f"{n_iter} it"]
    if several_engines:
        parts.append(engine_name(row))
    return " / ".join(parts)


def loss_by_group(frame: pd.DataFrame) -> plt.Figure:
    """Heat map of log10 PS loss by statistic group, one row per metamer.

    Rows are labelled image / seed / iterations, in numeric order.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    from plenexp.summary import facets
    from ps_matlab.plot import engine_name
    from ps_matlab.run import LOSS

    frame = facets.sort_frame(frame, ["image", "n_iter", "seed", "engine"])
    engines = {engine_name(r) for r in frame.to_dict("records")}
    row_labels = [row_label(r, len(engines) > 1) for r in frame.to_dict("records")]
    groups = group_columns(frame)
    heat = frame[["loss", *groups]].astype(float)
    heat.index = row_labels
    heat = np.log10(heat.where(heat > 0)).rename(columns={"loss": "overall"})
    fig, ax = plt.subplots(figsize=(0.75 * len(heat.columns) + 4.5,
                                    max(0.34 * len(heat), 2.2) + 3.2),
                           layout="constrained")
    sns.heatmap(heat, ax=ax, cmap="viridis", annot=len(heat) <= 16, fmt=".1f",
                annot_kws={"fontsize": 8},
                cbar_kws={"label": f"log10 PS loss ({LOSS})"})
    ax.set_xlabel("statistic group")
    ax.set_ylabel("image / seed / iterations" + (" / engine" if len(engines) > 1
                                                 else ""))
    ax.tick_params(axis="x", labelrotation=60)
    ax.tick_params(axis="y", labelrotation=0)
    for text in ax.get_xticklabels():
        text.set_horizontalalignment("right")
    engine_text = ", ".join(e.replace("textureSynth ", "") for e in sorted(engines))
    ax.set_title(f"textureSynth metamers ({engine_text}): plenoptic's PS loss by "
                 "statistic group", fontsize=10)
    return fig


# ------------------------------------------------------------- summarize ---


@publishes_aside
def summarize(input_dir: Path | None, output_dir: Path,
              from_csv: Path | None = None,
              target_dir: Path | None = None) -> pd.DataFrame:
    """Write ``all_loss.csv``, ``success.csv``, the figures, timing and conclusion.

    Parameters
    ----------
    input_dir
        Where to find metamers (:func:`ps_matlab.metamers.find_metamers`).
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
    import pandas as pd

    from plenexp import errors
    from plenexp.errors import UsageError
    from plenexp.runs import results
    from plenexp.runs.rundir import atomic_path
    from plenexp.summary import figure_files
    from ps_matlab.metamers import find_metamers

    output_dir = Path(output_dir)
    if from_csv is not None:
        frame = pd.read_csv(from_csv)
        if "image" not in frame.columns:  # a KeyError: one line (cli.columns_of)
            raise KeyError("image")
    else:
        found, problems = find_metamers(input_dir, target_dir)
        frame, more = loss_table(found)
        errors.report(problems + more)
        if frame.empty:
            raise UsageError(f"no MATLAB metamers found under {input_dir}")
    output_dir.mkdir(parents=True, exist_ok=True)
    if from_csv is None:
        results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    table = success(frame)
    results.write_csv_atomic(table, output_dir / "success.csv")
    figure_files.save(loss_overall(frame), output_dir / "loss_overall")
    figure_files.save(loss_by_group(frame), output_dir / "loss_by_group")
    timing_report.write(frame, output_dir, config_columns=CONFIG_COLUMNS)
    with atomic_path(output_dir / "conclusion.txt") as tmp:
        tmp.write_text(conclusion(frame, table))
    return frame


def parse_args():
    """Parse the command line (no heavy imports yet)."""
    parser = cli.ArgumentParser(description=__doc__)
    cli.add_summary_arguments(parser, EXPERIMENT, from_csv=True)
    parser.add_argument("--target_dir", "--target-dir", type=Path, default=None,
                        help="targets of loose MAT files (default: beside them)")
    return parser.parse_args()


def main():
    """Score every metamer, write the table and figures."""
    args = parse_args()
    input_dir, output_dir = cli.summary_dirs(args, EXPERIMENT)
    if args.target_dir is not None and not args.target_dir.is_dir():
        raise cli.UsageError(f"--target_dir {args.target_dir} does not exist")
    with cli.columns_of(args.from_csv):
        frame = summarize(input_dir, output_dir, from_csv=args.from_csv,
                          target_dir=args.target_dir)
    table = success(frame)
    print(table.drop(columns="criterion").to_string(
        index=False, float_format="{:.4g}".format))
    print(f"success: {table['criterion'].iloc[0]}")
    print(f"{len(frame)} metamer(s) summarized; all_loss.csv, success.csv, "
          f"loss_overall and loss_by_group in {output_dir}")


if __name__ == "__main__":
    cli.run(main)
