"""Loading any result (MATLAB MAT file or plenoptic run) and writing its table."""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_matlab_vs_plen import run
from plenexp.experiments.ps_matlab_vs_plen.figures import RUN_FIGURE, run_figure
from plenexp.experiments.ps_matlab_vs_plen.grids import (
    EXPERIMENT,
    is_loss_table,
    seed_of,
    table_path,
)
from plenexp.runs import provenance, rundir
from plenexp.runs import results as shared_results
from plenexp.runs.record import RunRecord
from plenexp.synth import images, matlab, synthesis

#: How engines are named in tables and legends.
ENGINE_NAMES = {"octave": "Octave", "matlab": "MATLAB"}
#: The engine of a MAT file whose engine is not known.
UNKNOWN_ENGINE = "engine unknown"
#: A bare MAT file's name: ``<img>_seed-<N>_iter-<Niter>.mat``.
FILE_NAME = re.compile(r"^(?P<img>.+)_(?P<init>seed-\d+)_iter-(?P<iter>\d+)$")


def engine_label(name: str | None, version: str | None = None) -> str:
    """``Octave 7.3.0``, ``MATLAB 23.2.0...``, or :data:`UNKNOWN_ENGINE`."""
    if not name:
        return UNKNOWN_ENGINE
    label = ENGINE_NAMES.get(str(name).lower(), str(name))
    return f"{label} {version}" if version else label


@dataclass
class Result:
    """One finished synthesis, whichever code made it.

    Attributes
    ----------
    path
        The run directory, or a bare MAT file.
    img_spec, crop
        How to load the target again.
    states
        Identifying columns of each metamer the result keeps (a plenoptic
        run's checkpoints, then its final metamer), each with its ``source``.
    extra
        Provenance columns added after the loss.
    args
        The run's arguments (empty for a bare file).
    init_path
        The initial image file, if known.
    """

    path: Path
    img_spec: str
    crop: int | None
    states: list[dict]
    extra: dict
    args: dict = field(default_factory=dict)
    init_path: Path | None = None

    def metamer(self, source: str) -> torch.Tensor:
        """The metamer kept as ``source`` (see :func:`metamer_at`)."""
        return metamer_at(self.path, source)


def metamer_at(path: str | os.PathLike, source: str) -> torch.Tensor:
    """One kept metamer of a result, ``(1, 1, H, W)`` float64 on the 0-1 scale.

    Parameters
    ----------
    path
        The run directory or bare MAT file.
    source
        ``metamer.mat``, ``metamer.pt`` or ``checkpoints.pt:step-<k>`` (the
        ``metamer`` column of ``loss.csv``).
    """
    path = Path(path)
    if source == "metamer.mat":
        mat = path if path.is_file() else path / source
        return torch.from_numpy(matlab.read_result(mat)["res"] / 255)[None, None]
    name, _, key = source.partition(":")
    data = torch.load(path / name, map_location="cpu", weights_only=True)
    tensor = data[key] if key else data["_metamer"]
    return tensor.detach().to(torch.float64)


def results_below(paths_: Iterable[Path]) -> list[Path]:
    """Run directories (and bare MAT files) named or held by ``paths_``."""
    found = []
    for path in map(Path, paths_):
        if path.is_file() or rundir.is_done(path):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(rundir.done_runs(path)))
        else:
            raise UsageError(f"no such result or directory: {path}")
    return found


def _read_trajectory(run_dir: Path) -> list[dict] | None:
    path = run_dir / "trajectory.csv"
    return synthesis.read_trajectory(path) if path.is_file() else None


def _matlab_state(mat: Path, img: str, init_label: str, n_iter: int,
                  engine: str, host: str = "", process: float | None = None) -> dict:
    data = matlab.read_result(mat)  # ValueError if unreadable
    return {"img": images.image_label(img), "seed": seed_of(init_label),
            "init_img": init_label, "optimizer": "textureSynth", "engine": engine,
            "device": "cpu", "host": host, "synth_iters": n_iter, "steps": n_iter,
            "evaluations": "", "res_highpass_weight": 1.0,
            "init_duration": data["initToc"],
            "synth_duration": data["synthToc"] - data["initToc"],
            "process_duration": "" if process is None else process,
            "source": "metamer.mat"}


def _load_run_dir(path: Path) -> Result:
    if not rundir.is_done(path):
        raise UsageError(f"{path} is not a finished run (no done.json)")
    record = provenance.load(path)
    args = record.get("args", {})
    record["process_duration"] = rundir.read_process_time(path)
    extra = {key: record.get(key) for key in run.EXTRA_COLUMNS}
    init = record.get("init_img_path") or args.get("init_img")
    init_path = Path(str(init)) if init else None
    if (path / "metamer.mat").is_file():
        engine = engine_label(record.get("engine"), record.get("engine_version"))
        states = [_matlab_state(path / "metamer.mat", args["img"],
                                Path(str(init)).stem, int(args["n_iter"]), engine,
                                record.get("host", ""), record["process_duration"])]
        extra["objective"] = "textureSynth"
    elif (path / "metamer.pt").is_file():
        states = run.plenoptic_states(args, record, _read_trajectory(path))
        extra["objective"] = record.get("objective") or run.objective_name(args)
    else:
        raise UsageError(f"{path} holds neither metamer.mat nor metamer.pt")
    return Result(path, args["img"], args.get("crop"), states, extra, args, init_path)


def load_result(path: str | os.PathLike, img: str | None = None,
                crop: int | None = None, init_img: str | None = None,
                synth_iters: int | None = None, engine: str | None = None) -> Result:
    """Load a MATLAB or plenoptic result with what identifies it.

    Parameters
    ----------
    path
        A finished run directory (``metamer.mat`` from ``ps_matlab`` or
        ``metamer.pt`` from this experiment's ``synthesize.py``), or a bare MAT
        file named ``<img>_seed-<N>_iter-<Niter>.mat``.
    img, crop, init_img, synth_iters, engine
        For bare MAT files: the target (name or file), its crop, what the
        file name does not say, and the engine that made it (e.g. ``Octave
        7.3.0``). Run directories record these and ignore them.

    Raises
    ------
    UsageError
        For a path that is neither, or a bare file whose target is unknown.
    """
    path = Path(path)
    if path.is_file() and path.name in ("metamer.mat", "metamer.pt") \
            and (path.parent / "provenance.json").is_file():
        path = path.parent
    if path.is_dir():
        return _load_run_dir(path)
    if path.suffix.lower() != ".mat" or not path.is_file():
        raise UsageError(f"no result at {path}: expected a finished run directory "
                         "or a MATLAB .mat file")
    parsed = FILE_NAME.match(path.stem)
    spec = img or (parsed["img"] if parsed else None)
    init_label = init_img or (parsed["init"] if parsed else None)
    n_iter = synth_iters or (int(parsed["iter"]) if parsed else None)
    if spec is None or init_label is None or n_iter is None:
        raise UsageError(f"{path.name} is not named <img>_seed-<N>_iter-<Niter>.mat; "
                         "give --img, --init_img and --synth_iters")
    state = _matlab_state(path, spec, Path(init_label).stem, n_iter,
                          engine or UNKNOWN_ENGINE)
    return Result(path, spec, crop, [state], {"objective": "textureSynth"})


def load_target(result: Result) -> torch.Tensor:
    """Load the result's target image (float64, CPU).

    Raises
    ------
    UsageError
        If the target cannot be loaded, with a hint for bare MAT files.
    """
    try:
        return images.load_image(result.img_spec, crop=result.crop)
    except UsageError as err:
        if result.path.is_file():
            raise UsageError(f"{err} (give the target of {result.path.name} "
                             "with --img FILE)") from None
        raise


def result_rows(result: Result, model=None, target=None) -> list[dict]:
    """Score every metamer of ``result`` into its table rows.

    ``model`` and ``target`` are reused when given (many results of one image).
    """
    if target is None:
        target = load_target(result)
    if model is None:
        model = run.scoring_model(result.img_spec, target)
    first = result.metamer(result.states[0]["source"])
    if first.shape != target.shape:
        raise UsageError(f"{result.path}: metamer is {tuple(first.shape)} but the "
                         f"target is {tuple(target.shape)}")
    return run.state_rows(result.states, result.metamer, model, target,
                          result.extra)


def analyze(found: list[Path], force: bool = False, csv_dir: Path | None = None,
            threads: int | None = 1, failed: list | None = None,
            **bare_kwargs) -> int:
    """Write the loss table of each result; reuse models and targets per image.

    Parameters
    ----------
    found
        Run directories and bare MAT files.
    force
        Recompute tables that exist.
    csv_dir
        Where tables of bare files go (default: beside each file).
    threads
        Torch threads while analysing (``None``: leave as is). One is best:
        each result is a few small forward passes.
    failed
        Receives the results that could not be read (each reported on
        standard error and skipped).
    **bare_kwargs
        ``img``, ``crop``, ``init_img``, ``synth_iters``, ``engine`` for bare
        MAT files.

    Returns
    -------
    n_written
        How many tables were written.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    failed = [] if failed is None else failed
    cache: dict[tuple, tuple] = {}
    n_written = 0
    try:
        for path in found:
            table = table_path(path)
            if path.is_file() and csv_dir is not None:
                table = Path(csv_dir) / table.name
            if not force and is_loss_table(table):
                continue
            try:
                result = load_result(path, **bare_kwargs)
            except shared_results.DATA_ERRORS as err:
                # one broken result must not stop the analysis of hundreds
                _skip(path, err, failed)
                continue
            key = (result.img_spec, result.crop)
            if key not in cache:
                target = load_target(result)
                cache[key] = (run.scoring_model(result.img_spec, target), target)
            try:
                rows = result_rows(result, *cache[key])
            except shared_results.READ_ERRORS as err:  # wrong size, NaN...
                _skip(path, err, failed)
                continue
            table.parent.mkdir(parents=True, exist_ok=True)
            shared_results.write_row(rows, table)
            n_written += 1
            final = result.states[-1]
            print(f"{table}: L2 {overall_loss(rows, final['source']):.4g} "
                  f"({final['optimizer']}, {final['synth_iters']} iterations, "
                  f"{len(result.states)} metamer(s))", flush=True)
    finally:
        torch.set_num_threads(previous)
    return n_written


def _skip(path: Path, err: BaseException, failed: list) -> None:
    print(f"skipped {path}: {errors.describe(err)}", file=sys.stderr,
          flush=True)
    failed.append(path)


def draw_run(run_dir: Path, stem: Path | None = None, force: bool = False) -> bool:
    """Draw a run's figure (:func:`figures.run_figure`) unless it exists.

    ``stem``: where (default: ``<run_dir>/metamers``). Returns whether it drew.
    """
    run_dir = Path(run_dir)
    stem = run_dir / RUN_FIGURE if stem is None else Path(stem)
    if not force and stem.with_suffix(".png").exists():
        return False
    result = load_result(run_dir)
    rows = shared_results.read_rows(table_path(run_dir))
    run_figure(result, load_target(result), rows, stem)
    return True


def analyze_run(run_dir: Path, figures: bool = True, force: bool = False) -> bool:
    """Write a run's ``loss.csv`` and its figure where missing (all with ``force``).

    Returns
    -------
    changed
        Whether anything was written.
    """
    changed = analyze([Path(run_dir)], force=force) > 0
    if figures:
        changed = draw_run(run_dir, force=force) or changed
    return changed


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """A finished run as the shared record.

    ``metamer``: for plenoptic runs, the ``po.Metamer`` reloaded (through
    :func:`run.build`, loaded with ``weights_only=True``); for MATLAB runs
    the metamer is in ``images["metamer"]``. Checkpoints are in ``images`` as
    ``step-<k>``, with ``target`` and ``init``.
    """
    run_dir = Path(run_dir)
    result = load_result(run_dir)
    record = provenance.load(run_dir)
    args = record.pop("args", {})
    rows = []
    if is_loss_table(table_path(run_dir)):  # not yet analysed: no row
        try:
            rows = shared_results.read_rows(table_path(run_dir))
        except ValueError:
            pass
    target = load_target(result)
    found = {"target": target}
    if result.init_path is not None and result.init_path.is_file():
        found["init"] = images.load_image(result.init_path)
    for state in result.states[:-1]:
        found[state["source"].partition(":")[2]] = result.metamer(state["source"])
    met = None
    if (run_dir / "metamer.mat").is_file():
        found["metamer"] = result.metamer("metamer.mat")
    elif metamer:
        model, loss, _ = run.build(args, target)
        met = synthesis.load_metamer(run_dir / "metamer.pt", target, model, loss,
                                     coarse_to_fine=args["optimizer"] == "Adam")
    return RunRecord(run_dir, EXPERIMENT, args, record, rows[0] if rows else {},
                     met, found, _read_trajectory(run_dir))


def overall_loss(rows: list[dict], source: str = "metamer.pt") -> float:
    """The overall L2 loss of one kept metamer among a table's rows."""
    for row in rows:
        if row["loss_func"] == "l2_norm" and row["loss_type"] == "overall" \
                and row.get("metamer", source) == source:
            return float(row["loss"])
    return math.nan
