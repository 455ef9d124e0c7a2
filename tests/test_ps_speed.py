"""ps_speed: the smoke grid end to end, a known slow-down found, bad specs refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from plenexp.runs import rundir
from tests.conftest import REPO

#: The stand-in installation's clock runs this many times fast: every duration
#: it measures is this factor longer, as if each timed call were that much slower
#: (large: this machine is shared, and timings of one task drift by 2x under load).
SLOWDOWN = 10.0


def test_smoke_grid_a_against_itself_is_no_difference(tmp_path, run_script,
                                                       script_env):
    root = tmp_path / "out"
    proc = run_script("ps_speed/write_disbatch.py", "--grid", "smoke",
                      "--output-root", root)
    assert "wrote 4 task(s)" in proc.stdout
    assert not (root / "ps_speed" / "venvs").exists()  # the running python: no venv
    taskfile = root / "ps_speed" / "smoke" / "disbatch-cpu.txt"
    done = subprocess.run([sys.executable, "-m", "plenexp.cluster.disbatch_local",
                           str(taskfile)], capture_output=True, text=True,
                          env=script_env, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    grid = root / "ps_speed" / "smoke"
    run_script("ps_speed/analyze.py", grid)
    assert len(list(rundir.done_runs(grid))) == 4
    assert all((run / "timings.png").exists() for run in rundir.done_runs(grid))
    proc = run_script("ps_speed/summarize.py", "--grid", "smoke",
                      "--output-root", root)
    summary = grid / "summary"
    ratios = pd.read_csv(summary / "ratios.csv")
    assert set(ratios["pass"]) == {"forward", "forward_backward", "synthesis"}
    assert (ratios["low"] <= 1).all() and (ratios["high"] >= 1).all(), ratios
    assert set(ratios["verdict"]) == {"no difference"}
    regression = pd.read_csv(summary / "regression.csv")
    assert regression["bitwise_identical"].all()
    assert (regression["max_abs_pixel_difference"] == 0).all()
    text = (summary / "conclusion.txt").read_text()
    assert "B against A on cpu: no difference outside noise" in text
    assert "bitwise identical" in text and "WARNING" not in text
    for name in ("all_loss.csv", "timing.txt", "speed_ratios.png",
                 "speed_ratios.svg"):
        assert (summary / name).is_file()
    frame = pd.read_csv(summary / "all_loss.csv")
    assert (frame["plenoptic_version"].astype(str) != "").all()
    assert (frame["torch_num_threads"] == 1).all()


def slow_python(tmp_path: Path) -> Path:
    """A stand-in interpreter: this python with a clock SLOWDOWN times fast."""
    script = tmp_path / "slow-python"
    script.write_text(
        f"#!{sys.executable}\n"
        "import runpy, sys, time\n"
        "real = time.perf_counter\n"
        f"time.perf_counter = lambda: {SLOWDOWN} * real()\n"
        "args = [a for a in sys.argv[1:] if a != '-I']\n"
        "sys.argv = args\n"
        "runpy.run_path(args[0], run_name='__main__')\n")
    script.chmod(0o755)
    return script


def test_a_slower_installation_is_reported_slower(tmp_path, run_script):
    grid = tmp_path / "grid"
    slow = slow_python(tmp_path)
    for name, python in (("A", sys.executable), ("B", slow)):
        run_script("ps_speed/synthesize.py", "--install", name, "--baseline", "A",
                   "--python", python, "--component", "pyr_forward", "--size", "64",
                   "--repeats", "8", "--no_plots", "-o", grid / name)
    run_script("ps_speed/summarize.py", "--input_dir", grid)
    ratios = pd.read_csv(grid / "summary" / "ratios.csv")
    assert len(ratios) == 2 and set(ratios["verdict"]) == {"slower"}, ratios
    assert ratios["ratio"].between(SLOWDOWN / 2, SLOWDOWN * 2).all(), ratios
    text = (grid / "summary" / "conclusion.txt").read_text()
    assert text.startswith("B against A on cpu: slower")


@pytest.mark.parametrize("spec, message", [
    ("1.2.0", "1.x API"),
    ("9.9.9", "is not available"),
    ("/no/such/place", "not a plenoptic version"),
    ("DIR", "neither a plenoptic checkout"),
    ("FILE", "not an executable python"),
])
def test_bad_specs_are_one_line_and_leave_nothing(tmp_path, run_script, spec,
                                                   message):
    if spec == "DIR":
        spec = str(tmp_path)
    if spec == "FILE":
        (tmp_path / "notes.txt").write_text("hello\n")
        spec = str(tmp_path / "notes.txt")
    root = tmp_path / "out"
    proc = run_script("ps_speed/write_disbatch.py", "--grid", "smoke",
                      "--output-root", root, "--plenoptic", "A=current",
                      "--plenoptic", f"B={spec}", check=False, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not root.exists()


def test_one_installation_is_refused(tmp_path, run_script):
    proc = run_script("ps_speed/write_disbatch.py", "--plenoptic", "A=current",
                      "--output-root", tmp_path / "out", check=False)
    assert proc.returncode == 2 and "nothing to compare" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_full_grid_gpu_task_file_and_sbatch(tmp_path, run_script):
    root = tmp_path / "out"
    proc = run_script("ps_speed/write_disbatch.py", "--grid", "full", "--device",
                      "cuda", "--sbatch", "--output-root", root, "--plenoptic",
                      "A=current", "--plenoptic", "B=current")
    grid = root / "ps_speed" / "full"
    lines = (grid / "disbatch-cuda.txt").read_text().splitlines()
    # 2 installations x 2 dtypes x 2 sizes x 11 components
    assert len(lines) == 88 and all("--device cuda" in line for line in lines)
    assert "synth_lbfgs" in lines[0] and "size-512" in lines[0]  # longest first
    script = (grid / "disbatch-cuda.sbatch").read_text()
    assert "#SBATCH --gres gpu:1" in script and "sbatch" in proc.stdout
