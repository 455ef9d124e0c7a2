"""A run pointed at something that is not a finished run leaves it untouched.

Issue: ``-o``/``-f`` at a folder of the user's files deleted it (exit 0).
Only a finished run of this project (``done.json``) or an empty directory
may be replaced; anything else is refused with exit 2 and one line.
"""

from __future__ import annotations

import pytest

from plenexp.cli import UsageError
from plenexp.runs import rundir

#: The cheapest real run of each experiment that takes an output directory.
LBFGS = ("ps_lbfgs/synthesize.py", "--img", "reptile_skin", "--crop", "128",
         "--max_iter", "2", "--max_eval", "2", "--synth_max_iter", "1",
         "--no_plots", "-o")
NOISE = ("ps_noise/synthesize.py", "--img", "reptile_skin", "--crop", "128",
         "--synth_max_iter", "1", "--no_plots", "-f")


def _user_folder(path):
    (path / "sub").mkdir(parents=True)
    (path / "thesis.txt").write_text("years of work\n")
    (path / "sub" / "data.csv").write_text("1,2\n")
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def _listing(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


@pytest.mark.parametrize("command", [LBFGS, NOISE], ids=["ps_lbfgs", "ps_noise"])
def test_run_at_user_folder_is_refused_and_folder_kept(tmp_path, run_script,
                                                       command):
    tmp_path = tmp_path / "work"  # the fixture's own files (.mpl) stay outside
    folder = tmp_path / "v"
    before = _user_folder(folder)
    proc = run_script(*command, folder, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "holds no finished run" in lines[0], proc.stderr
    assert _listing(folder) == before
    assert (folder / "thesis.txt").read_text() == "years of work\n"
    # nothing hidden left beside it either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v"]


def test_run_at_file_is_refused_and_file_kept(tmp_path, run_script):
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    proc = run_script(*LBFGS, target, check=False)
    assert proc.returncode == 2
    assert "is not a run directory" in proc.stderr
    assert target.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_finished_run_and_empty_directory_may_be_replaced(tmp_path, run_script):
    tmp_path = tmp_path / "work"
    empty = tmp_path / "empty"
    empty.mkdir(parents=True)
    run_script(*LBFGS, empty)
    assert rundir.is_done(empty)
    first = (empty / "done.json").read_text()
    run_script(*LBFGS, empty)  # a finished run is replaced by its rerun
    assert rundir.is_done(empty) and (empty / "done.json").read_text() != first
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_publish_refuses_a_folder_that_appeared_during_the_run(tmp_path):
    final = tmp_path / "run"
    with pytest.raises(UsageError):
        with rundir.atomic_run_dir(final) as tmp:
            (tmp / "result.txt").write_text("x")
            # the user creates a folder of their own there while the run goes on
            final.mkdir()
            (final / "mine.txt").write_text("mine")
    assert (final / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
