"""Results for notebooks: one grid's summary table, one run's record.

``plenexp.load_results`` and ``plenexp.load_run`` (re-exported by the package)
dispatch to the experiment's own code, as ``CONTRIBUTING.md`` states the
contract: an experiment is a folder of the repository with a
``write_disbatch.py``, importable as a package; its ``summarize.summarize``
builds a grid's table, its ``run.load_run`` reads one run. Nothing heavy is
imported until they are called.
"""

from __future__ import annotations

import importlib
import io
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from plenexp.runs import files, paths, provenance, rundir

if TYPE_CHECKING:
    import pandas

    from plenexp.runs.record import RunRecord

#: The table every experiment's ``summarize`` writes into its summary directory.
SUMMARY_TABLE = "all_loss.csv"
#: The directory of a grid that holds its summary.
SUMMARY_DIR = "summary"


def experiments() -> list[str]:
    """Names of the experiments this checkout has (see :func:`paths.experiments`)."""
    return paths.experiments()


def experiment_module(experiment: str, part: str) -> ModuleType:
    """``<experiment>.<part>``: a module of the experiment's folder.

    Raises
    ------
    ValueError
        If there is no such experiment, or it lacks that module.
    """
    known = experiments()
    if experiment not in known:
        raise ValueError(f"unknown experiment {experiment!r}: expected one of "
                         f"{', '.join(known)}")
    name = f"{experiment}.{part}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name not in (name, experiment):
            raise  # a missing dependency, not a missing part of the contract
        raise ValueError(f"experiment {experiment!r} has no module {part!r} "
                         f"({experiment}/{part}.py; see CONTRIBUTING.md)") from None


def _summary_is_stale(table: Path, grid_dir: Path) -> bool:
    # The table is out of date when a run finished after it was written.
    if not table.is_file():
        return True
    written = table.stat().st_mtime
    for run in rundir.done_runs(grid_dir):
        try:
            if (run / rundir.DONE_MARKER).stat().st_mtime > written:
                return True
        except FileNotFoundError:  # a rerun replaced it meanwhile
            return True
    return False


def load_results(experiment: str, grid: str = "quick",
                 root: str | os.PathLike | None = None,
                 rebuild: bool = False) -> pandas.DataFrame:
    """The summary table of one grid: one row per run (or per run and method).

    Reads ``<root>/<experiment>/<grid>/summary/all_loss.csv``, first building
    it (and the summary figures) with the experiment's ``summarize`` when it
    is missing, when a run finished after it was written, or when ``rebuild``.

    Parameters
    ----------
    experiment
        The experiment's name (its folder).
    grid
        The grid, e.g. ``"quick"``, ``"full"`` or ``"adhoc"`` (runs by hand).
    root
        The output root (default: ``$PLENEXP_OUTPUT_ROOT``, else ``./outputs``).
    rebuild
        Summarize again even when the table is up to date.

    Returns
    -------
    table
        The summary table, as ``summarize.py`` writes it.

    Raises
    ------
    ValueError
        For an unknown experiment.
    FileNotFoundError
        If the grid has no finished runs and no summary table.
    """
    import pandas as pd

    summary = experiment_module(experiment, "summarize")
    grid_dir = paths.grid_dir(paths.output_root(root), experiment, grid)
    output_dir = grid_dir / SUMMARY_DIR
    table = output_dir / SUMMARY_TABLE
    if rebuild or _summary_is_stale(table, grid_dir):
        if next(rundir.done_runs(grid_dir), None) is None:
            raise FileNotFoundError(
                f"no finished runs under {grid_dir}: write the grid's task file "
                f"with python {experiment}/write_disbatch.py --grid {grid} and "
                "run it (python -m plenexp.cluster.disbatch_local TASKFILE)")
        summary.summarize(grid_dir, output_dir)
    # a regular file of the summary, capped: never a FIFO or a link out of it
    return pd.read_csv(io.StringIO(files.read_text(table, root=output_dir)))


def _experiment_of(run_dir: Path, record: dict) -> str:
    # The script that made the run (``<experiment>/synthesize.py``) names its
    # experiment; a run under the output root is ``<experiment>/<grid>/<run>``.
    known = experiments()
    argv = record.get("argv") or []
    candidates = [Path(str(argv[0])).parent.name] if argv else []
    candidates.append(run_dir.resolve().parent.parent.name)
    for name in candidates:
        if name in known:
            return name
    raise ValueError(f"cannot tell which experiment made {run_dir}: its "
                     "provenance.json names no experiment's script and it is not "
                     f"under <root>/<experiment>/<grid>/ (experiments: "
                     f"{', '.join(known)})")


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """One finished run, whatever experiment made it.

    Parameters
    ----------
    run_dir
        The run directory (the one holding ``done.json``).
    metamer
        For plenoptic runs, also rebuild the ``po.Metamer`` from
        ``metamer.pt`` (loaded with ``weights_only=True``).

    Returns
    -------
    record
        The run's :class:`plenexp.runs.record.RunRecord`: arguments, provenance,
        its ``loss.csv`` row, images, trajectory and, if asked for, the
        metamer object.

    Raises
    ------
    FileNotFoundError
        If ``run_dir`` is not a finished run.
    ValueError
        If no experiment of this checkout made it.
    """
    run_dir = Path(run_dir)
    if not rundir.is_done(run_dir):
        raise FileNotFoundError(f"{run_dir} is not a finished run (no "
                                f"{rundir.DONE_MARKER})")
    try:
        record = provenance.load(run_dir)
    except (OSError, ValueError):
        record = {}  # the path may still say which experiment it is
    experiment = _experiment_of(run_dir, record)
    return experiment_module(experiment, "run").load_run(run_dir, metamer=metamer)
