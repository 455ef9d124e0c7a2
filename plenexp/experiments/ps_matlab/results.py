"""MATLAB metamers on disk: finding them, loading a run, rebuilding its table.

Metamers are finished ``synthesize.py`` run directories (``metamer.mat`` and
the ``target.png`` MATLAB read) or loose ``synthesize.m`` MAT files named
``<image>_...``, whose target is ``<image>.<pgm|png|...>`` in a target
directory (``shared/reference/matlab`` is such a folder).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from plenexp import errors
from plenexp.errors import UsageError
from plenexp.experiments.ps_matlab import run
from plenexp.experiments.ps_matlab.figures import write_metamer_figure
from plenexp.experiments.ps_matlab.grids import EXPERIMENT
from plenexp.runs import provenance, results, rundir
from plenexp.runs.record import RunRecord
from plenexp.synth import images, matlab

#: Image files looked for as targets of loose MAT files.
TARGET_SUFFIXES = (".pgm", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")


@dataclass
class MatlabMetamer:
    """One ``synthesize.m`` result and what it was made from.

    Attributes
    ----------
    name
        The run directory's name, or the MAT file's stem.
    mat_path
        The MAT file.
    target_path
        The target image file.
    label
        Image label (chooses the number of PS scales).
    meta
        Run facts for the table: image, seed, n_iter, durations, engine...
    """

    name: str
    mat_path: Path
    target_path: Path
    label: str
    meta: dict = field(default_factory=dict)


def _name_fields(stem: str) -> dict:
    """``image``, ``seed`` and ``n_iter`` from ``<image>_seed-<S>_iter-<N>``."""
    fields: dict = {"image": stem.split("_", 1)[0]}
    for key, pattern in (("seed", r"_seed-(\d+)"), ("n_iter", r"_iter-(\d+)")):
        match = re.search(pattern, stem)
        fields[key] = int(match[1]) if match else math.nan
    return fields


def run_metamer(run_dir: Path, args: dict, record: dict,
               name: str | None = None) -> MatlabMetamer:
    """The metamer of a run directory, with the run's facts.

    Parameters
    ----------
    run_dir
        Where ``metamer.mat`` and ``target.png`` are (a run in progress too).
    args, record
        The run's arguments and the rest of its provenance.
    name
        The run's name (default: ``run_dir``'s).
    """
    img = str(args.get("img", run_dir.name.split("_", 1)[0]))
    meta = {
        "name": name or run_dir.name, "image": images.image_label(img),
        "crop": args.get("crop"), "seed": args.get("seed"),
        "n_iter": args.get("n_iter"), "init": record.get("init"),
        "engine": record.get("engine"),
        "engine_version": record.get("engine_version"),
        "process_duration": rundir.read_process_time(run_dir),
        "texturesynth_commit": record.get("texturesynth_commit"),
        "pyrtools_commit": record.get("pyrtools_commit"),
        "host": record.get("host"), "start_time": record.get("start_time"),
    }
    return MatlabMetamer(meta["name"], run_dir / run.MAT_FILE,
                         run_dir / run.TARGET_FILE, img, meta)


def from_run_dir(run_dir: Path) -> MatlabMetamer:
    """The metamer of a finished run directory, with the run's facts."""
    record = provenance.load(run_dir)
    return run_metamer(run_dir, record.get("args", {}), record)


def _target_for(stem: str, target_dir: Path) -> Path | None:
    image = stem.split("_", 1)[0]
    for suffix in TARGET_SUFFIXES:
        path = target_dir / f"{image}{suffix}"
        if path.is_file():
            return path
    return None


def find_metamers(input_dir: str | os.PathLike,
                  target_dir: str | os.PathLike | None = None
                  ) -> tuple[list[MatlabMetamer], list[str]]:
    """Every MATLAB metamer below ``input_dir``.

    Finished run directories (``done.json``) holding ``metamer.mat`` bring their
    own ``target.png``. Other ``*.mat`` files are ``synthesize.m`` results named
    ``<image>_...``; their target is ``<target_dir>/<image>.<pgm|png|...>``.

    Returns
    -------
    metamers
        Sorted by name.
    problems
        One line for each MAT file left out, naming it and why.
    """
    input_dir = Path(input_dir)
    found, problems = [], []
    run_dirs = set()
    for run_dir in rundir.done_runs(input_dir, problems):
        run_dirs.add(run_dir)
        if (run_dir / run.MAT_FILE).is_file():
            try:
                found.append(from_run_dir(run_dir))
            except (OSError, ValueError) as err:
                problems.append(f"{run_dir}: unreadable provenance.json ({err})")
    for path in sorted(input_dir.rglob("*.mat")):
        if any(part.startswith(".") for part in path.relative_to(input_dir).parts) \
                or any(parent in run_dirs for parent in path.parents):
            continue
        image = path.stem.split("_", 1)[0]
        target = _target_for(path.stem, Path(target_dir or path.parent))
        if target is None:
            where = target_dir or path.parent
            problems.append(f"{path}: no target image {image}.* in {where} "
                            "(give --target_dir)")
            continue
        found.append(MatlabMetamer(path.stem, path, target, image,
                                   {"name": path.stem, **_name_fields(path.stem)}))
    return sorted(found, key=lambda m: m.name), problems


def load_pair(metamer: MatlabMetamer) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Target and metamer as ``(1, 1, H, W)`` float64 tensors on the 0-1 scale.

    Raises
    ------
    ValueError
        For an unreadable MAT file or target, or images of different sizes.
    """
    result = matlab.read_result(metamer.mat_path)
    try:
        target = images.load_image(metamer.target_path)
    except UsageError as err:
        raise ValueError(str(err)) from None
    res = run.metamer_image(result)
    if res.shape != target.shape:
        raise ValueError(f"metamer is {tuple(res.shape[-2:])} but its target "
                         f"{metamer.target_path} is {tuple(target.shape[-2:])}")
    return target, res, result


class Scorer:
    """:func:`.run.build` once per image shape and number of scales."""

    def __init__(self) -> None:
        self._built: dict = {}

    def model(self, metamer: MatlabMetamer, target: torch.Tensor):
        """The PS model that scores ``metamer``."""
        key = (tuple(target.shape[-2:]), images.n_scales_for(metamer.label))
        if key not in self._built:
            self._built[key] = run.build({"img": metamer.label}, target)[0]
        return self._built[key]

    def row(self, metamer: MatlabMetamer) -> dict:
        """The metamer's ``loss.csv`` row (``ValueError`` if unreadable)."""
        target, res, result = load_pair(metamer)
        row = run.loss_row(metamer.meta, self.model(metamer, target), target, res,
                           result)
        row["mat_path"] = str(metamer.mat_path)
        return row


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """Load a finished run: arguments, provenance, row and the three images.

    ``images`` holds ``target``, ``metamer`` and, for ``--init_img`` runs,
    ``init``, as ``(1, 1, H, W)`` tensors on the 0-1 scale; ``metamer`` (the
    plenoptic object) is always ``None``: MATLAB made the metamer.
    """
    run_dir = Path(run_dir)
    prov = provenance.load(run_dir)
    found = from_run_dir(run_dir)
    target, res, _ = load_pair(found)
    pictures = {"target": target, "metamer": res}
    if (run_dir / "init.png").is_file():
        pictures["init"] = images.load_image(run_dir / "init.png")
    table = run_dir / run.TABLE
    row = results.to_frame(results.read_rows(table)).iloc[0].to_dict() \
        if table.is_file() else {}
    return RunRecord(run_dir=run_dir, experiment=EXPERIMENT,
                     args=dict(prov.get("args", {})),
                     provenance={k: v for k, v in prov.items() if k != "args"},
                     row=row, metamer=None, images=pictures)


def write_table(row: dict, run_dir: Path) -> None:
    """Write a run's ``loss.csv`` (atomically)."""
    results.write_row({k: v for k, v in row.items() if k != "mat_path"},
                      run_dir / run.TABLE)


def score_run(found: MatlabMetamer, run_dir: Path, table: bool = True,
              figure: bool = True) -> dict:
    """Score a run's metamer: write its ``loss.csv`` and/or its figure.

    Returns
    -------
    row
        The ``loss.csv`` row.
    """
    scorer = Scorer()
    row = scorer.row(found)
    if table:
        write_table(row, run_dir)
    if figure:
        target, res, _ = load_pair(found)
        write_metamer_figure(found, scorer.model(found, target), target, res, row,
                             run_dir / run.FIGURE)
    return row


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Write a finished run's ``loss.csv`` (and figure) where missing.

    An existing table gains the whole-process seconds (``process_duration``)
    that ``time_synthesize.sh`` recorded after the run.

    Returns
    -------
    rebuilt
        Whether anything was written.
    """
    run_dir = Path(run_dir)
    need_table = force or not (run_dir / run.TABLE).exists()
    need_figure = figures and (force or not (run_dir / f"{run.FIGURE}.png").exists())
    if need_table or need_figure:
        score_run(from_run_dir(run_dir), run_dir, need_table, need_figure)
    timed = results.add_process_duration(run_dir, run.TABLE)
    return need_table or need_figure or timed


def plot_metamers(metamers: list[MatlabMetamer], output_dir: Path) -> list[Path]:
    """Write ``<output_dir>/<name>.svg`` and ``.png`` for every metamer.

    Returns
    -------
    written
        The PNG files written (unreadable metamers are reported and skipped).
    """
    scorer, written = Scorer(), []
    for metamer in metamers:
        try:
            row = scorer.row(metamer)
            target, res, _ = load_pair(metamer)
        except ValueError as err:  # unreadable, or not finite
            errors.report([f"{metamer.mat_path}: {err}"])
            continue
        paths = write_metamer_figure(
            metamer, scorer.model(metamer, target), target, res, row,
            output_dir / metamer.name)
        written.append(paths[-1])
        print(f"{metamer.name}: PS loss {row['loss']:.4g} -> {paths[-1]}",
              flush=True)
    return written
