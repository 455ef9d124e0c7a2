"""MATLAB metamers on disk: finding them and reading a target and metamer pair.

Metamers are finished ``synthesize.py`` run directories (``metamer.mat`` and
the ``target.png`` MATLAB read) or loose ``synthesize.m`` MAT files named
``<image>_...``, whose target is ``<image>.<pgm|png|...>`` in a target
directory (``shared/reference/matlab`` is such a folder). Nothing heavy is
imported until a pair is read.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from plenexp.errors import UsageError
from plenexp.runs import provenance, rundir
from plenexp.synth import images, matlab

if TYPE_CHECKING:
    import torch

#: Files of one run: the MAT file ``synthesize.m`` wrote, the target it read.
MAT_FILE = "metamer.mat"
TARGET_FILE = "target.png"
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
        "process_duration": record.get("process_duration"),
        "texturesynth_commit": record.get("texturesynth_commit"),
        "pyrtools_commit": record.get("pyrtools_commit"),
        "host": record.get("host"), "start_time": record.get("start_time"),
    }
    return MatlabMetamer(meta["name"], run_dir / MAT_FILE, run_dir / TARGET_FILE,
                         img, meta)


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
        if why := rundir.unpublished(run_dir):
            problems.append(f"{run_dir / rundir.DONE_MARKER}: {why}; run left out")
            continue
        if (run_dir / MAT_FILE).is_file():
            try:
                found.append(from_run_dir(run_dir))
            except (OSError, ValueError) as err:
                problems.append(f"{run_dir}: unreadable provenance.json ({err})")
    for path in sorted(input_dir.rglob("*.mat")):
        if any(part.startswith(".") for part in path.relative_to(input_dir).parts) \
                or any(parent in run_dirs for parent in path.parents):
            continue
        if path.name == MAT_FILE or os.path.lexists(path.parent / "provenance.json"):
            # a run's own file, in a run never published: no result (a loose
            # MAT file is named <image>_..., not metamer.mat)
            problems.append(f"{path}: in a run directory without "
                            f"{rundir.DONE_MARKER} (unfinished or not published); "
                            "left out")
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


def metamer_image(result: dict) -> torch.Tensor:
    """A ``read_result`` metamer as a ``(1, 1, H, W)`` tensor on the 0-1 scale."""
    import numpy as np
    import torch

    return torch.from_numpy(np.asarray(result["res"]) / 255)[None, None]


def load_pair(metamer: MatlabMetamer) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """Target and metamer as ``(1, 1, H, W)`` float64 tensors on the 0-1 scale.

    Raises
    ------
    ValueError
        For an unreadable MAT file or target, or images of different sizes.
    """
    result = matlab.read_result(metamer.mat_path)
    try:
        # a run's own target.png never through a link leading out of the run
        own = metamer.mat_path.name == MAT_FILE and metamer.target_path == \
            metamer.mat_path.with_name(TARGET_FILE)
        target = images.load_image(metamer.target_path,
                                   within=metamer.mat_path.parent if own else None)
    except UsageError as err:
        raise ValueError(str(err)) from None
    res = metamer_image(result)
    if res.shape != target.shape:
        raise ValueError(f"metamer is {tuple(res.shape[-2:])} but its target "
                         f"{metamer.target_path} is {tuple(target.shape[-2:])}")
    return target, res, result
