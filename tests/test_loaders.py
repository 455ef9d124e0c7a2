"""plenexp.load_results and plenexp.load_run, against a small stand-in experiment.

The stand-in experiment ``toy`` (a folder written here into a temporary
checkout, which the loaders are pointed at) has only what the loaders use from
the contract: ``summarize.summarize`` and ``run.load_run``.
The real experiments are loaded in ``test_contract.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import plenexp
from plenexp import loaders
from plenexp.runs import paths, results, rundir
from plenexp.runs.record import RunRecord

TOY_SUMMARY = '''
from plenexp.runs import results


def summarize(input_dir, output_dir, from_csv=None):
    output_dir.mkdir(parents=True, exist_ok=True)
    calls = output_dir.parent / "summarize_calls.txt"
    calls.write_text(str(int(calls.read_text()) + 1 if calls.exists() else 1))
    rows, problems = results.gather(input_dir, "loss.csv")
    frame = results.to_frame(rows)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    return frame
'''

TOY_RESULTS = '''
from plenexp.runs import provenance, results
from plenexp.runs.record import RunRecord


def load_run(run_dir, metamer=True):
    record = provenance.load(run_dir)
    args = record.pop("args")
    row = results.read_rows(run_dir / "loss.csv")[0]
    return RunRecord(run_dir, "toy", args, record, row,
                     metamer="metamer" if metamer else None)
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Register the stand-in experiment ``toy``; return its scripts' folder."""
    repo = tmp_path / "repo"
    package = repo / "toy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A stand-in experiment."""\n')
    (package / "write_disbatch.py").write_text('"""Its task writer."""\n')
    (package / "summarize.py").write_text(TOY_SUMMARY)
    (package / "run.py").write_text(TOY_RESULTS)
    monkeypatch.setattr(paths, "REPO_ROOT", repo)
    monkeypatch.syspath_prepend(str(repo))
    yield package
    for name in [m for m in sys.modules if m == "toy" or m.startswith("toy.")]:
        del sys.modules[name]


def write_run(run_dir: Path, loss: float, script: Path | None) -> Path:
    """A finished run as a script of ``script``'s experiment leaves it."""
    run_dir.mkdir(parents=True)
    argv = [str(script), "--seed", "0"] if script else []
    rundir.write_json(run_dir / "provenance.json",
                      {"args": {"seed": 0}, "argv": argv, "host": "here"})
    results.write_row({"seed": 0, "loss": loss}, run_dir / "loss.csv")
    rundir.write_json(run_dir / rundir.DONE_MARKER, {"finished": 0})
    return run_dir


def calls(root: Path, grid: str = "quick") -> int:
    return int((root / "toy" / grid / "summarize_calls.txt").read_text())


def test_load_results_builds_the_table_once_and_again_after_a_new_run(tmp_path, toy):
    root = tmp_path / "out"
    grid = root / "toy" / "quick"
    write_run(grid / "a", 0.5, toy / "synthesize.py")
    write_run(grid / "b", 0.25, toy / "synthesize.py")
    frame = plenexp.load_results("toy", root=root)
    assert sorted(frame["loss"]) == [0.25, 0.5]
    assert (grid / "summary" / "all_loss.csv").is_file()
    assert calls(root) == 1
    # up to date: read, not rebuilt
    assert sorted(plenexp.load_results("toy", "quick", root)["loss"]) == [0.25, 0.5]
    assert calls(root) == 1
    # a run finished after the table was written: rebuilt
    table = grid / "summary" / "all_loss.csv"
    os.utime(table, (table.stat().st_mtime - 10,) * 2)
    write_run(grid / "c", 0.125, toy / "synthesize.py")
    assert sorted(plenexp.load_results("toy", root=root)["loss"]) == [0.125, 0.25, 0.5]
    assert calls(root) == 2
    plenexp.load_results("toy", root=root, rebuild=True)
    assert calls(root) == 3


def test_load_results_default_root_is_the_environment(tmp_path, toy, monkeypatch):
    root = tmp_path / "env root"
    write_run(root / "toy" / "full" / "a", 0.5, toy / "synthesize.py")
    monkeypatch.setenv("PLENEXP_OUTPUT_ROOT", str(root))
    assert list(plenexp.load_results("toy", grid="full")["loss"]) == [0.5]


def test_load_results_says_what_is_missing(tmp_path, toy):
    with pytest.raises(ValueError, match="unknown experiment 'nope'.*toy"):
        plenexp.load_results("nope", root=tmp_path)
    with pytest.raises(FileNotFoundError,
                       match=r"no finished runs under .*toy/quick.*write_disbatch"):
        plenexp.load_results("toy", root=tmp_path)
    # an experiment without the contract's module
    (toy / "summarize.py").unlink()
    sys.modules.pop("toy.summarize")
    with pytest.raises(ValueError,
                       match="experiment 'toy' has no module 'summarize'"):
        plenexp.load_results("toy", root=tmp_path)


def test_load_run_finds_the_experiment_from_the_script_that_made_it(tmp_path, toy):
    # a run written anywhere (--output_dir): the recorded script names it
    run = write_run(tmp_path / "anywhere" / "run", 0.5, toy / "synthesize.py")
    record = plenexp.load_run(run)
    assert isinstance(record, RunRecord)
    assert (record.experiment, record.run_dir, record.args) == ("toy", run, {"seed": 0})
    assert float(record.row["loss"]) == 0.5 and record.metamer == "metamer"
    assert plenexp.load_run(str(run), metamer=False).metamer is None


def test_load_run_finds_the_experiment_from_the_output_root_layout(tmp_path, toy):
    run = write_run(tmp_path / "out" / "toy" / "adhoc" / "run", 0.5, None)
    assert plenexp.load_run(run).experiment == "toy"
    # damaged provenance: the layout still says which experiment
    (run / "provenance.json").write_text('{"args": ')
    with pytest.raises(json.JSONDecodeError):  # from the toy loader, not ours
        plenexp.load_run(run)


def test_load_run_refuses_what_is_not_a_finished_run(tmp_path, toy):
    run = write_run(tmp_path / "elsewhere" / "run", 0.5, None)
    with pytest.raises(ValueError, match="cannot tell which experiment made"):
        plenexp.load_run(run)
    (run / rundir.DONE_MARKER).unlink()
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        plenexp.load_run(run)
    with pytest.raises(FileNotFoundError, match="not a finished run"):
        plenexp.load_run(tmp_path / "missing")


def test_experiments_are_the_folders_of_the_checkout():
    assert {"ps_lbfgs", "ps_matlab", "ps_matlab_vs_plen", "ps_noise"} \
        <= set(loaders.experiments())


def test_import_plenexp_stays_light():
    code = textwrap.dedent("""
        import json, sys
        import plenexp
        before = sorted(m for m in ("pandas", "torch", "plenoptic", "matplotlib",
                                    "plenexp.loaders") if m in sys.modules)
        plenexp.load_run
        print(json.dumps([before, "plenexp.loaders" in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    before, loaded = json.loads(out)
    assert before == [] and loaded
