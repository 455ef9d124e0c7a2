"""The shared harness: images, devices, output root, atomic runs, task lines."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch

from plenexp import cli
from plenexp.cli import normalize_device
from plenexp.cluster import tasks
from plenexp.runs import paths, rundir
from plenexp.runs.devices import resolve_device
from plenexp.synth import images


def test_builtin_image_is_gray_float64_in_unit_range():
    image = images.load_image("einstein")
    assert image.shape == (1, 1, 256, 256)
    assert image.dtype == torch.float64
    assert 0 <= float(image.min()) and float(image.max()) <= 1


def test_builtin_of_odd_size_is_cropped_to_what_the_model_takes():
    image = images.load_image("parrot")
    assert image.shape[-2] % 16 == 0 and image.shape[-1] % 16 == 0


def test_crop_keeps_the_centre():
    full = images.load_image("curie")
    crop = images.load_image("curie", crop=128)
    assert crop.shape == (1, 1, 128, 128)
    assert torch.equal(crop, full[..., 64:192, 64:192])


def test_unknown_name_names_what_is_accepted():
    with pytest.raises(cli.UsageError, match="built-in image .*einstein.*paper figure"):
        images.load_image("no_such_texture")


def test_image_file_is_read(tmp_path):
    path = tmp_path / "tex.png"
    array = (np.arange(128 * 128) % 256).reshape(128, 128).astype(np.uint8)
    import imageio.v3 as iio

    iio.imwrite(path, array)
    image = images.load_image(path)
    assert image.shape == (1, 1, 128, 128)
    assert np.allclose(image.numpy()[0, 0] * 255, array)


def test_colour_file_is_refused(tmp_path):
    import imageio.v3 as iio

    rgb = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "rgb.png", rgb)
    with pytest.raises(cli.UsageError, match="colour"):
        images.load_image(tmp_path / "rgb.png")


def test_wrongly_sized_file_is_refused(tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "odd.png", np.zeros((100, 100), np.uint8))
    with pytest.raises(cli.UsageError, match="divisible by 16 and at least 128"):
        images.load_image(tmp_path / "odd.png")


def test_paper_figure_without_network_is_one_clear_error(monkeypatch):
    import plenoptic as po

    def offline(name):
        raise ConnectionError("no network")

    monkeypatch.setattr(po.data, "fetch_data", offline)
    with pytest.raises(cli.UsageError, match="network access"):
        images.load_image("fig4a")


def test_fig12b_uses_three_scales():
    assert images.n_scales_for("fig12b") == 3
    assert images.n_scales_for("fig4a") == 4


@pytest.mark.parametrize("spec, expected", [("cpu", "cpu"), ("CUDA", "cuda"),
                                            ("cuda:1", "cuda:1"), ("2", "cuda:2")])
def test_device_specs(spec, expected):
    assert normalize_device(spec) == expected


def test_bad_device_is_refused():
    with pytest.raises(cli.UsageError, match="unknown device"):
        normalize_device("gpu0")
    assert resolve_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(cli.UsageError, match="CUDA is not available"):
            resolve_device("cuda")


def test_output_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.OUTPUT_ROOT_ENV, raising=False)
    assert paths.output_root(None) == paths.Path("./outputs")
    monkeypatch.setenv(paths.OUTPUT_ROOT_ENV, str(tmp_path / "env"))
    assert paths.output_root(None) == tmp_path / "env"
    assert paths.output_root(tmp_path / "cli") == tmp_path / "cli"


def test_atomic_run_dir_publishes_only_on_success(tmp_path):
    final = tmp_path / "grid" / "run"
    with pytest.raises(RuntimeError):
        with rundir.atomic_run_dir(final) as tmp:
            (tmp / "half.txt").write_text("x")
            raise RuntimeError("killed")
    assert not final.exists()
    # nothing left, not even the directories made for the run
    assert list(tmp_path.iterdir()) == []
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("first")
    assert rundir.is_done(final)
    # a rerun replaces the earlier result in one step
    with rundir.atomic_run_dir(final) as tmp:
        (tmp / "result.txt").write_text("second")
    assert (final / "result.txt").read_text() == "second"
    assert list(rundir.done_runs(tmp_path)) == [final]


def test_stale_partial_of_a_killed_run_is_cleared_on_rerun(tmp_path):
    final = tmp_path / "run"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = rundir.hidden_dir(final, "partial", pid=int(dead))
    stale.mkdir()
    assert list(rundir.done_runs(tmp_path)) == []
    with rundir.atomic_run_dir(final):
        pass
    assert not stale.exists() and rundir.is_done(final)


WEIRD = ["a b", "c;d", "e'f", 'g"h', "$(rm -rf x)", "tab\tbed"]


def test_task_line_keeps_every_argument_whole(tmp_path):
    out = tmp_path / "dir with spaces; and 'quotes'" / "args.json"
    out.parent.mkdir()
    command = [sys.executable, "-c",
               "import json, sys; json.dump(sys.argv[2:], open(sys.argv[1], 'w'))",
               out, *WEIRD]
    env = {"TQDM_DISABLE": "1", "ODD": "x y;z"}
    line = tasks.shell_line(command, env, tmp_path / "log; x.log", cwd=tmp_path)
    assert "\n" not in line
    subprocess.run(["bash", "-c", line], check=True)
    assert json.loads(out.read_text()) == WEIRD
    assert (tmp_path / "log; x.log").exists()


def test_write_disbatch_quotes_odd_output_roots(tmp_path, run_script):
    root = tmp_path / "my results; 'v2'"
    run_script("ps_lbfgs/write_disbatch.py", "--grid", "smoke", "--output-root", root)
    taskfile = root / "ps_lbfgs" / "smoke" / "disbatch-cpu.txt"
    lines = taskfile.read_text().splitlines()
    assert len(lines) == 2
    for line in lines:
        words = shlex.split(line)
        out_dir = words[words.index("--output_dir") + 1]
        assert out_dir.startswith(str(root.resolve()))
        assert "TQDM_DISABLE=1" in words and "OMP_NUM_THREADS=1" in words
        assert words[words.index(">") + 1] == out_dir + ".log"


def test_bad_arguments_exit_2_with_one_line(run_script, tmp_path):
    proc = run_script("ps_lbfgs/write_disbatch.py", "--grid", "nope", check=False)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "invalid choice" in proc.stderr


def test_thread_settings_follow_the_task_environment(monkeypatch):
    from plenexp.runs import provenance

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    try:
        provenance.apply_thread_settings()
        record = provenance.thread_settings()
        assert record["torch_num_threads"] == 1
        assert record["omp_num_threads"] == "1"
    finally:
        torch.set_num_threads(before)


def test_provenance_names_versions_and_host():
    from plenexp.runs import provenance

    record = provenance.collect({"img": "x"}, torch.device("cpu"), "cpu")
    assert record["plenoptic_version"].startswith("2.")
    assert record["torch_version"]
    assert record["host"] == os.uname().nodename
    assert record["args"] == {"img": "x"}
    json.dumps(record)  # must be serialisable
