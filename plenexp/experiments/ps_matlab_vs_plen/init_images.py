"""The uniform-noise initial images that MATLAB and plenoptic runs share."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

import imageio.v3 as iio
import plenoptic as po
import torch

from plenexp.errors import UsageError
from plenexp.experiments.ps_matlab_vs_plen.grids import EXPERIMENT, init_image_path
from plenexp.runs.rundir import atomic_path
from plenexp.synth import images


def make_init_image(seed: int, shape: tuple[int, int]):
    """Uniform noise as 8-bit pixels: ``po.set_seed(seed); torch.rand(1, 1, H, W)``.

    Returns
    -------
    pixels
        ``uint8`` array of ``shape``, the same pixels MATLAB and plenoptic
        runs start from.
    """
    po.set_seed(seed)
    noise = torch.rand(1, 1, *shape)
    return po.convert_float_to_int(noise.numpy())[0, 0]


def write_init_images(out_dir: Path, seeds: Iterable[int],
                      shape: tuple[int, int]) -> list[Path]:
    """Write ``seed-N.png`` for each seed into ``out_dir`` (atomically each)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in seeds:
        path = out_dir / f"seed-{seed}.png"
        with atomic_path(path) as tmp:
            iio.imwrite(tmp, make_init_image(seed, shape), extension=".png")
        written.append(path)
    return written


def resolve_init_image(spec: str, root: str | os.PathLike,
                       shape: tuple[int, int]) -> Path:
    """Find an initial image by file path, or by name ``seed-N`` under the root.

    Raises
    ------
    UsageError
        If the file does not exist, with the command that makes it.
    """
    path = Path(spec)
    if path.is_file():
        return path
    match = re.fullmatch(r"seed-(\d+)", spec)
    if match:
        path = init_image_path(root, int(match[1]), shape)
        if path.is_file():
            return path
        raise UsageError(
            f"no initial image {path}: make it with python {EXPERIMENT}/"
            f"generate_init_imgs.py --size {shape[0]}x{shape[1]} --seeds "
            f"{match[1]} --output-root {root}")
    raise UsageError(f"unknown initial image {spec!r}: expected an image file or "
                     "seed-N (made by generate_init_imgs.py)")


def load_init_image(path: Path, target: torch.Tensor) -> torch.Tensor:
    """Load the initial image as a tensor in [0, 1] like ``target``.

    Raises
    ------
    UsageError
        If its size differs from the target's.
    """
    init = images.load_image(path)
    if init.shape[-2:] != target.shape[-2:]:
        raise UsageError(
            f"initial image {path} is {init.shape[-2]}x{init.shape[-1]} but the "
            f"target is {target.shape[-2]}x{target.shape[-1]}")
    return init.to(dtype=target.dtype, device=target.device)
