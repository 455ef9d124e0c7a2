"""What belongs in the ``plenexp`` package, and the run-directory helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _support import fake_runs

from plenexp import cli, rundir

from .conftest import REPO


def test_package_data_patterns_each_match_a_file():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    package_data = config["tool"]["setuptools"]["package-data"]
    for package, patterns in package_data.items():
        folder = REPO / package.replace(".", "/")
        for pattern in patterns:
            assert list(folder.glob(pattern)), f"{package}: {pattern} matches nothing"


def test_benchmark_and_test_helpers_stay_out_of_the_package():
    assert not (REPO / "plenexp" / "bench.py").exists()
    assert not (REPO / "plenexp" / "fake_runs.py").exists()
    for module in (REPO / "plenexp").rglob("*.py"):
        assert "_support" not in module.read_text(), module


def test_stand_in_runs_record_what_synthesize_parses(tmp_path):
    (run,) = fake_runs.write_ps_lbfgs_runs(tmp_path / "ps_lbfgs" / "full", 1)
    record = json.loads((run / "provenance.json").read_text())
    script = fake_runs.load_script("ps_lbfgs")
    assert record["args"] == fake_runs.script_args(script, record["argv"][1:])
    # every option of the script, defaults included, is recorded
    defaults = fake_runs.script_args(script, [])
    assert set(record["args"]) == set(defaults)
    assert record["args"]["output_dir"] == str(run)
    assert rundir.is_done(run) and rundir.read_process_time(run) > 0


def finished(path: Path) -> Path:
    path.mkdir(parents=True)
    rundir.write_json(path / rundir.DONE_MARKER, {})
    return path


def test_finished_runs_in_and_below_directories(tmp_path):
    a = finished(tmp_path / "grid" / "a")
    b = finished(tmp_path / "grid" / "b")
    (tmp_path / "grid" / "unfinished").mkdir()
    assert sorted(rundir.finished_runs([tmp_path / "grid"])) == [a, b]
    assert rundir.finished_runs([a]) == [a]
    with pytest.raises(cli.UsageError, match="no such directory"):
        rundir.finished_runs([tmp_path / "missing"])
    with pytest.raises(cli.UsageError, match=re.escape("no finished runs")):
        rundir.finished_runs([tmp_path / "grid" / "unfinished"])


def test_plot_destinations_never_share_a_folder(tmp_path):
    a = finished(tmp_path / "a")
    b = finished(tmp_path / "b")
    out = tmp_path / "figures"
    assert rundir.plot_destinations([a, b]) == [(a, a), (b, b)]
    assert rundir.plot_destinations([a], out) == [(a, out)]
    assert rundir.plot_destinations([a, b], out) == [(a, out / "a"), (b, out / "b")]
    (tmp_path / "c").mkdir()
    with pytest.raises(cli.UsageError, match="not a finished run"):
        rundir.plot_destinations([a, tmp_path / "c"])


def test_facets_need_no_matplotlib():
    """Choosing facets and aggregating is table work; drawing is facet_grid's."""
    import subprocess
    import sys

    code = "import sys, plenexp.facets; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "False"
