"""plenexp.summary.facets: levels, aggregation, the decision tables and the figures."""

from __future__ import annotations

import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from plenexp.summary import axis_ticks, facet_grid, facets
from plenexp.synth import success
from tests import figure_checks as checks

HISTORIES = [3, 10, 100, 200, 1000]


def made_up_table(levels=HISTORIES, seeds=(0, 1)) -> pd.DataFrame:
    """Two images, two seeds, many numeric levels, MM:SS durations, text cells."""
    rng = np.random.default_rng(0)
    rows = []
    for img, seed, history, fraction, max_iter in itertools.product(
            ["fig4a", "fig16b"], seeds, levels, ["0.5", "1.0", ""], [5, 10, 40]):
        seconds = 30 + 3 * max_iter + 0.05 * history + rng.uniform(0, 5)
        rows.append({
            # text, as a CSV read with dtype=str gives it
            "filename": img, "seed": str(seed), "history": str(history),
            "max_eval": fraction, "max_iter": str(max_iter),
            "loss": str(0.5 / max_iter * (1 + 0.1 * seed) * (2 if img == "fig16b"
                                                            else 1)),
            "synth_duration": f"{int(seconds // 60):02d}:{seconds % 60:06.3f}",
        })
    return pd.DataFrame(rows)


def aggregated(frame=None):
    frame = made_up_table() if frame is None else frame
    frame = frame.assign(
        synth_duration=frame["synth_duration"].map(facets.parse_duration),
        loss=pd.to_numeric(frame["loss"]))
    return facets.aggregate(frame, ["filename", "history", "max_eval", "max_iter"],
                            ["loss", "synth_duration"])


def test_levels_are_ordered_numerically_whatever_their_type():
    texts = ["10", "100", "3", "1000", "200"]
    assert facets.order_levels(texts) == ["3", "10", "100", "200", "1000"]
    levels = facets.order_levels([2.0, 0.3, 0.03, 1.1, None])
    assert levels[:4] == [0.03, 0.3, 1.1, 2.0]
    assert facets.order_levels(["iter-10", "iter-2", "iter-5"]) == [
        "iter-2", "iter-5", "iter-10"]
    # missing levels go last, counted once
    assert facets.order_levels(["", "5.0", "None", "2.0"]) == ["2.0", "5.0", ""]
    assert facets.format_level(5.0) == "5" and facets.format_level("") == "None"


def test_varying_finds_the_columns_that_vary_and_keeps_empty_cells_as_a_level():
    frame = made_up_table()
    frame["search"] = "strong_wolfe"
    assert facets.varying(frame, ["search", "history", "max_eval", "nope", "seed"]) \
        == ["history", "max_eval", "seed"]
    one_empty = pd.DataFrame({"max_eval": ["", "5.0"], "x": ["a", "a"]})
    assert facets.varying(one_empty, ["max_eval", "x"]) == ["max_eval"]


@pytest.mark.parametrize("text, seconds", [("04:05.5", 245.5), ("1:02:03", 3723.0),
                                           ("12.25", 12.25), ("", math.nan)])
def test_durations_in_seconds_or_clock_text(text, seconds):
    value = facets.parse_duration(text)
    assert value == seconds or (math.isnan(value) and math.isnan(seconds))


def test_durations_of_a_column_mix_numbers_and_clock_text():
    column = pd.Series(["04:05.5", "12.25", "", "1:00:00", "None"])
    out = facets.parse_durations(column).tolist()
    assert out[:2] == [245.5, 12.25] and out[3] == 3600.0
    assert math.isnan(out[2]) and math.isnan(out[4])


def test_aggregate_takes_median_min_max_and_n_over_seeds():
    frame = pd.DataFrame({"img": ["a"] * 3 + ["b"], "lr": ["1", "1", "1", "1"],
                          "seed": [0, 1, 2, 0], "loss": [1.0, 3.0, 2.0, 5.0],
                          "t": ["00:10", "00:30", "00:20", "00:40"]})
    frame["t"] = frame["t"].map(facets.parse_duration)
    agg = facets.aggregate(frame, ["img", "lr"], ["loss", "t"])
    assert list(agg["img"]) == ["a", "b"] and list(agg["n"]) == [3, 1]
    first = agg.iloc[0]
    assert (first["loss"], first["loss_min"], first["loss_max"]) == (2.0, 1.0, 3.0)
    assert (first["t"], first["t_min"], first["t_max"]) == (20.0, 10.0, 30.0)
    # rows come out in numeric order of the keys, missing keys kept
    agg = aggregated()
    assert agg["history"].tolist()[:5 * 3 * 3:9] == ["3", "10", "100", "200", "1000"]
    assert set(agg["n"]) == {2} and (agg["max_eval"] == "None").any()


def test_pareto_front_keeps_only_undominated_rows_per_group():
    frame = pd.DataFrame({"img": ["a"] * 5 + ["b"],
                          "t": [1.0, 2.0, 3.0, 2.5, 4.0, 9.0],
                          "loss": [5.0, 3.0, 1.0, 4.0, 1.0, 9.0]})
    on = facets.pareto_front(frame, "t", "loss", by=["img"])
    assert on.tolist() == [True, True, True, False, False, True]


def test_success_share_and_time_from_trajectory_or_end_of_run():
    frame = pd.DataFrame({
        "cfg": ["x", "x", "x", "y"],
        "loss": [0.05, 0.08, 0.5, 0.09],
        "max_abs_rep_error": [0.2, 0.7, 0.1, 0.3],
        "synth_duration": [100.0, 50.0, 80.0, 40.0],
        "evaluations": [300, 200, 250, 120],
        "seconds_to_success_loss": [20.0, 30.0, None, None],
        "evaluations_to_success_loss": [60, 90, None, None],
    })
    table = facets.success_table(frame, ["cfg"]).set_index("cfg")
    # run 2 has a rep error above 0.5, run 3 a loss above 0.1
    assert table.loc["x", "n_success"] == 1 and table.loc["x", "share"] == 1 / 3
    assert table.loc["x", "median_seconds_to_success"] == 20.0
    assert table.loc["x", "median_evaluations_to_success"] == 60
    assert table.loc["x", "reach_from"] == "trajectory"
    # no trajectory: the whole run is the (upper-bound) time
    assert table.loc["y", "median_seconds_to_success"] == 40.0
    assert table.loc["y", "reach_from"] == "whole run, an upper bound"
    assert "representation" in table.loc["x", "criterion"]
    # a legacy table without the representation error: said so
    legacy = facets.success_table(frame.drop(columns="max_abs_rep_error"), ["cfg"])
    assert legacy.set_index("cfg").loc["x", "n_success"] == 2
    assert "not in this table" in legacy["criterion"].iloc[0]


def test_success_fields_of_a_trajectory():
    rows = [{"step": 0, "seconds": 0.0, "loss": 3.0, "evaluations": 0},
            {"step": 1, "seconds": 1.5, "loss": 0.09, "evaluations": 12},
            {"step": 2, "seconds": 2.0, "loss": 0.01, "evaluations": 20}]
    assert success.first_reach(rows)["step"] == 1
    assert success.first_reach(rows, 0.001) is None


def test_encoding_gives_every_varying_variable_a_role():
    agg = aggregated()
    enc = facets.choose_encoding(agg, ["max_eval", "max_iter", "history"],
                                 image="filename")
    assert (enc.hue, enc.marker, enc.facets) == ("max_eval", "max_iter", ["history"])
    # too many levels for a colour: the next role
    many = agg.assign(max_eval=range(len(agg)))
    enc = facets.choose_encoding(many, ["max_eval", "max_iter"], image="filename")
    assert enc.hue == "max_iter" and enc.facets == ["max_eval"]


def test_grid_shape_keeps_aspect_readable():
    for n_images, n_panels, n_x in itertools.product([1, 2, 3, 6], range(1, 13),
                                                     [1, 2]):
        cols, rows, packed = facet_grid.grid_shape(n_images, n_panels, n_x)
        blocks = cols // n_panels if packed else 1
        width, height = facet_grid.figure_size(cols, rows, n_x, blocks=blocks)
        assert width / height <= 3.0, (n_images, n_panels, n_x, cols, rows)
        slots = cols * rows if packed else rows // n_images * cols
        assert slots >= (n_panels * n_images if packed else n_panels)


def _draw(agg, x="synth_duration", **kwargs):
    enc = facets.choose_encoding(agg, ["max_eval", "max_iter", "history"],
                                 image="filename", labels={"max_eval": "max_eval"})
    return facet_grid.scatter_grid(agg, x, "loss", enc, ylabel="final loss",
                                  title="made-up sweep", front=True, **kwargs)


def test_figure_from_a_made_up_table_passes_every_check():
    fig = _draw(aggregated())
    checks.check_figure(fig, numeric=("history",), legend_numeric=("max_iter",))
    titles = checks.panel_titles(fig)
    assert [t for t in titles if t.startswith("fig4a")] == [
        f"fig4a | history={h}" for h in HISTORIES]  # fig4a before fig16b (natural)
    assert "median of n = 2 runs" in fig._suptitle.get_text()
    plt.close(fig)


def test_figure_with_seconds_beside_evaluations_and_many_levels():
    levels = [1, 2, 3, 5, 10, 20, 30, 50, 100, 200, 300, 500]
    frame = made_up_table(levels=levels, seeds=(0, 1, 2))
    frame = frame[~((frame["seed"] == "2") & (frame["history"] == "3"))]
    frame["evaluations"] = pd.to_numeric(frame["max_iter"]) * 12
    frame = frame.assign(synth_duration=frame["synth_duration"].map(
        facets.parse_duration), loss=pd.to_numeric(frame["loss"]))
    agg = facets.aggregate(frame, ["filename", "history", "max_eval", "max_iter"],
                           ["loss", "synth_duration", "evaluations"])
    fig = _draw(agg, x=["synth_duration", "evaluations"])
    checks.check_figure(fig, numeric=("history",))
    # n differs between points: the caption and legend say so
    assert "n = 2 to 3 runs" in fig._suptitle.get_text()
    assert any("fewer than 3" in t for t in sum(
        checks.legend_sections(fig).values(), []))
    plt.close(fig)


def test_images_side_by_side_each_keep_their_own_y_axis():
    frame = made_up_table(levels=[100])
    frame = pd.concat([frame.assign(filename=f"img{i}") for i in range(4)])
    agg = aggregated(frame)
    enc = facets.choose_encoding(agg, ["max_eval", "max_iter"], image="filename")
    fig = facet_grid.scatter_grid(agg, "synth_duration", "loss", enc)
    checks.check_figure(fig)
    with_y = [ax.get_title() for ax in checks.data_axes(fig)
              if ax.yaxis.get_visible()]
    assert sorted(with_y) == [f"img{i}" for i in range(4)]
    plt.close(fig)


@pytest.mark.parametrize("table", ["summary_mse", "summary_small_lr"])
def test_figures_of_the_shared_legacy_tables(shared_dir, table):
    path = shared_dir / "reference" / "ps_lbfgs_original" / table / "all_loss.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["synth_duration"] = frame["synth_duration"].map(facets.parse_duration)
    frame["loss"] = pd.to_numeric(frame["loss"])
    candidates = ["filename", "search_func", "LBFGS_max_iter", "LBFGS_max_eval",
                  "LBFGS_history_size", "learning_rate", "coarse_to_fine"]
    vary = facets.varying(frame, candidates)
    assert "LBFGS_history_size" not in vary and "learning_rate" in vary
    agg = facets.aggregate(frame, vary, ["loss", "synth_duration"])
    assert set(agg["n"]) == {2}
    enc = facets.choose_encoding(agg, ["LBFGS_max_eval", "LBFGS_max_iter",
                                       "learning_rate"], image="filename",
                                 labels={"learning_rate": "lr"})
    fig = facet_grid.scatter_grid(agg, "synth_duration", "loss", enc, front=True)
    checks.check_figure(fig, numeric=("lr",),
                        legend_numeric=("LBFGS_max_iter", "LBFGS_max_eval"))
    plt.close(fig)


# The checks themselves must fail on the faults they are for.


def test_checks_catch_two_images_in_a_panel_and_a_legend_over_data():
    fig, ax = plt.subplots(figsize=(4, 3))
    for img in ("fig4a", "fig16b"):
        (line,) = ax.plot([1, 2], [1, 2], label=img)
        line.set_gid(f"image:{img}")
    ax.legend(loc="center")
    with pytest.raises(AssertionError, match="holds images"):
        checks.check_one_image_per_panel(fig)
    with pytest.raises(AssertionError, match="legend overlaps"):
        checks.check_legends_outside(fig)
    plt.close(fig)


def test_checks_catch_text_order_wide_figures_overlaps_and_bare_log_axes():
    fig, axes = plt.subplots(1, 3, figsize=(15, 2.5))
    for ax, history in zip(axes, ["10", "100", "3"], strict=True):
        ax.set_title(f"fig4a | history={history}")
        ax.plot([1, 2], [1, 2])
    with pytest.raises(AssertionError, match="not numeric"):
        checks.check_numeric_panel_order(fig, "history")
    with pytest.raises(AssertionError, match="as wide as high"):
        checks.check_aspect(fig)
    axes[0].text(1.5, 1.5, "a long note over here")
    axes[0].text(1.5, 1.5, "another note")
    with pytest.raises(AssertionError, match="overlaps"):
        checks.check_no_text_overlap(fig)
    axes[1].set_yscale("log")
    axes[1].set_ylim(1.1, 1.9)
    with pytest.raises(AssertionError, match="tick labels"):
        checks.check_tick_labels(fig)
    # tidy_axis repairs it
    axis_ticks.tidy_axis(axes[1].yaxis)
    assert len(checks.visible_tick_labels(axes[1].yaxis)) >= 2
    plt.close(fig)


def test_narrow_log_range_still_gets_two_labels():
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(0.716, 0.721)
    axis_ticks.tidy_axis(ax.yaxis)
    assert len(checks.visible_tick_labels(ax.yaxis)) >= 2
    plt.close(fig)


@pytest.mark.parametrize("low, high", [(150, 950), (27, 190), (1e-8, 1e3),
                                       (2e-6, 6e-4)])
def test_log_ticks_are_spread_and_never_crowd(low, high):
    fig = plt.figure(figsize=(4, 3))
    ax = fig.add_axes([0.15, 0.2, facet_grid.AXES_W / 4, facet_grid.AXES_H / 3])
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    axis_ticks.tidy_axis(ax.xaxis)
    assert ax.get_xscale() == "log"
    assert 2 <= len(checks.visible_tick_labels(ax.xaxis)) <= 8
    checks.check_no_text_overlap(fig)
    plt.close(fig)


def test_figure_jobs_side_by_side_give_every_path_and_report_a_failure(tmp_path):
    """Forked figure jobs: their paths in submission order; a failed job raises."""
    import os

    from plenexp.summary import figure_files

    def job(name):
        def draw():
            path = tmp_path / f"{name}-{os.getpid()}.txt"
            path.write_text(name)
            return [path]
        return draw

    jobs = figure_files.FigureJobs()
    # forked even inside a threaded test worker; one child, the rest queued
    jobs.parallel, jobs.children = True, 1
    for name in ("a", "b", "c"):
        jobs.submit(job(name))
    paths = jobs.paths()  # the queued ones as the child frees up
    assert [p.read_text() for p in paths] == ["a", "b", "c"]
    # every one drawn in a child, one at a time (each child a process of its own)
    pids = {p.name.split("-")[1] for p in paths}
    assert str(os.getpid()) not in pids and len(pids) == 3

    def broken():
        raise ValueError("no such column")

    jobs.submit(job("d"))
    jobs.submit(broken)
    with pytest.raises(RuntimeError, match="ValueError: no such column"):
        jobs.paths()
    sequential = figure_files.FigureJobs()
    sequential.parallel = False
    sequential.submit(job("e"))
    assert sequential.paths() == [tmp_path / f"e-{os.getpid()}.txt"]
