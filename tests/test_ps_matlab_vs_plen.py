"""ps_matlab_vs_plen: grids, initial images, loss tables, summary, scripts."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from plenexp import cli, rundir
from plenexp.experiments import ps_matlab_vs_plen as vs

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


def argv_dict(task):
    return dict(zip(task.argv[::2], task.argv[1::2], strict=False))


# ---------------------------------------------------------------- grids


def test_full_grids_are_the_published_sweep(tmp_path):
    plen = vs.plenoptic_full(root=tmp_path)
    matlab = vs.matlab_full(root=tmp_path)
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
    everything = [argv_dict(t) for t in plen + matlab]
    assert {a["--img"] for a in everything} == {"fig4a", "fig16b"}
    assert {Path(a["--init_img"]).name for a in everything} == {
        f"seed-{s}.png" for s in range(10)}
    assert {Path(a["--init_img"]).parent for a in everything} == {
        tmp_path / "ps_matlab_vs_plen" / "init_images" / "256x256"}
    assert {a["--n_iter"] for a in map(argv_dict, matlab)} == {"400", "800"}
    for grids in (vs.PLENOPTIC_GRIDS, vs.MATLAB_GRIDS):
        for grid in grids.values():
            names = [t.name for t in grid(root=tmp_path)]
            assert len(names) == len(set(names)), "run names must be unique"
    # plenoptic and MATLAB runs share one grid directory: no name in common
    assert not {t.name for t in plen} & {t.name for t in matlab}


def test_quick_grid_is_small_and_spans_each_method(tmp_path):
    plen = vs.plenoptic_quick(root=tmp_path)
    matlab = vs.matlab_quick(root=tmp_path)
    assert len(plen) + len(matlab) <= 40
    methods = {vs.optimizer_label(a["--optimizer"], int(a.get("--history_size", 0)))
               for a in map(argv_dict, plen)}
    assert methods == {"Adam", "LBFGS-3", "LBFGS-100"}
    for method in methods:
        budgets = {a["--synth_max_iter"] for a in map(argv_dict, plen)
                   if vs.optimizer_label(a["--optimizer"],
                                         int(a.get("--history_size", 0))) == method}
        assert len(budgets) >= 3
    assert len({argv_dict(t)["--n_iter"] for t in matlab}) >= 3
    assert all(argv_dict(t)["--img"] in ("reptile_skin",) for t in plen + matlab)


def test_matlab_grids_refuse_gpus(tmp_path):
    with pytest.raises(cli.UsageError, match="CPU only"):
        vs.matlab_quick(root=tmp_path, device="cuda:0")


# ---------------------------------------------------------------- initial images


def test_init_images_match_the_reference(shared_dir):
    import imageio.v3 as iio

    reference = sorted((shared_dir / "reference" / "matlab" / "init_images")
                       .glob("seed-*.png"))
    assert reference
    for path in reference:
        seed = int(path.stem.split("-")[1])
        expected = iio.imread(path)
        assert (vs.make_init_image(seed, expected.shape) == expected).all()


def test_resolve_init_image_by_name_and_hint(tmp_path):
    with pytest.raises(cli.UsageError, match="generate_init_imgs.py --size 128x128"):
        vs.resolve_init_image("seed-3", tmp_path, (128, 128))
    with pytest.raises(cli.UsageError, match="expected an image file or seed-N"):
        vs.resolve_init_image("noise", tmp_path, (128, 128))
    vs.write_init_images(vs.init_image_dir(tmp_path, (128, 128)), [3], (128, 128))
    assert vs.resolve_init_image("seed-3", tmp_path, (128, 128)) == \
        tmp_path / "ps_matlab_vs_plen" / "init_images" / "128x128" / "seed-3.png"


# ---------------------------------------------------------------- loss tables


def test_analyze_real_matlab_outputs(shared_dir, tmp_path):
    import scipy.io

    ref = shared_dir / "reference" / "matlab"
    textures = shared_dir / "textures"
    tables = {}
    for target in ("metal", "text"):
        mats = sorted(ref.glob(f"{target}_seed-*_iter-*.mat"))
        assert vs.analyze(mats, csv_dir=tmp_path,
                          img=str(textures / f"{target}.pgm")) == len(mats)
        for mat in mats:
            tables[mat] = pd.read_csv(tmp_path / f"{mat.stem}.csv")
    assert len(tables) == 8
    for mat, table in tables.items():
        # every loss function x (overall + every statistic group), once
        assert len(table) == 3 * len(GROUPS)
        assert set(zip(table.loss_func, table.loss_type, strict=True)) == {
            (f, g) for f in ("mse", "sse", "l2_norm") for g in GROUPS}
        assert table["loss"].notna().all() and (table["loss"] >= 0).all()
        assert (table.optimizer == "matlab").all() and (table.device == "cpu").all()
        raw = scipy.io.loadmat(mat)
        init, synth = float(raw["initToc"].squeeze()), float(raw["synthToc"].squeeze())
        assert table.init_time.iloc[0] == pytest.approx(init)
        assert table.synth_only_time.iloc[0] == pytest.approx(synth - init)
        name = mat.stem.split("_")
        assert table.img.iloc[0] == name[0] and table.init_img.iloc[0] == name[1]
        assert table.synth_iters.iloc[0] == int(name[2].split("-")[1])
        by = table.set_index(["loss_func", "loss_type"])["loss"]
        assert by["sse", "overall"] == pytest.approx(by["l2_norm", "overall"] ** 2)
        assert by["sse", "overall"] == pytest.approx(
            sum(by["sse", g] for g in GROUPS - {"overall"}))

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
    proc = run_script(f"{EXPERIMENT_DIR}/analyze.py", mat, "--csv_dir", tmp_path,
                      check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "unknown image 'metal'" in proc.stderr and "--img FILE" in proc.stderr
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- summary


def _fake_run(grid: Path, optimizer: str, iters: int, seed: int, time_s: float,
              loss: float, device: str = "cpu", weight: float = 1.0) -> None:
    run = grid / f"{optimizer}_{iters}_{seed}_{device}"
    run.mkdir(parents=True)
    rows = [{"img": "reptile_skin", "init_img": f"seed-{seed}",
             "optimizer": optimizer, "device": device, "synth_iters": iters,
             "res_highpass_weight": weight, "init_time": 1.0,
             "synth_only_time": time_s, "total_time": time_s + 6.0,
             "loss_func": func, "loss_type": group,
             "loss": loss * (1 if group == "overall" else 0.1)}
            for func in ("mse", "sse", "l2_norm") for group in sorted(GROUPS)]
    vs.write_rows(rows, run / "loss.csv")
    rundir.write_json(run / "done.json", {})


def test_best_method_by_budget_and_summary_files(tmp_path):
    grid = tmp_path / "grid"
    # Adam: fast but slow to improve; LBFGS-100: costlier steps, lower loss;
    # matlab: best loss but only with the largest budget.
    for seed in (0, 1):
        jitter = 1 + 0.01 * seed
        for iters, t, loss in [(10, 0.6, 3.0), (40, 2.5, 1.0)]:
            _fake_run(grid, "Adam", iters, seed, t * jitter, loss * jitter)
        for iters, t, loss in [(2, 1.5, 0.8), (10, 7.0, 0.2)]:
            _fake_run(grid, "LBFGS-100", iters, seed, t * jitter, loss * jitter,
                      weight=100)
        _fake_run(grid, "matlab", 100, seed, 40.0 * jitter, 0.05 * jitter)
    # a broken table is reported and left out, not fatal
    broken = grid / "broken"
    broken.mkdir()
    (broken / "loss.csv").write_text("img,loss\nx\n")
    rundir.write_json(broken / "done.json", {})

    out = tmp_path / "summary"
    frame, best = vs.summarize(grid, None, out)
    assert len(frame) == 10 * 3 * len(GROUPS)
    syn = best[best.time == "synth_only_time"].set_index("budget_s")
    assert list(syn.index) == [1, 2, 5, 10, 20, 50]
    assert syn.loc[1, "best_method"] == "Adam"          # only Adam fits 1 s
    assert syn.loc[1, "best_loss"] == pytest.approx(3.0 * 1.005)
    assert syn.loc[2, "best_method"] == "LBFGS-100 (highpass x100)"
    assert syn.loc[2, "runner_up"] == "Adam"
    assert syn.loc[10, "best_loss"] == pytest.approx(0.2 * 1.005)
    assert syn.loc[50, "best_method"] == "matlab"
    assert math.isnan(syn.loc[20, "loss[matlab]"])
    for name in ("overall_l2_norm_vs_synth_only_time", "overall_l2_norm_vs_total_time",
                 "groups_l2_norm_vs_synth_only_time"):
        for ext in ("png", "svg"):
            assert (out / f"{name}.{ext}").stat().st_size > 10_000
    table = pd.read_csv(out / "best_method.csv")
    assert set(table.time) == {"synth_only_time", "total_time"}
    assert "<=      50 s: matlab 0.0503" in (out / "best_method.txt").read_text()
    again = pd.read_csv(out / "all_loss.csv")
    assert len(again) == len(frame) and "synth_only_time_mean" in again


def test_palette_keeps_methods_apart():
    colours = vs.palette(["Adam", "matlab", "LBFGS-3 (highpass x100)",
                          "LBFGS-300 (highpass x100)", "LBFGS-100 (highpass x100)"])
    assert len({tuple(c) for c in colours.values()}) == 5
    # the green ramp darkens with the history size
    order = ["LBFGS-3 (highpass x100)", "LBFGS-100 (highpass x100)",
             "LBFGS-300 (highpass x100)"]
    brightness = [sum(colours[m]) for m in order]
    assert brightness == sorted(brightness, reverse=True)


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
    proc = run_script(f"{EXPERIMENT_DIR}/synthesize.py", "--optimizer", "SGD",
                      check=False)
    assert proc.returncode == 2 and "expected Adam or LBFGS" in proc.stderr
    proc = run_script(f"{EXPERIMENT_DIR}/plenoptic_write_disbatch.py", "--grid",
                      "quick", "--output-root", root, check=False)
    assert proc.returncode == 2
    assert "initial image(s) missing" in proc.stderr
    assert "generate_init_imgs.py --size 128x128 --seeds 0 1" in proc.stderr
    assert not root.exists()
    proc = run_script(f"{EXPERIMENT_DIR}/summarize.py", "--output-root", root,
                      check=False)
    assert proc.returncode == 2 and "no runs to summarize" in proc.stderr


@pytest.mark.slow
def test_quick_pipeline_on_tiny_runs(run_script, tmp_path):
    """Initial images, two short runs through the timing wrapper, then every step."""
    root = tmp_path / "out"
    run_script(f"{EXPERIMENT_DIR}/generate_init_imgs.py", "--size", "128",
               "--seeds", "0", "--output-root", root)
    init = root / "ps_matlab_vs_plen" / "init_images" / "128x128" / "seed-0.png"
    grid = root / "ps_matlab_vs_plen" / "tiny"
    runs = {
        "Adam": ("--optimizer", "Adam", "--synth_max_iter", "20"),
        "LBFGS": ("--optimizer", "LBFGS", "--weighted", "100", "--history_size", "3",
                  "--synth_max_iter", "2"),
    }
    for name, extra in runs.items():
        proc = run_script(f"{EXPERIMENT_DIR}/time_plenoptic_synthesize.sh", "--img",
                          "reptile_skin", "--crop", "128", "--init_img", "seed-0",
                          *extra, "--output-root", root, "--output_path",
                          grid / name)
        assert "whole process:" in proc.stdout
        assert rundir.is_done(grid / name)
    record = json.loads((grid / "LBFGS" / "provenance.json").read_text())
    assert record["synth_iters"] == 2 and Path(record["init_img_path"]) == init
    assert record["init_time"] > 0 and record["synth_time"] > 0

    run_script(f"{EXPERIMENT_DIR}/analyze.py", grid)
    tables = {name: pd.read_csv(grid / name / "loss.csv") for name in runs}
    # the loss from the shared initial image, for comparison
    import torch

    from plenexp import images, synthesis

    target = images.load_image("reptile_skin", crop=128)
    start = synthesis.group_losses(synthesis.make_model(target), target,
                                   images.load_image(init))["l2_norm"]["overall"]
    for name, table in tables.items():
        assert len(table) == 3 * len(GROUPS)
        row = table.query("loss_func == 'l2_norm' and loss_type == 'overall'").iloc[0]
        assert row.loss < 0.8 * start, name
        assert row.total_time > row.init_time + row.synth_only_time
    assert tables["LBFGS"].optimizer[0] == "LBFGS-3"
    assert tables["LBFGS"].res_highpass_weight[0] == 100
    assert tables["Adam"].optimizer[0] == "Adam"
    assert tables["Adam"].res_highpass_weight[0] == 1
    saved = torch.load(grid / "Adam" / "metamer.pt", weights_only=True)
    assert saved["_metamer"].dtype == torch.float64

    proc = run_script(f"{EXPERIMENT_DIR}/summarize.py", "--grid", "tiny",
                      "--output-root", root)
    assert "2 result(s) summarized" in proc.stdout
    assert (grid / "summary" / "overall_l2_norm_vs_synth_only_time.png").is_file()
    best = pd.read_csv(grid / "summary" / "best_method.csv")
    assert set(best.best_method) <= {"Adam", "LBFGS-3 (highpass x100)"}
    proc = run_script(f"{EXPERIMENT_DIR}/plot.py", "--grid", "tiny", "--output-root",
                      root)
    assert len(list((grid / "summary" / "metamers").glob("*.png"))) == 2
    shutil.rmtree(root)


# ---------------------------------------------------------------- MATLAB side


def _matlab_run(run: Path, mat: Path, init: Path, n_iter: int,
                process_s: float | None = 30.0) -> None:
    """A finished ps_matlab/synthesize.py run directory, as that runner leaves it."""
    run.mkdir(parents=True)
    shutil.copy(mat, run / "metamer.mat")
    rundir.write_json(run / "provenance.json", {
        "args": {"img": str(mat.parents[2] / "textures" / "metal.pgm"), "crop": None,
                 "init_img": str(init), "n_iter": n_iter, "device": "cpu"},
        "device": "cpu", "device_name": "test CPU", "engine": "octave"})
    if process_s is not None:
        rundir.write_json(run / "process_time.json", {"elapsed_s": process_s})
    rundir.write_json(run / "done.json", {})


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
    found = vs.results_below([tmp_path / "grid"])
    assert vs.analyze(found, failed=failed) == 1
    assert failed == [broken] and not (broken / "loss.csv").exists()
    table = pd.read_csv(good / "loss.csv")
    assert len(table) == 3 * len(GROUPS)
    first = table.iloc[0]
    assert (first.img, first.init_img, first.optimizer) == ("metal", "seed-1", "matlab")
    assert first.synth_iters == 25 and first.total_time == 30.0
    assert first.res_highpass_weight == 1 and first.device_name == "test CPU"
    # the same numbers as the bare MAT file gives
    vs.analyze([ref / "metal_seed-1_iter-25.mat"], csv_dir=tmp_path / "bare",
               img=str(shared_dir / "textures" / "metal.pgm"))
    bare = pd.read_csv(tmp_path / "bare" / "metal_seed-1_iter-25.csv")
    assert list(bare.loss) == pytest.approx(list(table.loss), rel=1e-12)


def test_matlab_writer_records_code_and_seeds(run_script, script_env, tmp_path):
    from plenexp import matlab

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
    vs.write_init_images(vs.init_image_dir(root, (128, 128)), [0, 1], (128, 128))
    taskfile = tmp_path / "matlab.txt"
    proc = run_script(f"{EXPERIMENT_DIR}/matlab_write_disbatch.py", taskfile,
                      "--grid", "quick", "--output-root", root, check=False, env=env)
    assert proc.returncode == 2 and "textureSynth code not found" in proc.stderr
    assert not taskfile.exists()
    env.update({k: str(v) for k, v in code.items()})
    run_script(f"{EXPERIMENT_DIR}/matlab_write_disbatch.py", taskfile, "--grid",
               "quick", "--output-root", root, env=env)
    lines = taskfile.read_text().splitlines()
    assert len(lines) == len(vs.matlab_quick(root=root))
    for line in lines:
        assert "time_matlab_synthesize.sh" in line
        assert f"--texturesynth-dir {code[matlab.TEXTURESYNTH_ENV]}" in line
        seed = line.split("--seed ")[1].split()[0]
        assert f"init_images/128x128/seed-{seed}.png" in line


@pytest.mark.slow
@pytest.mark.octave
def test_matlab_run_through_octave_and_analyze(run_script, script_env, tmp_path):
    """Two real textureSynth iterations from the shared noise, timed, then scored."""
    import os

    from plenexp import matlab

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
    init = vs.write_init_images(vs.init_image_dir(root, (128, 128)), [0],
                                (128, 128))[0]
    run = root / "ps_matlab_vs_plen" / "tiny" / "matlab"
    proc = run_script(f"{EXPERIMENT_DIR}/time_matlab_synthesize.sh", "--img",
                      "reptile_skin", "--crop", "128", "--init_img", init, "--seed",
                      "0", "--n_iter", "2", "--output_dir", run, env=env)
    assert "whole process:" in proc.stdout and rundir.is_done(run)
    run_script(f"{EXPERIMENT_DIR}/analyze.py", run, env=env)
    table = pd.read_csv(run / "loss.csv")
    row = table.query("loss_func == 'l2_norm' and loss_type == 'overall'").iloc[0]
    assert row.optimizer == "matlab" and row.init_img == "seed-0"
    assert row.synth_iters == 2
    assert 0 < row.synth_only_time < row.total_time
    from plenexp import images, synthesis

    target = images.load_image("reptile_skin", crop=128)
    start = synthesis.group_losses(synthesis.make_model(target), target,
                                   images.load_image(init))["l2_norm"]["overall"]
    assert row.loss < 0.5 * start
