"""Every experiment honours the contract of ``CONTRIBUTING.md``.

Experiments are found, not listed: every folder of the repository that is a
package with a ``write_disbatch.py``. For each, its files and the functions of
its modules exist, its folder holds nothing the README's layout table does not
name, every option of every script has help, the task writer and
``synthesize.py --help`` import nothing heavy, and (for plenoptic experiments)
``analyze.py --force`` on a finished run reproduces the loss the run wrote, on
a smoke-grid run and on a 3-scale image (``fig12b``). The smoke grid, run end
to end, leaves a summary with ``conclusion.txt``. Each README's documented
quick-grid commands run as written from the repository root (on the smoke
grid), and the top-level README's layout table lists each experiment's files.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plenexp import cli
from plenexp.runs import paths, results, rundir
from tests.conftest import (
    REPO,
    quick_grid_steps,
    readme_commands,
    user_checkout,
    write_smoke_taskfile,
)

EXPERIMENTS = paths.experiments()
#: Experiments whose runs are plenoptic metamer syntheses: one run is one
#: synthesis of ``--synth_max_iter`` steps, whose table ``analyze.py --force``
#: rebuilds from the saved metamer (ps_matlab runs textureSynth, ps_speed times).
PLENOPTIC = [e for e in EXPERIMENTS
             if "--synth_max_iter" in (REPO / e / "synthesize.py").read_text()]
#: The files every experiment folder has.
CONTRACT_FILES = ("__init__.py", "README.md", "synthesize.py", "time_synthesize.sh",
                  "write_disbatch.py", "run.py", "analyze.py", "plot.py",
                  "summarize.py")
#: Module -> names it provides, in every experiment.
CONTRACT_MODULES = {
    "write_disbatch": ("EXPERIMENT", "GRIDS"),
    "run": ("run_name", "load_run"),
    "analyze": ("analyze_run",),
    "summarize": ("summarize",),
}
#: What a plenoptic experiment's ``run.py`` adds.
PLENOPTIC_RUN = ("load_target", "build")
#: Modules of its own an experiment may have beyond the contract's scripts.
MAX_OWN_MODULES = 2
#: Modules ``synthesize.py --help`` must not import (``--help`` stays < 0.1 s).
HEAVY = ("torch", "plenoptic", "numpy", "pandas", "matplotlib", "seaborn", "scipy")

def scripts(experiment: str) -> list[Path]:
    """The experiment's scripts (its modules are imported, not run)."""
    return sorted(p for p in (REPO / experiment).glob("*.py")
                  if 'if __name__ == "__main__"' in p.read_text())


def script_parser(path: Path) -> argparse.ArgumentParser:
    """The parser a script builds, caught when it starts parsing.

    The script runs as ``__main__`` with no arguments until its first
    ``parse_known_args`` (which ``parse_args`` calls), where it is stopped.
    """

    class Caught(BaseException):
        pass

    def catch(self, *args, **kwargs):
        raise Caught(self)

    saved = (sys.argv, signal.getsignal(signal.SIGTERM),
             argparse.ArgumentParser.parse_known_args)
    sys.argv = [str(path)]
    argparse.ArgumentParser.parse_known_args = catch
    try:
        runpy.run_path(str(path), run_name="__main__")
    except Caught as caught:
        return caught.args[0]
    finally:
        sys.argv = saved[0]
        signal.signal(signal.SIGTERM, saved[1])
        argparse.ArgumentParser.parse_known_args = saved[2]
    raise AssertionError(f"{path} finished without parsing a command line")


# --------------------------------------------------------------------------
# Shape: scripts, package, options
# --------------------------------------------------------------------------


def test_experiments_are_found():
    assert {"ps_lbfgs", "ps_matlab", "ps_matlab_vs_plen", "ps_noise"} \
        <= set(EXPERIMENTS)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_folder_has_the_contract_files(experiment):
    missing = [s for s in CONTRACT_FILES if not (REPO / experiment / s).is_file()]
    assert not missing, f"{experiment}/ lacks {', '.join(missing)}"
    code = "\n".join(p.read_text() for p in (REPO / experiment).glob("*.py"))
    # modules the experiment's code imports (scripts and examples are not)
    own = [p.name for p in (REPO / experiment).glob("*.py")
           if p.name not in CONTRACT_FILES and re.search(
               rf"\b{experiment}(\.{p.stem}\b| import [\w, ]*\b{p.stem}\b)", code)]
    # run.py and at most one more: the experiment's science stays readable
    assert len(own) + 1 <= MAX_OWN_MODULES, f"{experiment}/: modules {own}"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_modules_provide_the_contract(experiment):
    needed = dict(CONTRACT_MODULES)
    if experiment in PLENOPTIC:
        needed["run"] = (*needed["run"], *PLENOPTIC_RUN)
    for module_name, names in needed.items():
        module = importlib.import_module(f"{experiment}.{module_name}")
        for name in names:
            assert hasattr(module, name), f"{module.__name__} lacks {name}"
        if module_name == "run" and experiment in PLENOPTIC:
            assert hasattr(module, "loss_row") or hasattr(module, "loss_rows"), \
                f"{module.__name__} lacks loss_row (or loss_rows)"
    writer = importlib.import_module(f"{experiment}.write_disbatch")
    assert writer.EXPERIMENT == experiment
    assert {"smoke", "quick", "full"} <= set(writer.GRIDS)
    for name, grid in writer.GRIDS.items():
        tasks = grid(root=Path("/nonexistent-root"), device="cpu")
        runs = [t.name for t in tasks]
        assert len(set(runs)) == len(runs), f"{experiment} {name}: duplicate names"
        assert all(t.seconds is not None and t.seconds > 0 for t in tasks), \
            f"{experiment} {name}: a task without its estimated seconds"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_task_writer_is_light(experiment):
    """The grids (read by task writers and --help) import nothing heavy."""
    code = (f"import sys, json; import {experiment}.write_disbatch; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    assert json.loads(out) == []


def test_make_demo_runs_every_experiment():
    out = subprocess.run(["make", "-n", "-s", "demo"], capture_output=True,
                         text=True, cwd=REPO, check=True).stdout
    for experiment in EXPERIMENTS:
        assert re.search(rf"\b{experiment}\b", out), f"make demo skips {experiment}"


@pytest.mark.parametrize("script", [
    pytest.param(path, id=f"{path.parent.name}/{path.name}")
    for experiment in EXPERIMENTS for path in scripts(experiment)])
def test_every_option_has_help(script):
    parser = script_parser(script)
    # not a standalone example to copy, nor a worker another Python runs
    if re.search(r"^(from|import) plenexp", script.read_text(), re.M):
        assert isinstance(parser, cli.ArgumentParser), (
            f"{script}: use plenexp.cli.ArgumentParser (one-line errors, "
            "defaults shown)")
    lacking = [action.option_strings[0] if action.option_strings else action.dest
               for action in parser._actions
               if not isinstance(action, argparse._HelpAction)
               and (not action.help or action.help == argparse.SUPPRESS)]
    assert not lacking, f"{script.name}: no help for {', '.join(lacking)}"
    short = {s for a in parser._actions for s in a.option_strings
             if re.fullmatch(r"-\w", s)}
    assert "-t" not in short, "-t meant two different things: use long names"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_synthesize_help_imports_nothing_heavy(experiment, script_env):
    script = REPO / experiment / "synthesize.py"
    code = (
        "import json, runpy, sys, time\n"
        f"sys.argv = [{str(script)!r}, '--help']\n"
        "start = time.perf_counter()\n"
        "try:\n"
        "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "seconds = time.perf_counter() - start\n"
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print(json.dumps([seconds, heavy]), file=sys.stderr)\n")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=script_env, cwd=REPO, timeout=60)
    whole = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
    seconds, heavy = json.loads(proc.stderr.strip().splitlines()[-1])
    print(f"{experiment}/synthesize.py --help: {seconds:.3f} s after the "
          f"interpreter started, {whole:.3f} s whole process")
    assert heavy == [], f"--help imported {', '.join(heavy)}"
    # measured ~0.05 s on a quiet laptop; the bound only catches a heavy import
    assert seconds < 1.0


def options(script: Path) -> set[str]:
    """Every option string a script accepts."""
    return {s for a in script_parser(script)._actions for s in a.option_strings}


# --------------------------------------------------------------------------
# analyze --force reproduces what a run wrote
# --------------------------------------------------------------------------


def losses(run_dir: Path) -> list[float]:
    return [float(row["loss"]) for row in results.read_rows(run_dir / "loss.csv")]


def assert_analyze_reproduces(run_dir: Path, run_script) -> None:
    before = losses(run_dir)
    table = run_dir / "loss.csv"
    table.unlink()  # analyze must rebuild it, not keep it
    run_script(f"{run_dir_experiment(run_dir)}/analyze.py", "--force", run_dir)
    after = losses(run_dir)
    assert len(after) == len(before)
    for b, a in zip(before, after, strict=True):
        assert math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12), (before, after)


def run_dir_experiment(run_dir: Path) -> str:
    record = json.loads((run_dir / "provenance.json").read_text())
    return Path(record["argv"][0]).parent.name


def plenoptic_run(grid: Path, tmp_path: Path | None = None) -> Path:
    """A finished plenoptic run of a grid (a copy under ``tmp_path`` if given)."""
    run = next(r for r in rundir.done_runs(grid) if (r / "metamer.pt").is_file())
    if tmp_path is None:
        return run
    copy = tmp_path / run.name
    shutil.copytree(run, copy)
    return copy


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_smoke_grid_summary_states_a_conclusion(experiment, smoke_grid):
    summary = smoke_grid(experiment) / "summary"
    assert (summary / "all_loss.csv").is_file()
    conclusion = (summary / "conclusion.txt").read_text()
    # sentences, not a table: the decision in words
    assert len(conclusion.split()) >= 8 and "." in conclusion, conclusion


@pytest.mark.slow
@pytest.mark.parametrize("experiment", PLENOPTIC)
def test_analyze_force_reproduces_a_smoke_run(experiment, smoke_grid, tmp_path,
                                              run_script):
    run = plenoptic_run(smoke_grid(experiment), tmp_path)
    assert_analyze_reproduces(run, run_script)


@pytest.fixture
def three_scale_image(tmp_path) -> Path:
    """A 128x128 texture in a file named like the PS paper's 3-scale fig12b."""
    from plenexp.synth import images

    path = tmp_path / "fig12b.png"
    images.save_grayscale_png(images.load_image("reptile_skin", crop=128), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("experiment", PLENOPTIC)
def test_analyze_force_reproduces_a_three_scale_run(experiment, three_scale_image,
                                                    tmp_path, run_script):
    """The case that once changed ps_noise's loss (1.73 -> 3.17): 3 scales."""
    from plenexp.synth import images

    assert images.n_scales_for(str(three_scale_image)) == 3
    accepted = options(REPO / experiment / "synthesize.py")
    extra: list = [flag for flag in ("--no_plots",) if flag in accepted]
    if "--seed" in accepted:
        extra += ["--seed", "0"]
    if "--init_img" in accepted:
        init = tmp_path / "init.png"
        images.save_grayscale_png(images.load_image("curie", crop=128), init)
        extra += ["--init_img", init]
    run = tmp_path / "run"
    run_script(f"{experiment}/synthesize.py", "--img", three_scale_image,
               "--synth_max_iter", "3", "--output_dir", run, *extra)
    assert_analyze_reproduces(run, run_script)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", PLENOPTIC)
def test_load_run_gives_the_record_and_the_metamer(experiment, smoke_grid):
    import plenoptic as po

    import plenexp

    run = plenoptic_run(smoke_grid(experiment))
    record = plenexp.load_run(run)
    assert record.experiment == experiment and record.run_dir == run
    recorded = json.loads((run / "provenance.json").read_text())["args"]
    assert json.loads(json.dumps(record.args, default=str)) == recorded
    assert isinstance(record.metamer, po.Metamer)
    assert record.metamer.metamer.shape[-2:] == (128, 128)
    assert record.row and "loss" in record.row
    assert plenexp.load_run(run, metamer=False).metamer is None


@pytest.mark.slow
@pytest.mark.parametrize("experiment", PLENOPTIC)
def test_load_results_summarizes_a_grid(experiment, smoke_grid):
    import plenexp

    grid = smoke_grid(experiment)
    frame = plenexp.load_results(experiment, grid.name, grid.parents[1])
    assert len(frame) >= 1 and "loss" in frame.columns
    rebuilt = plenexp.load_results(experiment, grid.name, grid.parents[1],
                                   rebuild=True)
    assert len(rebuilt) == len(frame)


# --------------------------------------------------------------------------
# READMEs: one way to run a task file; the documented commands work
# --------------------------------------------------------------------------

READMES = [REPO / "README.md", *(REPO / e / "README.md" for e in EXPERIMENTS)]


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_readmes_say_one_way_to_run_a_task_file(readme):
    text = readme.read_text()
    # not disBatch by hand on this machine: disbatch_local reports failures
    assert not re.search(r"disbatch\s+-s\s+localhost", text, re.I)
    assert not re.search(r"(?m)^\s*disbatch\s", text)
    assert "`disbatch` the task file" not in text
    for words in readme_commands(readme):
        if words[0] in ("disbatch", "disBatch"):
            raise AssertionError(f"{readme}: {shlex.join(words)}")
        if words[0] == "sbatch":  # disBatch itself, or a writer's --sbatch script
            script = any(w.endswith(".sbatch") for w in words)
            assert "disBatch" in words or (script and "--sbatch" in text), \
                shlex.join(words)
    if any("write_disbatch.py" in w for c in readme_commands(readme) for w in c):
        assert "python -m plenexp.cluster.disbatch_local" in text


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_writers_say_the_same_way_to_run_a_task_file(experiment, tmp_path, script_env):
    taskfile = tmp_path / "tasks.txt"
    proc = write_smoke_taskfile(experiment, taskfile, tmp_path / "out", script_env)
    if proc.returncode == 2 and experiment == "ps_matlab":
        pytest.skip(f"no MATLAB set-up: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    assert f"python -m plenexp.cluster.disbatch_local {taskfile}" in proc.stdout
    assert "sbatch" in proc.stdout and "disbatch -s" not in proc.stdout


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_files_beyond_the_contract_are_named_in_the_experiments_readme(experiment):
    """A reader of the folder's README learns what every file in it is."""
    readme = (REPO / experiment / "README.md").read_text()
    extra = sorted(p.name for p in (REPO / experiment).iterdir()
                   if p.name not in CONTRACT_FILES and p.name != "__pycache__"
                   and not p.name.startswith("."))
    unnamed = [name for name in extra if f"`{name}" not in readme]
    assert not unnamed, f"{experiment}/README.md does not say what {unnamed} are"


def test_readme_layout_names_no_experiment_by_hand():
    """The top-level layout table describes experiment folders, not each one."""
    layout = (REPO / "README.md").read_text().split("## Layout", 1)[1]
    layout = layout.split("\n## ", 1)[0]
    for experiment in EXPERIMENTS:
        assert f"`{experiment}/`" not in layout, experiment


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_readme_commands_name_scripts_from_the_repository_root(readme):
    """Every documented ``python X.py``, ``python -m M`` and ``bash X.sh`` exists."""
    import importlib.util

    for words in readme_commands(readme):
        if words[0] not in ("python", "bash") or len(words) < 2:
            continue
        if words[1] == "-m":
            assert importlib.util.find_spec(words[2]), shlex.join(words)
        elif words[1].endswith((".py", ".sh")):
            assert (REPO / words[1]).is_file(), (
                f"{readme.relative_to(REPO)}: {shlex.join(words)} does not run "
                "from the repository root")


def test_readme_help_commands_run_from_the_repository_root(tmp_path, script_env):
    """Every README's ``--help`` commands, as written, from a checkout."""
    checkout = user_checkout(tmp_path / "repository root")
    commands = [w for readme in READMES for w in readme_commands(readme)
                if w[0] == "python" and "--help" in w]
    assert commands
    for words in commands:
        proc = subprocess.run([sys.executable, *words[1:]], capture_output=True,
                              text=True, env=script_env, cwd=checkout, timeout=120)
        assert proc.returncode == 0 and "usage:" in proc.stdout, shlex.join(words)


@pytest.mark.slow
@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_readme_commands_run_from_the_repository_root(experiment, smoke_grid):
    """Each README's quick-grid steps, on the smoke grid, as written.

    The session's smoke grid is made by exactly these steps (``conftest``),
    from a copy of the checkout whose ``./outputs`` is the default root.
    """
    if not quick_grid_steps(REPO / experiment / "README.md"):
        pytest.skip(f"{experiment}/README.md documents no quick-grid step")
    made = smoke_grid.run(experiment)
    assert made.steps and all(proc.returncode == 0 for _, proc in made.steps)
    # the documented steps ran the grid where the README says (./outputs)
    assert made.root.name == "outputs" and made.root.parent.name == "repository root"
    assert next(rundir.done_runs(made.grid), None), f"no finished run in {made.grid}"
    assert (made.grid / "summary" / "all_loss.csv").is_file()
