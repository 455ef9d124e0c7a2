"""Target images by name: plenoptic's built-ins, the PS paper figures, or a file."""

from __future__ import annotations

import os
from pathlib import Path

from plenexp.errors import UsageError
from plenexp.runs import files

#: plenoptic's built-in images, loaded as grayscale and usable offline.
BUILTIN_IMAGES = ("einstein", "curie", "reptile_skin", "parrot")

#: The figures of Portilla & Simoncelli (2000), from plenoptic's ``fetch_data``.
PAPER_IMAGES = (
    "fig3a fig3b fig4a fig4b fig5a fig5b fig6a fig6b fig8a fig8b "
    "fig12a fig12b fig12c fig12d fig12e fig12f fig13a fig13b fig13c fig13d "
    "fig14a fig14b fig14c fig14d fig14e fig15a fig15b fig15c fig15d fig15e fig15f "
    "fig16a fig16b fig16c fig16d fig16e fig16f fig18a"
).split()
PAPER_ARCHIVE = "portilla_simoncelli_images.tar.gz"

#: Largest image side taken (a 16384x16384 float64 image is 2 GiB).
MAX_SIDE = 16384

#: Paper figures whose model needs fewer scales than the default 4.
N_SCALES = {"fig12b": 3}
DEFAULT_N_SCALES = 4

ACCEPTED = (
    f"a built-in image ({', '.join(BUILTIN_IMAGES)}), a PS paper figure "
    f"({PAPER_IMAGES[0]} ... {PAPER_IMAGES[-1]}), or a path to a grayscale image file"
)


def n_scales_for(spec: str) -> int:
    """Number of PS scales used for the image named ``spec``."""
    return N_SCALES.get(image_label(spec), DEFAULT_N_SCALES)


def image_label(spec: str) -> str:
    """Short name of an image spec: the name itself, or a file's stem."""
    if spec in BUILTIN_IMAGES or spec in PAPER_IMAGES:
        return spec
    return Path(spec).stem


def _paper_image_path(name: str) -> Path:
    import logging

    import plenoptic as po
    import pooch

    # pooch logs each retry; the error below says all that matters in one line
    pooch_log = pooch.get_logger()
    level = pooch_log.level
    pooch_log.setLevel(logging.ERROR)
    try:
        directory = po.data.fetch_data(PAPER_ARCHIVE)
    except Exception as err:  # pooch raises many network error types
        raise UsageError(
            f"could not fetch PS paper figure {name!r} ({type(err).__name__}); "
            "it needs network access once, to download plenoptic's "
            f"{PAPER_ARCHIVE}; offline, use {', '.join(BUILTIN_IMAGES)} or an "
            "image file"
        ) from None
    finally:
        pooch_log.setLevel(level)
    matches = sorted(Path(directory).glob(f"{name}.*"))
    if not matches:
        raise UsageError(f"paper figure {name!r} not found in {directory}")
    return matches[0]


def _read_file(path: Path, within: str | os.PathLike | None = None):
    import imageio.v3 as iio
    import numpy as np
    import torch

    if not path.is_file():
        raise UsageError(f"unknown image {str(path)!r}: expected {ACCEPTED}")
    try:
        # a regular file only (never a FIFO or device); a run's own image
        # (``within``) never through a link leading out of the run
        data = files.read_bytes(path, root=within or "/")
    except OSError as err:  # BadFile, permissions...
        raise UsageError(f"cannot read image file {str(path)!r}: "
                         f"{err.strerror or err}") from None
    try:
        array = np.asarray(iio.imread(data, extension=path.suffix.lower() or None))
    except Exception as err:
        # imageio lists every plugin it tried, over several lines: one is enough
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise UsageError(f"cannot read image file {str(path)!r}: {reason}") from None
    if not (np.issubdtype(array.dtype, np.integer)
            or np.issubdtype(array.dtype, np.floating)):
        raise UsageError(f"image {str(path)!r} holds {array.dtype} values, not "
                         "gray levels")
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        if array.shape[-1] == 4:
            array = array[..., :3]
        if not (np.ptp(array.astype(float), axis=-1) == 0).all():
            raise UsageError(
                f"image {str(path)!r} is in colour; the PS experiments take "
                "grayscale images only (convert it first)"
            )
        array = array[..., 0]
    if array.ndim != 2:
        raise UsageError(
            f"image {str(path)!r} has shape {array.shape}; expected a 2D "
            "grayscale image"
        )
    if np.issubdtype(array.dtype, np.integer):
        array = array / np.iinfo(array.dtype).max
    return torch.as_tensor(np.asarray(array, dtype=np.float64))[None, None]


def check_size(image, label: str, n_scales: int) -> None:
    """Raise :class:`UsageError` unless the PS model can take ``image``."""
    height, width = image.shape[-2:]
    step = 2**n_scales
    # the coarsest band must hold the autocorrelation window (found by trying
    # plenoptic 2.1: 128 is the smallest side that works with 4 scales)
    smallest = 8 * step
    if height % step or width % step or min(height, width) < smallest:
        raise UsageError(
            f"image {label!r} is {height}x{width}; the PS model with "
            f"{n_scales} scales needs height and width divisible by {step} "
            f"and at least {smallest}"
        )


def center_crop(image, height: int, width: int | None = None):
    """Crop the centre ``height`` x ``width`` pixels of a 4d image tensor."""
    width = height if width is None else width
    full_h, full_w = image.shape[-2:]
    if height > full_h or width > full_w:
        raise UsageError(
            f"cannot crop {height}x{width} from an image of {full_h}x{full_w}"
        )
    top, left = (full_h - height) // 2, (full_w - width) // 2
    return image[..., top : top + height, left : left + width]


def load_image(spec: str | os.PathLike, crop: int | None = None, dtype=None,
               within: str | os.PathLike | None = None):
    """Load a target image by name or path.

    Parameters
    ----------
    spec
        A built-in name (offline), a PS paper figure name (downloaded once by
        plenoptic), or a path to a grayscale image file.
    crop
        If given, keep only the central ``crop`` x ``crop`` pixels.
    dtype
        Torch dtype of the result (default ``torch.float64``).
    within
        A file of a run (its ``init.png``...): read only if it is a regular
        file inside this directory, never through a link leading out of it.
        Any file is read only if it is a regular one (no FIFO or device).

    Returns
    -------
    image
        Tensor of shape ``(1, 1, H, W)`` with values in [0, 1].

    Raises
    ------
    UsageError
        For an unknown name, an unreadable or colour file, a paper figure that
        cannot be fetched, or a size the PS model cannot take.
    """
    import torch

    spec = str(spec)
    if spec in BUILTIN_IMAGES:
        import plenoptic as po

        image = getattr(po.data, spec)(as_gray=True).to(torch.float64)
        if crop is None:
            # Built-ins of odd sizes (parrot) are cropped to the nearest size the
            # model takes rather than refused.
            step = 2 ** n_scales_for(spec)
            h, w = image.shape[-2:]
            image = center_crop(image, h - h % step, w - w % step)
    elif spec in PAPER_IMAGES:
        image = _read_file(_paper_image_path(spec))
    else:
        image = _read_file(Path(spec), within)
    if crop is not None:
        image = center_crop(image, crop)
    check_size(image, image_label(spec), n_scales_for(spec))
    check_values(image, image_label(spec))
    return image.to(dtype or torch.float64).contiguous()


def check_values(image, label: str) -> None:
    """Raise :class:`UsageError` unless ``image`` is finite and not constant.

    The PS statistics of a constant image divide by its zero variance: NaN,
    and a metamer of it has no meaning.
    """
    import torch

    if not bool(torch.isfinite(image).all()):
        raise UsageError(f"image {label!r} holds non-finite values (NaN or inf)")
    if float(image.max() - image.min()) == 0:
        raise UsageError(f"image {label!r} is constant ({float(image.min()):g} "
                         "everywhere); the PS statistics of a constant image are "
                         "undefined")


def save_grayscale_png(image, path: str | os.PathLike) -> None:
    """Write a ``(1, 1, H, W)`` tensor in [0, 1] as an 8-bit grayscale PNG."""
    import imageio.v3 as iio
    import numpy as np

    array = image.detach().cpu().double().numpy()[0, 0]
    array = np.clip(np.round(array * 255), 0, 255).astype(np.uint8)
    iio.imwrite(path, array)
