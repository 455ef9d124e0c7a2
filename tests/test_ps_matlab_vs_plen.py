"""ps_matlab_vs_plen: grids, initial images, tables, the decision, figures, scripts."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from plenexp import cli
from plenexp.runs import harness, rundir
from plenexp.summary import facet_grid
from ps_matlab_vs_plen import analyze, plot, run, stats, summarize
from ps_matlab_vs_plen import write_disbatch as grids
from tests import figure_checks as checks

EXPERIMENT_DIR = "ps_matlab_vs_plen"
#: overall + the eleven PS statistic groups of plenoptic 2.1
GROUPS = {
    "overall", "pixel_statistics", "auto_correlation_magnitude",
    "skew_reconstructed", "kurtosis_reconstructed",
    "auto_correlation_reconstructed", "std_reconstructed",
    "cross_orientation_correlation_magnitude", "magnitude_std",
    "cross_scale_correlation_magnitude", "cross_scale_correlation_real",
    "var_highpass_residual",
}
FUNCS = ("l2_norm", "mse", "sse", "max_abs")


def argv_dict(task):
    """A task's options as a dict (``--checkpoints`` as a list of its values)."""
    argv = [a for a in task.argv if a != grids.MATLAB_WORD]
    out: dict = {}
    for arg in argv:
        if arg.startswith("--"):
            key = arg
            out[key] = [] if arg == "--checkpoints" else None
        elif key == "--checkpoints":
            out[key].append(arg)
        else:
            out[key] = arg
    return out


def method_of(args: dict) -> str:
    return grids.optimizer_label(args["--optimizer"], int(args.get("--history_size",
                                                                   0)))


# ---------------------------------------------------------------- grids


def test_full_grids_are_the_published_sweep(tmp_path):
    plen = grids.plenoptic_full(root=tmp_path)
    matlab = grids.matlab_full(root=tmp_path)
    assert len(plen) == 400 and len(matlab) == 40
    adam = [argv_dict(t) for t in plen if "Adam" in t.argv]
    lbfgs = [argv_dict(t) for t in plen if "LBFGS" in t.argv]
    assert len(adam) == 100 and len(lbfgs) == 300
    assert {a["--synth_max_iter"] for a in adam} == {"30", "75", "150", "300", "600"}
    assert {a["--weighted"] for a in adam} == {"0"}
    assert {a["--synth_max_iter"] for a in lbfgs} == {"10", "25", "50", "100", "200"}
    assert {a["--history_size"] for a in lbfgs} == {"3", "100", "300"}
    assert {a["--weighted"] for a in lbfgs} == {"100"}
    assert {a["--max_iter"] for a in lbfgs} == {"10"}
    assert all(t.argv[0] == grids.MATLAB_WORD for t in matlab)
    everything = [argv_dict(t) for t in plen + matlab]
    assert {a["--img"] for a in everything} == {"fig4a", "fig16b"}
    assert {Path(a["--init_img"]).name for a in everything} == {
        f"seed-{s}.png" for s in range(10)}
    assert {Path(a["--init_img"]).parent for a in everything} == {
        tmp_path / "ps_matlab_vs_plen" / "init_images" / "256x256"}
    assert {a["--n_iter"] for a in map(argv_dict, matlab)} == {"400", "800"}
    for name in grids.GRID_NAMES:
        names = [t.name for t in grids.GRIDS[name](root=tmp_path)]
        assert len(names) == len(set(names)), "run names must be unique"
    # plenoptic and MATLAB runs share one grid directory: no name in common
    assert not {t.name for t in plen} & {t.name for t in matlab}


def test_longest_grid_gives_every_budget_for_half_the_compute(tmp_path):
    every = grids.side_grid("full", "plenoptic")(root=tmp_path)
    longest = grids.side_grid("full-longest", "plenoptic")(root=tmp_path)
    assert len(longest) == 2 * 10 * (1 + 3)  # one run per configuration
    # each longest run keeps, as checkpoints, exactly the budgets of the others
    budgets = {}
    for task in every:
        args = argv_dict(task)
        key = (args["--img"], args["--init_img"], method_of(args))
        budgets.setdefault(key, set()).add(int(args["--synth_max_iter"]))
    for task in longest:
        args = argv_dict(task)
        kept = {int(k) for k in args["--checkpoints"]}
        key = (args["--img"], args["--init_img"], method_of(args))
        assert kept | {int(args["--synth_max_iter"])} == budgets[key]
        assert max(kept) < int(args["--synth_max_iter"])
    steps = {name: sum(int(argv_dict(t)["--synth_max_iter"]) for t in tasks)
             for name, tasks in (("every", every), ("longest", longest))}
    ratio = steps["every"] / steps["longest"]
    assert 1.85 < ratio < 2.0, ratio  # Adam 1155/600, LBFGS 385/200 iterations
    # the MATLAB side stays the full grid's
    assert grids.side_grid("full-longest", "matlab") is grids.matlab_full


def test_quick_grid_is_small_and_spans_each_method(tmp_path):
    plen = grids.plenoptic_quick(root=tmp_path)
    matlab = grids.matlab_quick(root=tmp_path)
    assert len(plen) + len(matlab) <= 40
    methods = {method_of(a) for a in map(argv_dict, plen)}
    assert methods == {"Adam", "LBFGS-3", "LBFGS-100"}
    for method in methods:
        budgets = {a["--synth_max_iter"] for a in map(argv_dict, plen)
                   if method_of(a) == method}
        assert len(budgets) >= 3
    assert len({argv_dict(t)["--n_iter"] for t in matlab}) >= 3
    assert all(argv_dict(t)["--img"] == "reptile_skin" for t in plen + matlab)


def test_matlab_grids_refuse_gpus(tmp_path):
    with pytest.raises(cli.UsageError, match="CPU only"):
        grids.matlab_quick(root=tmp_path, device="cuda:0")


def test_ad_hoc_run_names_differ_by_every_result_changing_argument(tmp_path):
    args = {"img": "reptile_skin", "crop": 128, "init_img": "seed-0",
            "optimizer": "LBFGS", "weighted": 100.0, "loss": "l2_norm",
            "max_iter": 10, "history_size": 3, "device": "cpu",
            "synth_max_iter": 5, "checkpoints": [], "output_dir": None,
            "output_root": str(tmp_path)}
    dirs = set()
    for change in ({}, {"loss": "mse"}, {"crop": 256}, {"max_iter": 5},
                   {"checkpoints": [2]}, {"device": "cuda"}):
        changed = {**args, **change}
        dirs.add(harness.run_dir_for(None, tmp_path, grids.EXPERIMENT,
                                     run.run_name(changed), args=changed))
    assert len(dirs) == 6
    assert all(d.parent == tmp_path / grids.EXPERIMENT / "adhoc" for d in dirs)


# ---------------------------------------------------------------- initial images


def test_init_images_match_the_reference(shared_dir):
    import imageio.v3 as iio

    reference = sorted((shared_dir / "reference" / "matlab" / "init_images")
                       .glob("seed-*.png"))
    assert reference
    for path in reference:
        seed = int(path.stem.split("-")[1])
        expected = iio.imread(path)
        assert (run.make_init_image(seed, expected.shape) == expected).all()


def test_resolve_init_image_by_name_and_hint(tmp_path):
    with pytest.raises(cli.UsageError, match="generate_init_imgs.py --size 128x128"):
        run.resolve_init_image("seed-3", tmp_path, (128, 128))
    with pytest.raises(cli.UsageError, match="expected an image file or seed-N"):
        run.resolve_init_image("noise", tmp_path, (128, 128))
    run.write_init_images(grids.init_image_dir(tmp_path, (128, 128)), [3],
                          (128, 128))
    assert run.resolve_init_image("seed-3", tmp_path, (128, 128)) == \
        tmp_path / "ps_matlab_vs_plen" / "init_images" / "128x128" / "seed-3.png"
    assert not list(grids.init_image_dir(tmp_path, (128, 128)).glob(".*"))


# ---------------------------------------------------------------- loss tables


def test_analyze_real_matlab_outputs(shared_dir, tmp_path):
    import scipy.io

    ref = shared_dir / "reference" / "matlab"
    textures = shared_dir / "textures"
    tables = {}
    for target in ("metal", "text"):
        mats = sorted(ref.glob(f"{target}_seed-*_iter-*.mat"))
        assert analyze.analyze(mats, csv_dir=tmp_path, engine="Octave 7.3.0",
                               img=str(textures / f"{target}.pgm")) == len(mats)
        for mat in mats:
            tables[mat] = pd.read_csv(tmp_path / f"{mat.stem}.csv")
    assert len(tables) == 8
    for mat, table in tables.items():
        # every loss function x (overall + every statistic group), once
        assert len(table) == len(FUNCS) * len(GROUPS)
        assert set(zip(table.loss_func, table.loss_type, strict=True)) == {
            (f, g) for f in FUNCS for g in GROUPS}
        assert table["loss"].notna().all() and (table["loss"] >= 0).all()
        assert (table.optimizer == "textureSynth").all()
        assert (table.engine == "Octave 7.3.0").all() and (table.device == "cpu").all()
        raw = scipy.io.loadmat(mat)
        init, synth = float(raw["initToc"].squeeze()), float(raw["synthToc"].squeeze())
        assert table.init_duration.iloc[0] == pytest.approx(init)
        assert table.synth_duration.iloc[0] == pytest.approx(synth - init)
        name = mat.stem.split("_")
        assert table.img.iloc[0] == name[0] and table.init_img.iloc[0] == name[1]
        assert table.seed.iloc[0] == int(name[1].split("-")[1])
        assert table.synth_iters.iloc[0] == int(name[2].split("-")[1])
        by = table.set_index(["loss_func", "loss_type"])["loss"]
        assert by["sse", "overall"] == pytest.approx(by["l2_norm", "overall"] ** 2)
        assert by["sse", "overall"] == pytest.approx(
            sum(by["sse", g] for g in GROUPS - {"overall"}))
        assert by["max_abs", "overall"] == pytest.approx(
            max(by["max_abs", g] for g in GROUPS - {"overall"}))
        assert by["max_abs", "overall"] ** 2 <= by["sse", "overall"]

    def overall(stem):
        table = tables[ref / f"{stem}.mat"]
        return table.query("loss_func == 'l2_norm' and loss_type == 'overall'")[
            "loss"].item()

    # textureSynth keeps converging: 25 iterations beat 10 from the same start
    for target in ("metal", "text"):
        for seed in (0, 1):
            assert overall(f"{target}_seed-{seed}_iter-25") < \
                overall(f"{target}_seed-{seed}_iter-10")


def test_analyze_bare_mat_without_target_exits_2(shared_dir, run_script, tmp_path):
    mat = shared_dir / "reference" / "matlab" / "metal_seed-0_iter-10.mat"
    tables = tmp_path / "tables"
    proc = run_script(f"{EXPERIMENT_DIR}/analyze.py", mat, "--csv_dir", tables,
                      check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "unknown image 'metal'" in proc.stderr and "--img FILE" in proc.stderr
    assert not tables.exists()


def _matlab_run(run_dir: Path, mat: Path, init: Path, n_iter: int,
                process_s: float | None = 30.0, host: str = "host-a",
                version: str = "7.3.0") -> None:
    """A finished ps_matlab/synthesize.py run directory, as that runner leaves it."""
    run_dir.mkdir(parents=True)
    shutil.copy(mat, run_dir / "metamer.mat")
    rundir.write_json(run_dir / "provenance.json", {
        "args": {"img": str(mat.parents[2] / "textures" / mat.name.split("_")[0])
                 + ".pgm", "crop": None, "init_img": str(init), "n_iter": n_iter,
                 "device": "cpu", "seed": int(init.stem.split("-")[1])},
        "device": "cpu", "device_name": "test CPU", "engine": "octave",
        "engine_version": version, "host": host, "process_duration": process_s})
    # the runner scores its metamer in ps_matlab's own (wide) table
    (run_dir / "loss.csv").write_text(
        "name,image,seed,n_iter,engine,loss,max_abs_rep_error,pixel_statistics\n"
        f"{run_dir.name},metal,1,{n_iter},octave,0.3,0.5,0.01\n")
    rundir.write_json(run_dir / "done.json", {})


def test_analyze_matlab_run_directories(shared_dir, tmp_path):
    ref = shared_dir / "reference" / "matlab"
    init = ref / "init_images" / "seed-1.png"
    good = tmp_path / "grid" / "matlab_metal_seed-1_iter-25_device-cpu"
    _matlab_run(good, ref / "metal_seed-1_iter-25.mat", init, 25)
    broken = tmp_path / "grid" / "matlab_metal_seed-1_iter-10_device-cpu"
    _matlab_run(broken, ref / "metal_seed-1_iter-10.mat", init, 10)
    data = (broken / "metamer.mat").read_bytes()
    (broken / "metamer.mat").write_bytes(data[: len(data) // 3])  # truncated

    failed: list = []
    found = analyze.results_below([tmp_path / "grid"])
    assert analyze.analyze(found, failed=failed) == 1
    assert failed == [broken] and not run.is_loss_table(broken / "loss.csv")
    table = pd.read_csv(good / "loss.csv")
    assert len(table) == len(FUNCS) * len(GROUPS)
    first = table.iloc[0]
    assert (first.img, first.init_img, first.optimizer) == ("metal", "seed-1",
                                                            "textureSynth")
    assert (first.loss_func, first.loss_type) == ("l2_norm", "overall")
    assert first.engine == "Octave 7.3.0" and first.host == "host-a"
    assert first.synth_iters == 25 and first.process_duration == 30.0
    assert first.res_highpass_weight == 1 and first.device_name == "test CPU"
    # the same numbers as the bare MAT file gives
    analyze.analyze([ref / "metal_seed-1_iter-25.mat"], csv_dir=tmp_path / "bare",
                    img=str(shared_dir / "textures" / "metal.pgm"))
    bare = pd.read_csv(tmp_path / "bare" / "metal_seed-1_iter-25.csv")
    assert list(bare.loss) == pytest.approx(list(table.loss), rel=1e-12)
    record = run.load_run(good)
    assert record.metamer is None and record.images["metamer"].shape == (1, 1, 256,
                                                                          256)
    assert record.row["loss_func"] == "l2_norm"


def test_analyze_script_turns_a_matlab_runs_table_into_this_experiments(
        shared_dir, run_script, tmp_path):
    """The runner's wide ps_matlab table is rewritten; the figure is drawn."""
    ref = shared_dir / "reference" / "matlab"
    run_dir = tmp_path / "grid" / "matlab_metal_seed-1_iter-10_device-cpu"
    _matlab_run(run_dir, ref / "metal_seed-1_iter-10.mat",
                ref / "init_images" / "seed-1.png", 10)
    assert run.load_run(run_dir).row == {}  # not analysed yet: no row
    proc = run_script("ps_matlab_vs_plen/analyze.py", tmp_path / "grid")
    assert "1 of 1 result(s) analysed" in proc.stdout
    assert "1 figure(s) drawn" in proc.stdout
    table = pd.read_csv(run_dir / "loss.csv")
    assert {"loss_func", "loss_type"} <= set(table.columns)
    assert (run_dir / "metamers.png").stat().st_size > 10_000
    proc = run_script("ps_matlab_vs_plen/analyze.py", tmp_path / "grid")
    assert "0 of 1 result(s) analysed (1 already had their table" in proc.stdout


def test_matlab_tasks_draw_nothing_while_timed(tmp_path):
    (task,) = grids.matlab_smoke(tmp_path)
    assert "--no_plots" in task.argv


def test_summary_of_the_shared_matlab_references(shared_dir, tmp_path):
    """Real textureSynth results as run directories: tables, text and figures."""
    ref = shared_dir / "reference" / "matlab"
    grid = tmp_path / "grid"
    for mat in sorted(ref.glob("*_seed-*_iter-*.mat")):
        seed = mat.stem.split("_")[1]
        _matlab_run(grid / f"matlab_{mat.stem}", mat,
                    ref / "init_images" / f"{seed}.png",
                    int(mat.stem.rsplit("-", 1)[1]))
    assert analyze.analyze(analyze.results_below([grid])) == 8
    out = tmp_path / "summary"
    frame = summarize.summarize(grid, out)
    assert set(frame["curve"]) == {"textureSynth (Octave 7.3.0)"}
    text = (out / "summary.txt").read_text()
    assert "matlab" not in text.lower().replace("textureSynth", "")
    best = pd.read_csv(out / "best_method.csv")
    assert set(best["img"]) == {"metal", "text"}
    assert (best["best_method"] == "textureSynth (Octave 7.3.0)").all()
    assert "metal: overall winner at <= 50 s: textureSynth (Octave 7.3.0), the " \
        "only method on this image." in text
    assert "met by textureSynth (Octave 7.3.0) in 1 of 2 seeds" in \
        (out / "conclusion.txt").read_text()
    reached = pd.read_csv(out / "success.csv").set_index("img")
    # metal seed 1 gets under 0.1 after 25 iterations, seed 0 (0.102) does not
    assert (reached.loc["metal", "n_success"], reached.loc["text", "n_success"]) \
        == (1, 0)
    fig = summarize.loss_figure(frame, "l2_norm", ["synth_duration"], "refs")
    checks.check_one_image_per_panel(fig)
    assert [t.split(facet_grid.TITLE_SEP)[0] for t in checks.panel_titles(fig)] == [
        "metal", "text"]
    plt.close(fig)
    written = summarize.metamer_grids(frame, out / "metamers")
    assert sorted(p.name for p in written if p.suffix == ".png") == [
        "metal_seed-0.png", "metal_seed-1.png", "text_seed-0.png", "text_seed-1.png"]


# ---------------------------------------------------------------- the decision


def made_up_table(images=("fig4a", "fig16b"), seeds=(0, 1, 2), hosts=("host-a",),
                  spread: float = 0.02) -> pd.DataFrame:
    """Rows as the gathered loss.csv tables hold them: the methods of the full
    grid, several seeds, textureSynth on each host, every group."""
    rng = np.random.default_rng(0)
    curves = [("Adam", 1.0, "plenoptic 2.1.1", [30, 75, 150, 300, 600], 0.05, 40.0),
              ("LBFGS-3", 100.0, "plenoptic 2.1.1", [10, 25, 50, 100, 200], 0.4, 6.0),
              ("LBFGS-100", 100.0, "plenoptic 2.1.1", [10, 25, 50, 100, 200], 0.5,
               5.0)]
    rows = []
    for img, seed in itertools.product(images, seeds):
        runs = [(o, w, e, n, t * n, c / n**0.8, "host-a") for o, w, e, iters, t, c
                in curves for n in iters]
        runs += [("textureSynth", 1.0, "Octave 7.3.0", n, 0.3 * n * (1 + i), 8 / n**0.4,
                  host) for i, host in enumerate(hosts) for n in (20, 50, 400, 800)]
        for optimizer, weight, engine, n, seconds, loss, host in runs:
            noise = 1 + spread * rng.standard_normal()
            state = {"img": img, "seed": seed, "init_img": f"seed-{seed}",
                     "optimizer": optimizer, "engine": engine, "device": "cpu",
                     "host": host, "synth_iters": n, "steps": n,
                     "evaluations": "" if optimizer == "textureSynth" else n * 9,
                     "res_highpass_weight": weight, "init_duration": 1.0,
                     "synth_duration": seconds * (1 + 0.05 * seed),
                     "process_duration": seconds + 4}
            # textureSynth matches the pixel statistics better than anyone
            by_group = {g: loss * noise / 11 * (0.1 if optimizer == "textureSynth"
                                                and g == "pixel_statistics" else 1)
                        for g in GROUPS - {"overall"}}
            losses = {func: {"overall": loss * noise, **by_group}
                      for func in ("l2_norm", "mse", "sse")}
            losses["max_abs"] = {"overall": loss * noise / 3,
                                 **{g: v / 3 for g, v in by_group.items()}}
            rows += run.loss_rows(state, losses, {"objective": "x",
                                                  "metamer": "metamer.pt",
                                                  "run_dir": f"{img}/{optimizer}"})
    return summarize.normalize(pd.DataFrame(rows))


def _table(entries, groups=None) -> pd.DataFrame:
    """A gathered table from (curve, seed, iters, seconds, loss) entries."""
    rows = []
    for method, seed, iters, seconds, loss in entries:
        optimizer, _, engine = method.partition(" ")
        state = {"img": "reptile_skin", "seed": seed, "init_img": f"seed-{seed}",
                 "optimizer": optimizer, "engine": engine.strip("()"),
                 "device": "cpu", "host": "h", "synth_iters": iters, "steps": iters,
                 "evaluations": iters * 10, "res_highpass_weight": 1.0,
                 "init_duration": 1.0, "synth_duration": seconds,
                 "process_duration": seconds + 3}
        by_group = (groups or {}).get(method, {"pixel_statistics": loss / 2,
                                               "magnitude_std": loss / 2})
        losses = {func: {"overall": loss, **by_group} for func in ("l2_norm", "mse",
                                                                   "sse")}
        losses["max_abs"] = {"overall": loss / 4, **by_group}
        rows += run.loss_rows(state, losses, {"metamer": "metamer.pt"})
    return summarize.normalize(pd.DataFrame(rows))


def test_winner_only_when_intervals_over_seeds_do_not_overlap():
    entries = []
    for seed in (0, 1, 2):
        jitter = 0.01 * seed
        # at <= 1 s: Adam 3.0-3.02, LBFGS 2.9-3.1 (overlap: a tie)
        entries += [("Adam", seed, 10, 0.6, 3.0 + jitter),
                    ("LBFGS-100", seed, 2, 0.9, 2.9 + 0.1 * seed),
                    # at <= 2 s: LBFGS 0.80-0.82, Adam 1.0-1.02 (apart: a winner)
                    ("Adam", seed, 40, 1.8, 1.0 + jitter),
                    ("LBFGS-100", seed, 5, 1.9, 0.8 + jitter),
                    ("textureSynth (Octave 7.3.0)", seed, 5, 4.0, 0.05 + jitter)]
    best = stats.best_by_budget(_table(entries)).set_index("budget_s")
    assert list(best.index) == [1, 2, 5]
    assert best.loc[1, "best_method"] == "tie: LBFGS-100 ≈ Adam"
    assert best.loc[1, "winner"] == "" and best.loc[1, "runner_up"] == "Adam"
    assert best.loc[2, "best_method"] == "LBFGS-100" == best.loc[2, "winner"]
    assert (best.loc[2, "best_loss_min"], best.loc[2, "best_loss_max"]) == \
        pytest.approx((0.8, 0.82))
    assert best.loc[5, "best_method"] == "textureSynth (Octave 7.3.0)"
    assert best.loc[5, "best_n"] == 3
    assert math.isnan(best.loc[2, "loss[textureSynth (Octave 7.3.0)]"])
    text = "\n".join(stats.format_best(best.reset_index()))
    assert "<=      1 s: tie: LBFGS-100 ≈ Adam 3 [2.9, 3.1]" in text
    said = stats.conclusion(best.reset_index(), pd.DataFrame(columns=["img"]),
                            pd.DataFrame(columns=["img", "n_success"]))
    assert "≤ 1 s a tie (LBFGS-100 ≈ Adam); ≤ 2 s LBFGS-100 (0.81); ≤ 5 s " \
        "textureSynth (Octave 7.3.0) (0.06)." in said
    assert "never ran" not in said
    # the same table without its textureSynth rows: the decision says so first
    plenoptic_only = [entry for entry in entries if entry[0] != "textureSynth "
                      "(Octave 7.3.0)"]
    best = stats.best_by_budget(_table(plenoptic_only))
    said = stats.conclusion(best, pd.DataFrame(columns=["img"]),
                            pd.DataFrame(columns=["img", "n_success"]))
    assert said.startswith("MATLAB textureSynth never ran: the table has no "
                           "textureSynth rows, so this compares plenoptic's "
                           "methods only.")


def test_groups_the_winner_loses_and_success_share():
    groups = {"LBFGS-100": {"pixel_statistics": 0.05, "magnitude_std": 0.01},
              "textureSynth (Octave 7.3.0)": {"pixel_statistics": 0.01,
                                              "magnitude_std": 0.3}}
    entries = []
    for seed in (0, 1):
        entries += [("LBFGS-100", seed, 20, 8.0, 0.06 + 0.01 * seed),
                    ("LBFGS-100", seed, 5, 2.0, 0.5),
                    ("textureSynth (Octave 7.3.0)", seed, 20, 3.0, 0.9)]
    frame = _table(entries, groups)
    best = stats.best_by_budget(frame)
    lost = stats.groups_lost(frame, best)
    assert lost[["winner", "other", "group"]].values.tolist() == [
        ["LBFGS-100", "textureSynth (Octave 7.3.0)", "pixel_statistics"]]
    assert not lost["tie"].iloc[0]
    assert "loses (median LBFGS-100 vs the other's)" in \
        "\n".join(stats.format_groups_lost(lost, best))
    reached = stats.success_by_method(frame).set_index("curve")
    # both LBFGS seeds get under 0.1 with every statistic within 0.5, at 20 steps
    assert reached.loc["LBFGS-100", "n_success"] == 2
    assert reached.loc["LBFGS-100", "median_seconds_to_success"] == 8.0
    assert reached.loc["LBFGS-100", "median_evaluations_to_success"] == 200
    assert reached.loc["textureSynth (Octave 7.3.0)", "share"] == 0
    assert "issue #365" in reached["criterion"].iloc[0]


def test_engines_and_hosts_never_share_a_curve():
    frame = made_up_table(hosts=("host-a", "host-b"))
    curves = set(frame["curve"])
    assert {"textureSynth (Octave 7.3.0) [cpu on host-a]",
            "textureSynth (Octave 7.3.0) [cpu on host-b]"} <= curves
    assert not any("matlab" in c for c in curves)
    legacy = summarize.normalize(pd.DataFrame([{
        "img": "a", "init_img": "seed-0", "optimizer": "matlab", "device": "cpu",
        "synth_iters": 5, "res_highpass_weight": 1, "init_time": 1,
        "synth_only_time": 2, "total_time": 5, "loss_func": "l2_norm",
        "loss_type": "overall", "loss": 1.0}]))
    assert legacy["method"].item() == "textureSynth (engine unknown)"
    assert legacy["synth_duration"].item() == 2 and legacy["seed"].item() == 0


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("images, seeds, hosts", [
    (("reptile_skin",), (0, 1), ("host-a",)),
    (("fig4a", "fig16b"), tuple(range(10)), ("host-a", "host-b"))])
def test_loss_figures_pass_every_check(images, seeds, hosts):
    frame = made_up_table(images, seeds, hosts)
    fig = summarize.loss_figure(frame, "l2_norm",
                                ["synth_duration", "evaluations"], "made up",
                                summarize.NO_EVALUATIONS)
    checks.check_figure(fig)
    titles = checks.panel_titles(fig)
    assert len(titles) == 2 * len(images)  # seconds | evaluations, per image
    assert {t.split(facet_grid.TITLE_SEP)[0] for t in titles} == set(images)
    assert f"median of n = {len(seeds)} runs" in fig._suptitle.get_text()
    # each curve's budgets are joined in iteration order, one line per curve
    ax = checks.data_axes(fig)[0]
    joined = {line.get_label() for line in ax.lines}
    assert {f"_budgets {c}" for c in frame["curve"]} <= joined
    plt.close(fig)
    fig = summarize.groups_figure(frame, "l2_norm")
    checks.check_figure(fig)
    assert len(checks.panel_titles(fig)) == 11 * len(images)
    # every panel has its own y axis: groups differ by orders of magnitude
    assert all(ax.yaxis.get_visible() and ax.get_yticklabels()
               for ax in checks.data_axes(fig))
    plt.close(fig)


def test_trajectory_figure_one_row_per_image_and_objective():
    rows = []
    for img, (curve, objective), seed, step in itertools.product(
            ("fig4a", "fig16b"), [("Adam", "l2_norm"),
                                  ("LBFGS-100 (highpass x100)",
                                   "l2_norm, highpass x100"),
                                  ("LBFGS-3 (highpass x100)",
                                   "l2_norm, highpass x100")],
            (0, 1, 2), range(30)):
        rows.append({"img": img, "curve": curve, "method": curve, "seed": seed,
                     "objective": objective, "step": step,
                     "seconds": 0.1 * (step + 1) * (1 + seed / 10),
                     "evaluations": 10 * step + 1, "loss": 5 / (step + 1)})
    fig = summarize.trajectory_figure(pd.DataFrame(rows),
                                      ["Adam", "LBFGS-3 (highpass x100)",
                                       "LBFGS-100 (highpass x100)"])
    checks.check_one_image_per_panel(fig)
    checks.check_legends_outside(fig)
    checks.check_no_text_overlap(fig)
    checks.check_aspect(fig)
    titles = checks.panel_titles(fig)
    assert len(titles) == 2 * 2 * 2  # images x objectives x (seconds, evaluations)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["Adam (n = 3)", "LBFGS-3 (highpass x100) (n = 3)",
                      "LBFGS-100 (highpass x100) (n = 3)"]  # numeric order
    plt.close(fig)


def test_budget_grid_one_grey_range_largest_time_within_budget():
    cells = pd.DataFrame({
        "method": ["Adam", "Adam", "LBFGS-100", "textureSynth (Octave 7.3.0)"],
        "optimizer": ["Adam", "Adam", "LBFGS-100", "textureSynth"],
        "synth_iters": [25, 50, 5, 20], "synth_duration": [0.8, 1.9, 1.5, 4.2],
        "loss": [4.9, 3.1, 0.83, 0.81]})
    scale = {25: 1.0, 50: 3.0, 5: 0.2, 20: 0.5}  # pixel ranges differ a lot
    fig, budgets = plot.budget_grid(
        cells, torch.rand(1, 1, 8, 8), ["Adam", "LBFGS-100",
                                        "textureSynth (Octave 7.3.0)"],
        lambda row: scale[row["synth_iters"]] * torch.rand(1, 1, 8, 8), "made up")
    assert budgets == [1, 2, 5]
    shown = [im for ax in fig.axes for im in ax.get_images()]
    assert len(shown) == 1 + 3 + 2 + 1  # target, Adam, LBFGS, textureSynth
    assert {im.get_clim() for im in shown} == {plot.GREY_RANGE}
    headers = [t.get_text() for t in fig.texts]
    assert headers[:3] == ["≤ 1 s", "≤ 2 s", "≤ 5 s"] and "Adam" in headers
    checks.check_no_text_overlap(fig)
    checks.check_aspect(fig)
    texts = {ax.get_title() for ax in fig.axes}
    assert "50 it, 1.9 s\nL2 3.1" in texts  # Adam at <= 2 s and <= 5 s
    assert "25 it, 0.8 s\nL2 4.9" in texts  # Adam at <= 1 s
    assert "5 steps, 1.5 s\nL2 0.83" in texts
    assert sum(t == "no run\nwithin budget" for t in
               (t.get_text() for ax in fig.axes for t in ax.texts)) == 3
    plt.close(fig)
    chosen = plot.at_budgets(cells, budgets)
    assert chosen["Adam", 5]["synth_iters"] == 50
    assert ("textureSynth (Octave 7.3.0)", 2) not in chosen


# ---------------------------------------------------------------- scripts


def test_bad_inputs_exit_2_and_write_nothing(run_script, tmp_path):
    root = tmp_path / "root"
    proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", "--img", "reptile_skin",
                      "--crop", "128", "--init_img", "seed-7", "--output-root",
                      root, check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "no initial image" in proc.stderr and "generate_init_imgs.py" in proc.stderr
    assert not root.exists()
    # -o is --optimizer, as in the original repository: a path fails loudly
    for argv in (["-o", str(tmp_path / "run")], ["--optimizer", "SGD"]):
        proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", *argv, check=False)
        assert proc.returncode == 2 and "expected Adam or LBFGS" in proc.stderr
    proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", "-t", "seed-0", check=False)
    assert proc.returncode == 2 and "unrecognized arguments: -t" in proc.stderr
    proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", "--synth_max_iter", "5",
                      "--checkpoints", "5", check=False)
    assert proc.returncode == 2 and "below --synth_max_iter" in proc.stderr
    proc = run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", "--grid", "quick",
                      "--output-root", root, check=False)
    assert proc.returncode == 2
    assert "initial image(s) missing" in proc.stderr
    assert "generate_init_imgs.py --size 128x128 --seeds 0 1" in proc.stderr
    proc = run_script(f"{EXPERIMENT_DIR}/summarize.py", "--output-root", root,
                      check=False)
    assert proc.returncode == 2 and "no runs to summarize" in proc.stderr
    assert not root.exists()


def test_every_option_has_help(run_script):
    import re

    for script in ("synthesize.py", "write_disbatch.py", "analyze.py", "plot.py",
                   "summarize.py", "generate_init_imgs.py",
                   "analyze_write_disbatch.py"):
        proc = run_script(f"{EXPERIMENT_DIR}/{script}", "--help")
        lines = proc.stdout.split("options:", 1)[1].splitlines()
        for i, line in enumerate(lines):
            if not line.startswith("  -"):
                continue
            # help after the flags on the same line, or indented on the next
            following = lines[i + 1] if i + 1 < len(lines) else ""
            assert re.search(r"\S {2,}\S", line.strip()) or (
                following.startswith(" " * 8) and following.strip()), \
                f"{script}: no help for {line.strip()}"
        assert not re.search(r"(^|, )-t\b", proc.stdout, re.M), script
    proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", "--help")
    assert "--optimizer OPTIMIZER, -o OPTIMIZER" in proc.stdout
    assert "--output_dir" in proc.stdout and "(default: Adam)" in proc.stdout
    assert "the plain loss (default: 0.0)" in proc.stdout


def test_writer_sides_and_code_directories(run_script, script_env, tmp_path):
    from plenexp.synth import matlab

    code = {}
    for name, env in (("textureSynth", matlab.TEXTURESYNTH_ENV),
                      ("matlabPyrTools", matlab.PYRTOOLS_ENV)):
        code[env] = tmp_path / name
        code[env].mkdir()
        for marker in matlab._MARKERS[name]:
            (code[env] / marker).write_text("")
    env = {k: v for k, v in script_env.items()
           if k not in (matlab.TEXTURESYNTH_ENV, matlab.PYRTOOLS_ENV)}
    root = tmp_path / "root"
    run.write_init_images(grids.init_image_dir(root, (128, 128)), [0, 1],
                          (128, 128))
    taskfile = tmp_path / "matlab.txt"
    proc = run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", taskfile, "--side",
                      "matlab", "--output-root", root, check=False, env=env)
    assert proc.returncode == 2 and "textureSynth code not found" in proc.stderr
    assert not taskfile.exists()
    env.update({k: str(v) for k, v in code.items()})
    run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", taskfile, "--grid", "quick",
               "--side", "matlab", "--output-root", root, env=env)
    lines = taskfile.read_text().splitlines()
    assert len(lines) == len(grids.matlab_quick(root=root))
    for line in lines:
        assert "time_synthesize.sh matlab --img" in line
        assert f"--texturesynth-dir {code[matlab.TEXTURESYNTH_ENV]}" in line
        seed = line.split("--seed ")[1].split()[0]
        assert f"init_images/128x128/seed-{seed}.png" in line
    # both sides in one file: the code options on MATLAB lines only
    proc = run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", "--grid",
                      "quick-longest", "--side", "both", "--output-root", root,
                      env=env)
    both = (root / EXPERIMENT_DIR / "quick-longest" / "disbatch-cpu.txt")
    lines = both.read_text().splitlines()
    plen = [line for line in lines if " matlab --img" not in line]
    assert len(plen) == 2 * 3 and len(lines) - len(plen) == 6
    assert all("--texturesynth-dir" not in line and "--checkpoints" in line
               and "--output_dir" in line for line in plen)
    # plenoptic on a GPU: fine; MATLAB on a GPU: refused
    run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", "--device", "cuda",
               "--output-root", root, env=env)
    assert (root / EXPERIMENT_DIR / "quick" / "plenoptic-cuda.txt").is_file()
    proc = run_script(f"{EXPERIMENT_DIR}/write_disbatch.py", "--device", "cuda",
                      "--side", "both", "--output-root", root, check=False, env=env)
    assert proc.returncode == 2 and "CPU only" in proc.stderr


def test_generate_init_imgs_as_documented_from_the_repository_root(run_script,
                                                                   script_env,
                                                                   tmp_path):
    env = {**script_env, "PLENEXP_OUTPUT_ROOT": str(tmp_path / "root")}
    run_script(f"{EXPERIMENT_DIR}/generate_init_imgs.py", "--size", "64", "--seeds",
               "0", "1", env=env)
    made = sorted(p.name for p in grids.init_image_dir(tmp_path / "root",
                                                       (64, 64)).iterdir())
    assert made == ["seed-0.png", "seed-1.png"]
    readme = (Path(__file__).parents[1] / EXPERIMENT_DIR / "README.md").read_text()
    assert "python ps_matlab_vs_plen/generate_init_imgs.py --grid quick" in readme
    # --grid: exactly the images a grid starts from
    run_script(f"{EXPERIMENT_DIR}/generate_init_imgs.py", "--grid", "full", env=env)
    made = sorted(p.name for p in grids.init_image_dir(tmp_path / "root",
                                                       (256, 256)).iterdir())
    assert made == [f"seed-{s}.png" for s in sorted(range(10), key=str)]


def _synthesize(run_script, root, out, *argv):
    return run_script(f"{EXPERIMENT_DIR}/time_synthesize.sh", "--img", "reptile_skin",
                      "--crop", "128", "--init_img", "seed-0", *argv,
                      "--output-root", root, "--output_dir", out)


@pytest.mark.slow
def test_shorter_run_is_the_prefix_of_a_longer_one(run_script, tmp_path):
    """The first k steps of a long run are a k-step run: same loss at step k."""
    root = tmp_path / "out"
    run_script(f"{EXPERIMENT_DIR}/generate_init_imgs.py", "--size", "128",
               "--seeds", "0", "--output-root", root)
    grid = root / EXPERIMENT_DIR / "tiny"
    for name, argv in {
            "adam-9": ("-o", "Adam", "--synth_max_iter", "9"),
            # the coarse-to-fine scale changes at 7 and 14: the checkpoint sits
            # between, the long run crosses both
            "adam-16": ("-o", "Adam", "--synth_max_iter", "16", "--checkpoints",
                        "4", "9"),
            "lbfgs-2": ("-o", "LBFGS", "--weighted", "100", "--history_size", "3",
                        "--max_iter", "3", "--synth_max_iter", "2"),
            "lbfgs-4": ("-o", "LBFGS", "--weighted", "100", "--history_size", "3",
                        "--max_iter", "3", "--synth_max_iter", "4",
                        "--checkpoints", "2")}.items():
        _synthesize(run_script, root, grid / name, *argv)
    for short, long, k in (("adam-9", "adam-16", 9), ("lbfgs-2", "lbfgs-4", 2)):
        alone = pd.read_csv(grid / short / "trajectory.csv")
        within = pd.read_csv(grid / long / "trajectory.csv")
        assert len(alone) == k + 1 and len(within) == int(long.split("-")[1]) + 1
        assert list(alone["loss"]) == list(within["loss"][: k + 1])  # bit for bit
        metamer = torch.load(grid / short / "metamer.pt", weights_only=True)
        kept = torch.load(grid / long / "checkpoints.pt", weights_only=True)
        assert torch.equal(metamer["_metamer"], kept[f"step-{k}"])
        # and the kept metamer scores as the short run's own
        rows = {name: pd.read_csv(grid / name / "loss.csv") for name in (short, long)}
        theirs = rows[long][rows[long]["metamer"] == f"checkpoints.pt:step-{k}"]
        mine = rows[short]
        assert list(mine["loss"]) == list(theirs["loss"])
        assert set(theirs["synth_iters"]) == {k} and set(mine["synth_iters"]) == {k}
    shutil.rmtree(root)


@pytest.mark.slow
def test_quick_pipeline_on_tiny_runs(run_script, tmp_path):
    """Initial images, short runs through the timer, analyze --force, summary, plot."""
    root = tmp_path / "out"
    run_script(f"{EXPERIMENT_DIR}/generate_init_imgs.py", "--size", "128",
               "--seeds", "0", "--output-root", root)
    init = root / "ps_matlab_vs_plen" / "init_images" / "128x128" / "seed-0.png"
    grid = root / "ps_matlab_vs_plen" / "tiny"
    runs = {
        "Adam": ("-o", "Adam", "--synth_max_iter", "12", "--checkpoints", "6"),
        # an old-style line: -o LBFGS still means the optimizer
        "LBFGS": ("-o", "LBFGS", "--weighted", "100", "--history_size", "3",
                  "--max_iter", "4", "--synth_max_iter", "3", "--checkpoints", "1"),
    }
    for name, extra in runs.items():
        proc = _synthesize(run_script, root, grid / name, *extra)
        assert "whole process:" in proc.stdout
        assert rundir.is_done(grid / name)
    record = json.loads((grid / "LBFGS" / "provenance.json").read_text())
    assert record["args"]["optimizer"] == "LBFGS" and record["steps"] == 3
    assert Path(record["init_img_path"]) == init and record["checkpoints"] == [1]
    assert record["init_duration"] > 0 and record["synth_duration"] > 0
    assert record["evaluations"] >= 3 + 1  # at least one per step, and the start

    # analyze --force reproduces the loss each run wrote when it ran
    written = {name: pd.read_csv(grid / name / "loss.csv") for name in runs}
    run_script(f"{EXPERIMENT_DIR}/analyze.py", grid, "--force")
    tables = {name: pd.read_csv(grid / name / "loss.csv") for name in runs}
    from plenexp.synth import images, synthesis

    target = images.load_image("reptile_skin", crop=128)
    start = synthesis.group_losses(synthesis.make_model(target), target,
                                   images.load_image(init))["l2_norm"]["overall"]
    for name, table in tables.items():
        assert list(table["loss"]) == list(written[name]["loss"])
        assert len(table) == 2 * len(FUNCS) * len(GROUPS)  # checkpoint + final
        final = table[(table.metamer == "metamer.pt") & (table.loss_func == "l2_norm")
                      & (table.loss_type == "overall")].iloc[0]
        assert final.loss < 0.9 * start, name
        assert final.process_duration > final.init_duration + final.synth_duration
        steps = pd.read_csv(grid / name / "trajectory.csv")
        own = json.loads((grid / name / "provenance.json").read_text())
        assert final.evaluations == own["evaluations"] == steps["evaluations"].iloc[-1]
        assert steps["evaluations"].is_monotonic_increasing
        assert (grid / name / "metamers.png").is_file()
    assert tables["LBFGS"].optimizer[0] == "LBFGS-3"
    assert tables["LBFGS"].res_highpass_weight[0] == 100
    assert tables["Adam"].res_highpass_weight[0] == 1
    loaded = run.load_run(grid / "Adam")
    assert loaded.metamer is not None and loaded.trajectory[-1]["step"] == 12
    assert torch.equal(loaded.metamer.metamer, torch.load(
        grid / "Adam" / "metamer.pt", weights_only=True)["_metamer"])

    proc = run_script(f"{EXPERIMENT_DIR}/summarize.py", "--grid", "tiny",
                      "--output-root", root)
    assert "2 result(s) summarized" in proc.stdout
    out = grid / "summary"
    for name in ("overall_l2_norm", "overall_l2_norm_vs_process_duration",
                 "groups_l2_norm", "trajectories", "metamers/reptile_skin_seed-0"):
        assert (out / f"{name}.png").stat().st_size > 10_000, name
    best = pd.read_csv(out / "best_method.csv")
    assert set(best.best_method) <= {"Adam", "LBFGS-3 (highpass x100)",
                                     "tie: LBFGS-3 (highpass x100) ≈ Adam",
                                     "tie: Adam ≈ LBFGS-3 (highpass x100)"}
    assert "success:" in proc.stdout
    proc = run_script(f"{EXPERIMENT_DIR}/plot.py", grid / "Adam", "--output_dir",
                      tmp_path / "figs")
    assert (tmp_path / "figs" / "metamers.png").is_file()
    shutil.rmtree(root)


# ---------------------------------------------------------------- MATLAB side


@pytest.mark.slow
@pytest.mark.octave
def test_matlab_run_through_octave_and_analyze(run_script, script_env, tmp_path):
    """Two real textureSynth iterations from the shared noise, timed, then scored."""
    import os

    from plenexp.synth import matlab

    if shutil.which("octave") is None:
        pytest.skip("GNU Octave is not on PATH")
    if not (os.environ.get(matlab.TEXTURESYNTH_ENV)
            and os.environ.get(matlab.PYRTOOLS_ENV)):
        pytest.skip(f"set {matlab.TEXTURESYNTH_ENV} and {matlab.PYRTOOLS_ENV} to "
                    "local copies of textureSynth and matlabPyrTools")
    env = dict(script_env)
    env.update({k: os.environ[k] for k in (matlab.TEXTURESYNTH_ENV,
                                           matlab.PYRTOOLS_ENV)})
    root = tmp_path / "root"
    init = run.write_init_images(grids.init_image_dir(root, (128, 128)), [0],
                                 (128, 128))[0]
    run_dir = root / "ps_matlab_vs_plen" / "tiny" / "matlab"
    proc = run_script(f"{EXPERIMENT_DIR}/time_synthesize.sh", "matlab", "--img",
                      "reptile_skin", "--crop", "128", "--init_img", init, "--seed",
                      "0", "--n_iter", "2", "--output_dir", run_dir, env=env)
    assert "whole process:" in proc.stdout and rundir.is_done(run_dir)
    run_script(f"{EXPERIMENT_DIR}/analyze.py", run_dir, env=env)
    table = pd.read_csv(run_dir / "loss.csv")
    row = table.query("loss_func == 'l2_norm' and loss_type == 'overall'").iloc[0]
    assert row.optimizer == "textureSynth" and row.init_img == "seed-0"
    assert row.engine.startswith("Octave ") and row.synth_iters == 2
    assert 0 < row.synth_duration < row.process_duration
    from plenexp.synth import images, synthesis

    target = images.load_image("reptile_skin", crop=128)
    start = synthesis.group_losses(synthesis.make_model(target), target,
                                   images.load_image(init))["l2_norm"]["overall"]
    assert row.loss < 0.5 * start
    assert (run_dir / "metamers.png").is_file()
