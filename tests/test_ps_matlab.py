"""ps_matlab: the MATLAB/Octave runner, task files, plot and summary scripts.

The reference MAT files in ``shared/reference/matlab`` are real textureSynth
results made under Octave; the integration tests run textureSynth itself and
need GNU Octave plus local copies of textureSynth and matlabPyrTools, named by
``TEXTURESYNTH_DIR`` and ``MATLABPYRTOOLS_DIR``.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.io

import ps_matlab.run
from plenexp import cli
from plenexp.runs import rundir
from plenexp.runs.record import RunRecord
from plenexp.synth import matlab
from ps_matlab import analyze, metamers, summarize, write_disbatch
from tests import figure_checks

GROUPS = {
    "pixel_statistics", "auto_correlation_magnitude", "skew_reconstructed",
    "kurtosis_reconstructed", "auto_correlation_reconstructed", "std_reconstructed",
    "cross_orientation_correlation_magnitude", "magnitude_std",
    "cross_scale_correlation_magnitude", "cross_scale_correlation_real",
    "var_highpass_residual",
}


@pytest.fixture
def fake_code(tmp_path) -> tuple[Path, Path]:
    """Directories that look like the two repositories (marker files only)."""
    ts, pyr = tmp_path / "textureSynth", tmp_path / "matlabPyrTools"
    ts.mkdir()
    pyr.mkdir()
    for name in ("textureAnalysis.m", "textureSynthesis.m"):
        (ts / name).write_text("")
    for name in ("buildSCFpyr.m", "pointOp.m"):
        (pyr / name).write_text("")
    return ts, pyr


@pytest.fixture
def no_code_env(script_env) -> dict[str, str]:
    env = dict(script_env)
    env.pop(matlab.TEXTURESYNTH_ENV, None)
    env.pop(matlab.PYRTOOLS_ENV, None)
    return env


def real_code() -> tuple[Path, Path]:
    """Octave and the real code directories, or skip saying what is missing."""
    if shutil.which("octave") is None:
        pytest.skip("GNU Octave is not on PATH")
    dirs = [os.environ.get(matlab.TEXTURESYNTH_ENV),
            os.environ.get(matlab.PYRTOOLS_ENV)]
    if not all(dirs):
        pytest.skip(f"set {matlab.TEXTURESYNTH_ENV} and {matlab.PYRTOOLS_ENV} to "
                    "local copies of textureSynth and matlabPyrTools")
    return Path(dirs[0]), Path(dirs[1])


# ------------------------------------------------------- code directories ---

def test_missing_code_dirs_say_what_to_set(monkeypatch):
    monkeypatch.delenv(matlab.TEXTURESYNTH_ENV, raising=False)
    monkeypatch.delenv(matlab.PYRTOOLS_ENV, raising=False)
    with pytest.raises(cli.UsageError) as err:
        matlab.resolve_code_dirs()
    message = str(err.value)
    assert "TEXTURESYNTH_DIR" in message and "--texturesynth-dir" in message
    assert matlab.TEXTURESYNTH_URL in message and "\n" not in message


def test_wrong_code_dir_names_missing_files(monkeypatch, fake_code, tmp_path):
    ts, pyr = fake_code
    monkeypatch.setenv(matlab.TEXTURESYNTH_ENV, str(ts))
    monkeypatch.setenv(matlab.PYRTOOLS_ENV, str(tmp_path))  # not matlabPyrTools
    with pytest.raises(cli.UsageError, match="MATLABPYRTOOLS_DIR=.*has no "
                       "buildSCFpyr.m, pointOp.m.*matlabPyrTools"):
        matlab.resolve_code_dirs()
    dirs = matlab.resolve_code_dirs(pyrtools_dir=pyr)  # the option wins
    assert dirs == matlab.CodeDirs(ts.resolve(), pyr.resolve())


def test_engine_choice(monkeypatch, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(cli.UsageError, match="neither matlab nor octave.*apt-get"):
        matlab.find_engine("auto")
    for name in ("octave", "matlab"):
        exe = bin_dir / name
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
        assert matlab.find_engine(name) == matlab.Engine(name, str(exe))
    assert matlab.find_engine("auto").name == "matlab"  # MATLAB first
    (bin_dir / "matlab").unlink()
    assert matlab.find_engine("auto").name == "octave"
    with pytest.raises(cli.UsageError, match="matlab is not on PATH"):
        matlab.find_engine("matlab")


def test_engine_commands_hide_windows(fake_code):
    dirs = matlab.CodeDirs(*fake_code)
    octave, mat = matlab.Engine("octave", "octave"), matlab.Engine("matlab", "matlab")
    target = Path("/data/it's here/target.png")
    script_dir = Path(write_disbatch.__file__).parent
    nodisplay = script_dir / matlab.NODISPLAY
    octave_nodisplay = nodisplay / matlab.OCTAVE_NODISPLAY
    assert matlab.nodisplay_dirs(octave, script_dir) == [nodisplay, octave_nodisplay]
    statement = matlab.synthesize_statement(
        octave, dirs, target, (128, 128), 7, Path("m.mat"), Path("m.png"), 3,
        script_dir=script_dir)
    assert "'/data/it''s here/target.png'" in statement  # MATLAB quoting
    assert statement.rstrip().endswith(
        "synthesize('/data/it''s here/target.png', [128 128], 7, 'm.mat', "
        "'m.png', 3);")
    # the drawing stubs come first on the path: added last
    assert statement.index(str(octave_nodisplay)) > \
        statement.index(str(fake_code[0]))
    assert octave.command(statement)[1:4] == ["--no-gui", "--no-window-system",
                                              "--norc"]
    matlab_statement = matlab.synthesize_statement(
        mat, dirs, target, Path("init.png"), 7, Path("m.mat"), Path("m.png"), None,
        script_dir=script_dir)
    assert str(octave_nodisplay) not in matlab_statement
    assert "'init.png', 7, 'm.mat', 'm.png', []);" in matlab_statement
    assert mat.command(matlab_statement)[:2] == ["matlab", "-batch"]
    for name in ("showIm.m", "octave/drawnow.m"):
        assert (nodisplay / name).is_file()


# ------------------------------------------------------------ MAT results ---

def test_read_result_of_reference(shared_dir):
    path = shared_dir / "reference/matlab/metal_seed-0_iter-10.mat"
    result = matlab.read_result(path)
    assert result["res"].shape == (256, 256) and result["res"].dtype == np.float64
    assert 0 <= result["res"].min() and result["res"].max() <= 255
    assert result["res"].max() > 1  # the 0-255 scale, not 0-1
    assert 0 < result["initToc"] < result["synthToc"]


def test_read_result_rejects_other_mat_files(tmp_path):
    path = tmp_path / "other.mat"
    scipy.io.savemat(path, {"res": np.zeros((4, 4)), "initToc": 1.0})
    with pytest.raises(ValueError, match="no synthToc"):
        matlab.read_result(path)
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(ValueError, match="not a readable MAT file"):
        matlab.read_result(tmp_path / "junk.mat")


# ------------------------------------------------------------ task files ---

def test_write_disbatch_grids(run_script, no_code_env, fake_code, tmp_path):
    ts, pyr = fake_code
    root = tmp_path / "out"
    run_script("ps_matlab/write_disbatch.py", "--grid", "quick", "--output-root",
               root, "--texturesynth-dir", ts, "--pyrtools-dir", pyr,
               env=no_code_env)
    lines = (root / "ps_matlab/quick/disbatch-cpu.txt").read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert "--crop 128" in line and "--img reptile_skin" in line
        assert f"--texturesynth-dir {ts.resolve()}" in line
        assert f"--pyrtools-dir {pyr.resolve()}" in line
        assert "time_synthesize.sh" in line and "--device cpu" in line
    env = dict(no_code_env, TEXTURESYNTH_DIR=str(ts), MATLABPYRTOOLS_DIR=str(pyr))
    run_script("ps_matlab/write_disbatch.py", "--grid", "full", "--output-root",
               root, env=env)
    full = (root / "ps_matlab/full/disbatch-cpu.txt").read_text().splitlines()
    assert len(full) == 38
    assert all("--n_iter 100" in line and "--crop" not in line for line in full)
    assert {line.split("--img ")[1].split()[0] for line in full} == \
        set(write_disbatch.FULL["images"])


def test_write_disbatch_refuses_without_code_or_on_gpu(run_script, no_code_env,
                                                       fake_code, tmp_path):
    root = tmp_path / "out"
    proc = run_script("ps_matlab/write_disbatch.py", "--output-root", root,
                      check=False, env=no_code_env)
    assert proc.returncode == 2
    assert "TEXTURESYNTH_DIR" in proc.stderr and len(proc.stderr.splitlines()) == 1
    ts, pyr = fake_code
    proc = run_script("ps_matlab/write_disbatch.py", "--output-root", root,
                      "--device", "cuda", "--texturesynth-dir", ts,
                      "--pyrtools-dir", pyr, check=False, env=no_code_env)
    assert proc.returncode == 2 and "CPU only" in proc.stderr
    assert not (root / "ps_matlab").exists()


# ------------------------------------------------------- synthesize.py ---

def test_synthesize_usage_errors_leave_nothing(run_script, no_code_env, fake_code,
                                               tmp_path):
    out = tmp_path / "run"
    proc = run_script("ps_matlab/synthesize.py", "--img", "reptile_skin", "-o", out,
                      check=False, env=no_code_env)
    assert proc.returncode == 2 and "TEXTURESYNTH_DIR" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    ts, pyr = fake_code
    proc = run_script("ps_matlab/synthesize.py", "--device", "cuda", "-o", out,
                      "--texturesynth-dir", ts, "--pyrtools-dir", pyr,
                      check=False, env=no_code_env)
    assert proc.returncode == 2 and "CPU only" in proc.stderr
    assert not out.exists()


def test_setup_check_refuses_octave_without_graphics(monkeypatch, fake_code,
                                                     tmp_path, capsys):
    """An Octave that cannot draw: the set-up check says what to install.

    textureSynthesis calls ``figure`` and ``title``, which fail without a
    graphics toolkit or fonts (seen with ``apt-get install
    --no-install-recommends octave``).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    octave = bin_dir / "octave"  # a stand-in Octave with no toolkit
    octave.write_text("#!/bin/sh\ncase \"$*\" in *--version*) "
                      "echo 'GNU Octave, version 7.3.0';; *) "
                      "echo 'error: no graphics toolkits are available!';; esac\n")
    octave.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    ts, pyr = fake_code
    argv = ["--engine", "octave", "--texturesynth-dir", str(ts),
            "--pyrtools-dir", str(pyr)]
    with pytest.raises(cli.UsageError,
                       match="octave cannot draw.*no graphics toolkits.*"
                       "apt-get install gnuplot-nox fonts-freefont-otf"):
        matlab.main(argv)
    octave.write_text(octave.read_text().replace(
        "echo 'error: no graphics toolkits are available!'", "echo plenexp-drawn"))
    matlab.main(argv)  # with a toolkit the check passes
    assert capsys.readouterr().out.startswith("octave 7.3.0")
    # and a run that meets Octave's own error names the cure too
    message = matlab._error_message(matlab.Engine("octave", str(octave)), [
        "error: no graphics toolkits are available!", "error: called from"])
    assert "apt-get install gnuplot-nox fonts-freefont-otf" in message


@pytest.mark.octave
def test_engine_error_is_reported_and_leaves_nothing(run_script, no_code_env,
                                                     fake_code, tmp_path):
    """A failing MATLAB side: exit 1 with Octave's own message, no run directory."""
    if shutil.which("octave") is None:
        pytest.skip("GNU Octave is not on PATH")
    ts, pyr = fake_code
    (ts / "textureAnalysis.m").write_text(
        "function p = textureAnalysis(varargin)\n"
        "  error('plenexp:test', 'deliberate failure at %d scales', varargin{2});\n"
        "end\n")
    out = tmp_path / "run"
    proc = run_script("ps_matlab/synthesize.py", "--img", "reptile_skin", "--crop",
                      "128", "--n_iter", "1", "-o", out, "--engine", "octave",
                      "--texturesynth-dir", ts, "--pyrtools-dir", pyr,
                      check=False, env=no_code_env)
    assert proc.returncode == 1
    assert "octave failed (exit status 1): error: deliberate failure at 4 scales" \
        in proc.stderr
    assert not out.exists() and not list(tmp_path.glob(".run.partial-*"))


@pytest.mark.slow
@pytest.mark.octave
def test_synthesize_through_octave(run_script, script_env, tmp_path):
    """Two real textureSynth iterations from a given noise image, timed and traced."""
    ts, pyr = real_code()
    import plenoptic as po
    import torch

    from plenexp.synth import images, synthesis

    po.set_seed(0)
    noise = torch.rand(1, 1, 128, 128, dtype=torch.float64)
    init_file = tmp_path / "noise.png"
    images.save_grayscale_png(noise, init_file)
    out = tmp_path / "run"
    proc = run_script("ps_matlab/time_synthesize.sh", "--img", "reptile_skin",
                      "--crop", "128", "--init_img", init_file, "--n_iter", "2",
                      "--engine", "octave", "--texturesynth-dir", ts,
                      "--pyrtools-dir", pyr, "-d", "cpu", "-o", out)
    assert rundir.is_done(out) and "whole process" in proc.stdout
    # the 'compile the MEX version' advice is counted, not printed each time
    assert "WARNING: You should compile" not in proc.stdout
    result = matlab.read_result(out / "metamer.mat")
    assert result["res"].shape == (128, 128)
    record = json.loads((out / "provenance.json").read_text())
    assert record["engine"] == "octave" and record["engine_version"]
    assert record["init_duration"] == pytest.approx(result["initToc"])
    assert record["synth_duration"] == pytest.approx(
        result["synthToc"] - result["initToc"])
    assert record["synth_duration"] > 0
    assert record["process_duration"] > record["synth_duration"]
    # MATLAB started from exactly our pixels, and moved towards the target
    assert np.array_equal(images.load_image(out / "init.png").numpy(),
                          images.load_image(init_file).numpy())
    target = images.load_image(out / "target.png")
    assert torch.equal(target, images.load_image("reptile_skin", crop=128)
                       .mul(255).round().div(255))
    model = synthesis.make_model(target)
    metamer = torch.from_numpy(result["res"] / 255)[None, None]
    loss = synthesis.group_losses(model, target, metamer)["l2_norm"]["overall"]
    start = synthesis.group_losses(model, target, noise)["l2_norm"]["overall"]
    assert loss < start / 2


# ------------------------------------------------- plot and summarize ---

@pytest.mark.slow
def test_plot_reference_metamers(run_script, shared_dir, tmp_path):
    """Three-panel figures of real textureSynth results, targets given apart."""
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    for name in ("metal_seed-0_iter-25", "text_seed-1_iter-10"):
        shutil.copy(shared_dir / f"reference/matlab/{name}.mat", results_dir)
    (results_dir / "unknown_seed-0_iter-1.mat").write_bytes(b"")  # no such target
    proc = run_script("ps_matlab/plot.py", results_dir, "--target_dir",
                      shared_dir / "textures", "-o", tmp_path / "figs", check=False)
    assert proc.returncode == 1  # the others drawn, the skipped file told
    assert "2 figure(s)" in proc.stdout
    assert "unknown_seed-0_iter-1.mat: no target image unknown.*" in proc.stderr
    for name in ("metal_seed-0_iter-25", "text_seed-1_iter-10"):
        png = tmp_path / "figs" / f"{name}.png"
        assert png.stat().st_size > 20_000
        assert "<svg" in (tmp_path / "figs" / f"{name}.svg").read_text()[:500]
        assert f"{name}: PS loss" in proc.stdout
    proc = run_script("ps_matlab/plot.py", results_dir, check=False)
    assert proc.returncode == 2 and "no target image metal.*" in proc.stderr


@pytest.mark.slow
def test_summarize_reference_metamers(run_script, shared_dir, tmp_path):
    out = tmp_path / "summary"
    run_script("ps_matlab/summarize.py", "--input_dir", shared_dir / "reference/matlab",
               "--target_dir", shared_dir / "textures", "--output_dir", out)
    table = pd.read_csv(out / "all_loss.csv")
    assert len(table) == 8 and set(table["image"]) == {"metal", "text"}
    assert GROUPS <= set(table.columns)
    assert (table[["loss", *GROUPS]] > 0).all().all()
    # every group loss is part of the overall one
    assert (table[list(GROUPS)].pow(2).sum(axis=1) <= table["loss"] ** 2 * 1.0001).all()
    # textureSynth keeps improving: 25 iterations beat 10 for each image and seed
    wide = table.pivot_table(index=["image", "seed"], columns="n_iter", values="loss")
    assert (wide[25] < wide[10]).all()
    assert (table["synth_duration"] > 0).all()
    for stem in ("loss_overall", "loss_by_group"):
        for ext in ("png", "svg"):
            assert (out / f"{stem}.{ext}").stat().st_size > 5_000


def test_find_metamers_prefers_run_dirs(tmp_path, shared_dir):
    """Run directories bring their own target; their MAT file is not counted twice."""
    run = tmp_path / "grid" / "metal_size-target_seed-0_iter-10_device-cpu"
    run.mkdir(parents=True)
    shutil.copy(shared_dir / "reference/matlab/metal_seed-0_iter-10.mat",
                run / "metamer.mat")
    shutil.copy(shared_dir / "textures/metal.pgm", run / "target.png")
    (run / "provenance.json").write_text(json.dumps(
        {"args": {"img": "metal.pgm", "seed": 0, "n_iter": 10},
         "engine": "octave", "synth_duration": 13.2}))
    (run / rundir.DONE_MARKER).write_text("{}")
    found, problems = metamers.find_metamers(tmp_path / "grid")
    assert problems == [] and len(found) == 1
    found = found[0]
    assert found.target_path == run / "target.png"
    assert found.meta["engine"] == "octave" and found.meta["n_iter"] == 10


# ------------------------------------------------- analyze and load_run ---

def _fake_run(run: Path, shared_dir: Path, mat: str = "metal_seed-0_iter-10",
              img: str = "metal.pgm", seed: int = 0, n_iter: int = 10) -> Path:
    """A finished run directory holding a real textureSynth result."""
    run.mkdir(parents=True)
    shutil.copy(shared_dir / f"reference/matlab/{mat}.mat", run / "metamer.mat")
    shutil.copy(shared_dir / "textures/metal.pgm", run / "target.png")
    (run / "provenance.json").write_text(json.dumps(
        {"args": {"img": img, "seed": seed, "n_iter": n_iter, "crop": None},
         "engine": "octave", "engine_version": "7.3.0", "process_duration": 12.5}))
    (run / rundir.DONE_MARKER).write_text("{}")
    return run


@pytest.mark.slow
def test_analyze_writes_table_and_figure_and_force_reproduces(
        run_script, shared_dir, tmp_path):
    grid = tmp_path / "grid"
    run = _fake_run(grid / "metal_size-target_seed-0_iter-10_device-cpu", shared_dir)
    proc = run_script("ps_matlab/analyze.py", grid)
    assert "1 of 1 run(s) analyzed" in proc.stdout
    row = pd.read_csv(run / "loss.csv").iloc[0]
    assert GROUPS <= set(row.index)
    assert (row["image"], row["seed"], row["n_iter"]) == ("metal", 0, 10)
    assert 0 < row["max_abs_rep_error"] and 0.2 < row["loss"] < 0.35
    assert (run / "ps_matlab.png").stat().st_size > 20_000
    # the same number as scoring the loose MAT file beside its target
    loose, _ = metamers.find_metamers(shared_dir / "reference/matlab",
                                     shared_dir / "textures")
    metal = next(m for m in loose if m.name == "metal_seed-0_iter-10")
    assert ps_matlab.run.Scorer().row(metal)["loss"] == pytest.approx(row["loss"])
    assert "0 of 1 run(s) analyzed" in run_script("ps_matlab/analyze.py",
                                                  grid).stdout
    # the whole-process seconds the run recorded (time_synthesize.sh) reach its table
    assert pd.read_csv(run / "loss.csv").iloc[0]["process_duration"] == 12.5
    run_script("ps_matlab/analyze.py", "--force", "--no_plots", run)
    assert pd.read_csv(run / "loss.csv").iloc[0]["loss"] == pytest.approx(
        row["loss"], rel=1e-12)
    record = ps_matlab.run.load_run(run)
    assert isinstance(record, RunRecord) and record.experiment == "ps_matlab"
    assert record.args["n_iter"] == 10 and record.metamer is None
    assert record.row["loss"] == pytest.approx(row["loss"])
    assert record.images["target"].shape == record.images["metamer"].shape == (
        1, 1, 256, 256)
    assert float(record.images["metamer"].max()) <= 1.0


def test_analyze_reports_a_broken_run_and_goes_on(run_script, shared_dir,
                                                  tmp_path):
    grid = tmp_path / "grid"
    good = _fake_run(grid / "good", shared_dir)
    broken = _fake_run(grid / "broken", shared_dir)
    (broken / "metamer.mat").write_bytes(b"not a MAT file")
    proc = run_script("ps_matlab/analyze.py", "--no_plots", grid, check=False)
    assert proc.returncode == 1
    assert f"skipped {broken}" in proc.stderr
    assert "1 of 2 run(s) analyzed" in proc.stdout
    assert (good / "loss.csv").is_file() and not (broken / "loss.csv").exists()


def test_a_three_scale_image_is_scored_with_three_scales(shared_dir, tmp_path):
    """fig12b's metamers are scored with the 3-scale model, as everywhere."""
    import torch

    from plenexp.synth import synthesis

    run = _fake_run(tmp_path / "fig12b_run", shared_dir, img="fig12b.png")
    assert analyze.analyze_run(run, figures=False)
    row = pd.read_csv(run / "loss.csv").iloc[0]
    target, res, _ = metamers.load_pair(metamers.from_run_dir(run))
    losses = {n: synthesis.group_losses(synthesis.make_model(target, n), target,
                                        res)["l2_norm"]["overall"]
              for n in (3, 4)}
    assert row["loss"] == pytest.approx(losses[3])
    assert abs(losses[4] - losses[3]) > 1e-3 * losses[3]
    assert isinstance(res, torch.Tensor)


# ------------------------------------------------------ summary figures ---

def _made_up_table(images=("metal", "text", "fig12b"), seeds=(0, 1),
                   iterations=(5, 10, 20, 50, 100), engines=("octave", "matlab")):
    rng = np.random.default_rng(0)
    rows = []
    for image, seed, n_iter, engine in itertools.product(images, seeds,
                                                         iterations, engines):
        loss = 2.0 / n_iter ** 0.7 * (1 + 0.1 * rng.standard_normal())
        rows.append({"name": f"{image}_{seed}_{n_iter}_{engine}", "image": image,
                     "crop": None, "seed": seed, "n_iter": n_iter,
                     "engine": engine,
                     "engine_version": "7.3.0" if engine == "octave" else "R2023a",
                     "synth_duration": 0.4 * n_iter, "loss": loss,
                     "max_abs_rep_error": loss / 2,
                     **{group: loss / 3 for group in sorted(GROUPS)}})
    return pd.DataFrame(rows)


def test_loss_overall_of_two_close_seeds_is_readable():
    """The quick grid: one image, two seeds 0.716 and 0.721, one iteration count."""
    frame = _made_up_table(images=("reptile_skin",), iterations=(20,),
                           engines=("octave",))
    frame["loss"] = [0.716, 0.721]
    fig = summarize.loss_overall(frame)
    figure_checks.check_figure(fig)
    (ax,) = figure_checks.data_axes(fig)
    assert ax.get_yscale() == "linear"
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["0.718\n(0.716 to 0.721, n=2)"]  # median 0.7185
    assert "n = 2 runs" in fig._suptitle.get_text()


def test_loss_overall_of_a_bigger_table_keeps_images_apart():
    frame = _made_up_table()
    fig = summarize.loss_overall(frame)
    figure_checks.check_figure(fig, legend_numeric=())
    panels = figure_checks.images_per_panel(fig)
    assert sorted(p for s in panels for p in s) == ["fig12b", "metal", "text"]
    assert figure_checks.legend_sections(fig)["engine"] == ["MATLAB R2023a",
                                                            "Octave 7.3.0"]
    ax = figure_checks.data_axes(fig)[0]
    assert ax.get_yscale() == "log" and ax.get_xscale() == "log"


def test_loss_by_group_rows_name_image_seed_and_iterations():
    frame = _made_up_table(images=("text", "metal"), iterations=(25, 10),
                           engines=("octave",))
    fig = summarize.loss_by_group(frame)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["metal / seed 0 / 10 it", "metal / seed 1 / 10 it",
                      "metal / seed 0 / 25 it", "metal / seed 1 / 25 it",
                      "text / seed 0 / 10 it", "text / seed 1 / 10 it",
                      "text / seed 0 / 25 it", "text / seed 1 / 25 it"]
    assert "Octave 7.3.0" in ax.get_title()


def test_success_share_per_configuration():
    frame = _made_up_table(images=("metal",), iterations=(10, 100),
                           engines=("octave",))
    frame["loss"] = [0.3, 0.2, 0.09, 0.3]
    frame["max_abs_rep_error"] = [0.1, 0.1, 0.1, 0.1]
    table = summarize.success(frame)
    shares = dict(zip(table["n_iter"], table["share"], strict=True))
    assert shares == {10: 0.5, 100: 0.0}


@pytest.mark.slow
@pytest.mark.octave
def test_synthesize_scores_and_analyze_force_reproduces(run_script, tmp_path):
    """A 3-scale image (fig12b): the loss written at run time is rebuilt exactly."""
    ts, pyr = real_code()
    from plenexp.synth import images

    target = tmp_path / "fig12b.png"
    images.save_grayscale_png(images.load_image("reptile_skin", crop=128), target)
    run = tmp_path / "grid" / "run"
    proc = run_script("ps_matlab/synthesize.py", "--img", target, "--n_iter", "2",
                      "--engine", "octave", "--texturesynth-dir", ts,
                      "--pyrtools-dir", pyr, "--no_plots", "--output_dir", run)
    written = pd.read_csv(run / "loss.csv").iloc[0]
    assert "PS loss (l2_norm, plenoptic)" in proc.stdout
    assert (written["image"], written["n_iter"], written["engine"]) == (
        "fig12b", 2, "octave")
    assert not (run / "ps_matlab.png").exists()
    run_script("ps_matlab/analyze.py", "--force", run)
    again = pd.read_csv(run / "loss.csv").iloc[0]
    for column in ("loss", "max_abs_rep_error", "pixel_statistics",
                   "synth_duration"):
        assert again[column] == pytest.approx(written[column], rel=1e-12), column
    assert (run / "ps_matlab.png").stat().st_size > 20_000
