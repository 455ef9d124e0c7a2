"""What belongs in the ``plenexp`` package, and the run-directory helpers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _support import fake_runs

from plenexp import cli
from plenexp.runs import rundir
from tests.conftest import REPO


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
    assert rundir.is_done(run) and record["process_duration"] > 0


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

    code = "import sys, plenexp.summary.facets; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "False"


def _plenexp_imports(module: Path) -> set[str]:
    """The plenexp modules ``module`` imports, at any depth of its code."""
    import ast

    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "plenexp":
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("plenexp"))
    return found


def test_the_shared_package_has_no_import_cycle():
    # imports inside functions count too: one there only to dodge a cycle
    # would hide it
    modules = {".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(
        ".__init__"): p for p in (REPO / "plenexp").rglob("*.py")}
    graph = {name: {m for m in _plenexp_imports(path) if m in modules and m != name}
             for name, path in modules.items()}
    # a package's __init__ importing its own lazily-loaded module is no cycle
    graph["plenexp"] -= {"plenexp.loaders"}
    state: dict[str, int] = {}

    def visit(name, trail):
        state[name] = 1
        for dep in sorted(graph[name]):
            if state.get(dep) == 1:
                raise AssertionError(" -> ".join([*trail, name, dep]))
            if dep not in state:
                visit(dep, [*trail, name])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])


def test_the_shared_package_names_no_experiment():
    experiments = sorted(p.parent.name for p in REPO.glob("*/write_disbatch.py"))
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, experiments)) + r")\b")
    for module in (REPO / "plenexp").rglob("*.py"):
        if "experiments" in module.parts:
            continue
        hits = [line for line in module.read_text().splitlines()
                if pattern.search(line)]
        assert not hits, f"{module.relative_to(REPO)}: {hits[:3]}"
