"""ps_matlab_vs_plen: PS loss against time, MATLAB textureSynth vs plenoptic.

Grids, run names and initial images; loading any result (MATLAB MAT file or
plenoptic run) and turning it into the per-result loss table; the summary
figures and the best-method-per-budget table.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import images, paths
from ..cli import UsageError
from ..tasks import Task

EXPERIMENT = "ps_matlab_vs_plen"

#: The published sweep: images, seeds and budgets of each method.
FULL_IMAGES = ("fig4a", "fig16b")
FULL_SEEDS = tuple(range(10))
FULL_SHAPE = (256, 256)
ADAM_ITERS = (30, 75, 150, 300, 600)
LBFGS_ITERS = (10, 25, 50, 100, 200)
LBFGS_HISTORIES = (3, 100, 300)
LBFGS_WEIGHT = 100
#: LBFGS iterations (and function evaluations) inside one synthesis step.
LBFGS_MAX_ITER = 10
MATLAB_ITERS = (400, 800)

#: The quick grid: an offline built-in texture, cropped so runs take seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128
QUICK_SEEDS = (0, 1)
QUICK_ADAM_ITERS = (25, 50, 100, 200)
QUICK_LBFGS_ITERS = (2, 5, 10, 20)
QUICK_HISTORIES = (3, 100)
QUICK_MATLAB_ITERS = (5, 10, 20)

#: The statistic group that ``--weighted`` multiplies.
WEIGHTED_GROUP = "var_highpass_residual"
#: Name of the per-result table; ``summarize.py`` gathers these.
LOSS_TABLE = "loss.csv"
#: Columns of the per-result table, in order (extra provenance columns follow).
COLUMNS = [
    "img", "init_img", "optimizer", "device", "synth_iters",
    "res_highpass_weight", "init_time", "synth_only_time", "total_time",
    "loss_func", "loss_type", "loss",
]
LOSS_FUNCS = ("l2_norm", "mse", "sse")
TIMES = {"synth_only_time": "synthesis time (s)",
         "total_time": "whole-process time (s)"}


# --------------------------------------------------------------------------
# initial images


def init_image_dir(root: str | os.PathLike, shape: tuple[int, int]) -> Path:
    """Where the initial images of one size live: ``init_images/<H>x<W>``."""
    return Path(root) / EXPERIMENT / "init_images" / f"{shape[0]}x{shape[1]}"


def init_image_path(root: str | os.PathLike, seed: int,
                    shape: tuple[int, int]) -> Path:
    """Give the path of initial image ``seed-<seed>.png`` of size ``shape``."""
    return init_image_dir(root, shape) / f"seed-{seed}.png"


def parse_shape(text: str) -> tuple[int, int]:
    """``256`` or ``256x320`` as ``(height, width)``.

    Raises
    ------
    UsageError
        If the text is not one or two positive integers.
    """
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", str(text))
    if not match or not 0 < int(match[1]) <= images.MAX_SIDE \
            or (match[2] and not 0 < int(match[2]) <= images.MAX_SIDE):
        raise UsageError(f"bad image size {text!r}: expected N or HxW, e.g. 256, "
                         f"sides at most {images.MAX_SIDE}")
    height = int(match[1])
    return height, int(match[2] or height)


def make_init_image(seed: int, shape: tuple[int, int]):
    """Uniform noise as 8-bit pixels: ``po.set_seed(seed); torch.rand(1, 1, H, W)``.

    Returns
    -------
    pixels
        ``uint8`` array of ``shape``, the same pixels MATLAB and plenoptic
        runs start from.
    """
    import plenoptic as po
    import torch

    po.set_seed(seed)
    noise = torch.rand(1, 1, *shape)
    return po.convert_float_to_int(noise.numpy())[0, 0]


def write_init_images(out_dir: Path, seeds: Iterable[int],
                      shape: tuple[int, int]) -> list[Path]:
    """Write ``seed-N.png`` for each seed into ``out_dir`` (atomically each)."""
    import imageio.v3 as iio

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for seed in seeds:
        path = out_dir / f"seed-{seed}.png"
        tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}.png")
        iio.imwrite(tmp, make_init_image(seed, shape))
        os.replace(tmp, path)
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
            f"no initial image {path}: make it with generate_init_imgs.py "
            f"--size {shape[0]}x{shape[1]} --seeds {match[1]}"
            f" --output-root {root}")
    raise UsageError(f"unknown initial image {spec!r}: expected an image file or "
                     "seed-N (made by generate_init_imgs.py)")


def load_init_image(path: Path, target):
    """Load the initial image as a float64 tensor in [0, 1] like ``target``.

    Raises
    ------
    UsageError
        If its size differs from the target's.
    """
    from .. import images

    init = images.load_image(path)
    if init.shape[-2:] != target.shape[-2:]:
        raise UsageError(
            f"initial image {path} is {init.shape[-2]}x{init.shape[-1]} but the "
            f"target is {target.shape[-2]}x{target.shape[-1]}")
    return init.to(dtype=target.dtype, device=target.device)


def missing_init_images(tasks: Iterable[Task]) -> list[Path]:
    """List the initial image files that the tasks name but that do not exist."""
    missing = []
    for task in tasks:
        argv = list(task.argv)
        path = Path(argv[argv.index("--init_img") + 1])
        if not path.is_file() and path not in missing:
            missing.append(path)
    return missing


# --------------------------------------------------------------------------
# grids


def optimizer_label(optimizer: str, history_size: int | None = None) -> str:
    """``Adam``, ``LBFGS-<history>`` or ``matlab``."""
    return f"LBFGS-{history_size}" if optimizer == "LBFGS" else optimizer


def effective_weight(weighted: float) -> float:
    """Weight on the highpass-residual variance; ``--weighted 0`` means plain (1)."""
    return float(weighted) if weighted else 1.0


def plenoptic_run_name(img: str, seed_label: str, optimizer: str, weighted: float,
                       history_size: int, synth_iters: int) -> str:
    """Run name: ``<optimizer>_wt-<W>_<img>_<init>_iter-<N>``."""
    from ..images import image_label
    from ..tasks import safe_name

    return safe_name(f"{optimizer_label(optimizer, history_size)}_wt-{weighted:g}_"
                     f"{image_label(img)}_{seed_label}_iter-{synth_iters}")


def matlab_run_name(img: str, seed_label: str, synth_iters: int) -> str:
    """Run name: ``matlab_<img>_<init>_iter-<N>``."""
    from ..images import image_label
    from ..tasks import safe_name

    return safe_name(f"matlab_{image_label(img)}_{seed_label}_iter-{synth_iters}")


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root) if root is not None else paths.output_root().resolve()


def _crop_args(crop: int | None) -> tuple[str, ...]:
    return ("--crop", str(crop)) if crop else ()


def plenoptic_tasks(root, images, seeds, shape, crop, adam_iters, lbfgs_iters,
                    histories, weight) -> list[Task]:
    """Adam (coarse-to-fine, plain loss) and weighted LBFGS runs of a sweep."""
    tasks = []
    for img, seed in itertools.product(images, seeds):
        init = str(init_image_path(root, seed, shape))
        common = ("--img", img, *_crop_args(crop), "--init_img", init)
        for n in adam_iters:
            tasks.append(Task(
                plenoptic_run_name(img, f"seed-{seed}", "Adam", 0, 0, n),
                (*common, "--optimizer", "Adam", "--weighted", "0",
                 "--synth_max_iter", str(n))))
        for history, n in itertools.product(histories, lbfgs_iters):
            tasks.append(Task(
                plenoptic_run_name(img, f"seed-{seed}", "LBFGS", weight, history, n),
                (*common, "--optimizer", "LBFGS", "--weighted", f"{weight:g}",
                 "--history_size", str(history), "--max_iter", str(LBFGS_MAX_ITER),
                 "--synth_max_iter", str(n))))
    return tasks


def matlab_tasks(root, images, seeds, shape, crop, iters) -> list[Task]:
    """MATLAB textureSynth runs (through ``ps_matlab/synthesize.py``).

    The initial image's seed also seeds MATLAB's own ``rand``/``randn``
    (textureAnalysis adds noise to the target).
    """
    tasks = []
    for img, seed, n in itertools.product(images, seeds, iters):
        init = str(init_image_path(root, seed, shape))
        tasks.append(Task(matlab_run_name(img, f"seed-{seed}", n),
                          ("--img", img, *_crop_args(crop), "--init_img", init,
                           "--seed", str(seed), "--n_iter", str(n))))
    return tasks


def plenoptic_full(root=None, device: str = "cpu") -> list[Task]:
    """Give the published plenoptic sweep: 100 Adam and 300 LBFGS runs."""
    return plenoptic_tasks(_root(root), FULL_IMAGES, FULL_SEEDS, FULL_SHAPE, None,
                           ADAM_ITERS, LBFGS_ITERS, LBFGS_HISTORIES, LBFGS_WEIGHT)


def plenoptic_quick(root=None, device: str = "cpu") -> list[Task]:
    """Offline, minutes on 2 cores: 8 Adam and 16 LBFGS runs at 128x128."""
    return plenoptic_tasks(_root(root), [QUICK_IMAGE], QUICK_SEEDS,
                           (QUICK_CROP, QUICK_CROP), QUICK_CROP, QUICK_ADAM_ITERS,
                           QUICK_LBFGS_ITERS, QUICK_HISTORIES, LBFGS_WEIGHT)


def plenoptic_smoke(root=None, device: str = "cpu") -> list[Task]:
    """Two tiny runs (128x128, a few iterations): checks an installation."""
    return plenoptic_tasks(_root(root), [QUICK_IMAGE], [0], (QUICK_CROP, QUICK_CROP),
                           QUICK_CROP, [5], [2], [10], LBFGS_WEIGHT)


def _cpu_only(device: str) -> None:
    if device != "cpu":
        raise UsageError(f"MATLAB runs use the CPU only, not --device {device}")


def matlab_full(root=None, device: str = "cpu") -> list[Task]:
    """Give the published MATLAB sweep: 40 runs of 400 and 800 iterations."""
    _cpu_only(device)
    return matlab_tasks(_root(root), FULL_IMAGES, FULL_SEEDS, FULL_SHAPE, None,
                        MATLAB_ITERS)


def matlab_quick(root=None, device: str = "cpu") -> list[Task]:
    """Offline, about a minute on 2 cores with Octave: 6 runs at 128x128."""
    _cpu_only(device)
    return matlab_tasks(_root(root), [QUICK_IMAGE], QUICK_SEEDS,
                        (QUICK_CROP, QUICK_CROP), QUICK_CROP, QUICK_MATLAB_ITERS)


def matlab_smoke(root=None, device: str = "cpu") -> list[Task]:
    """One tiny MATLAB run (128x128, 2 iterations)."""
    _cpu_only(device)
    return matlab_tasks(_root(root), [QUICK_IMAGE], [0], (QUICK_CROP, QUICK_CROP),
                        QUICK_CROP, [2])


PLENOPTIC_GRIDS = {"quick": plenoptic_quick, "smoke": plenoptic_smoke,
                   "full": plenoptic_full}
MATLAB_GRIDS = {"quick": matlab_quick, "smoke": matlab_smoke, "full": matlab_full}


def checked(grid: Callable[..., list[Task]]) -> Callable[..., list[Task]]:
    """``grid``, refusing to write tasks whose initial images do not exist yet."""

    def with_init_images(root: Path, device: str) -> list[Task]:
        tasks = grid(root=root, device=device)
        missing = missing_init_images(tasks)
        if missing:
            shape = missing[0].parent.name
            seeds = sorted({int(p.stem.split("-")[1]) for p in missing
                            if p.parent.name == shape})
            raise UsageError(
                f"{len(missing)} initial image(s) missing, e.g. {missing[0]}; make "
                f"them first: generate_init_imgs.py --size {shape} --seeds "
                f"{' '.join(map(str, seeds))} --output-root {root}")
        return tasks

    return with_init_images


# --------------------------------------------------------------------------
# results


@dataclass
class Result:
    """One finished synthesis, whichever code made it.

    Attributes
    ----------
    path
        The run directory, or a bare result file.
    metamer
        The metamer, ``(1, 1, H, W)`` float64 on the 0-1 scale (not clipped).
    img_spec, crop
        How to load the target again.
    meta
        The identifying columns of the loss table.
    extra
        Provenance columns added after the loss.
    init_path
        The initial image file, if known.
    """

    path: Path
    metamer: object
    img_spec: str
    crop: int | None
    meta: dict
    extra: dict = field(default_factory=dict)
    init_path: Path | None = None


def table_path(path: Path) -> Path:
    """Say where a result's table goes: its run's ``loss.csv``, else ``<stem>.csv``."""
    path = Path(path)
    if path.is_dir():
        return path / LOSS_TABLE
    return path.with_suffix(".csv")


def _device_type(device: str | None) -> str:
    text = str(device or "cpu")
    return "cpu" if text == "cpu" else "cuda" if text.startswith("cuda") or \
        text.isdigit() else text


def _matlab_metamer(mat_path: Path):
    import torch

    from .. import matlab

    data = matlab.read_result(mat_path)  # ValueError if unreadable
    return (torch.from_numpy(data["res"] / 255)[None, None], data["initToc"],
            data["synthToc"])


FILE_NAME = re.compile(r"^(?P<img>.+)_(?P<init>seed-\d+)_iter-(?P<iter>\d+)$")


def load_result(path: str | os.PathLike, img: str | None = None,
                crop: int | None = None, init_img: str | None = None,
                synth_iters: int | None = None) -> Result:
    """Load a MATLAB or plenoptic result with what identifies it.

    Parameters
    ----------
    path
        A finished run directory (``metamer.mat`` from ``ps_matlab`` or
        ``metamer.pt`` from this experiment's ``synthesize.py``), or a bare MAT
        file named ``<img>_seed-<N>_iter-<Niter>.mat``.
    img, crop, init_img, synth_iters
        For bare MAT files: the target (name or file), its crop, and what the
        file name does not say. Run directories ignore them.

    Raises
    ------
    UsageError
        For a path that is neither, or a bare file whose target is unknown.
    """
    from .. import provenance, rundir
    from ..images import image_label

    path = Path(path)
    if path.is_file() and (path.parent / "provenance.json").is_file() \
            and path.name in ("metamer.mat", "metamer.pt"):
        path = path.parent
    if path.is_dir():
        if not rundir.is_done(path):
            raise UsageError(f"{path} is not a finished run (no done.json)")
        record = provenance.load(path)
        args = record.get("args", {})
        extra = {key: record.get(key) for key in (
            "device_name", "host", "plenoptic_version", "torch_version",
            "repo_commit") if key in record}
        total = rundir.read_process_time(path)
        init_path = record.get("init_img_path") or args.get("init_img")
        meta = {"img": image_label(args["img"]),
                "init_img": Path(str(init_path)).stem,
                "device": _device_type(record.get("device") or args.get("device")),
                "total_time": math.nan if total is None else total}
        if (path / "metamer.mat").is_file():
            metamer, init_toc, synth_toc = _matlab_metamer(path / "metamer.mat")
            meta.update(optimizer="matlab",
                        synth_iters=int(args.get("n_iter") or args.get("synth_iters")),
                        res_highpass_weight=1.0, init_time=init_toc,
                        synth_only_time=synth_toc - init_toc)
            extra["objective"] = "matlab"
        elif (path / "metamer.pt").is_file():
            import torch

            saved = torch.load(path / "metamer.pt", map_location="cpu",
                               weights_only=True)
            metamer = saved["_metamer"].detach().to(torch.float64)
            meta.update(optimizer=optimizer_label(args["optimizer"],
                                                  args["history_size"]),
                        synth_iters=int(record.get("synth_iters",
                                                   args["synth_max_iter"])),
                        res_highpass_weight=effective_weight(args["weighted"]),
                        init_time=float(record["init_time"]),
                        synth_only_time=float(record["synth_time"]))
            extra["objective"] = args.get("loss")
        else:
            raise UsageError(f"{path} holds neither metamer.mat nor metamer.pt")
        return Result(path, metamer, args["img"], args.get("crop"), meta, extra,
                      Path(str(init_path)) if init_path else None)
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
    metamer, init_toc, synth_toc = _matlab_metamer(path)
    meta = {"img": image_label(spec), "init_img": Path(init_label).stem,
            "device": "cpu", "total_time": math.nan, "optimizer": "matlab",
            "synth_iters": n_iter, "res_highpass_weight": 1.0,
            "init_time": init_toc, "synth_only_time": synth_toc - init_toc}
    return Result(path, metamer, spec, crop, meta, {"objective": "matlab"})


def load_target(result: Result):
    """Load the result's target image (float64, CPU).

    Raises
    ------
    UsageError
        If the target cannot be loaded, with a hint for bare MAT files.
    """
    from .. import images

    try:
        return images.load_image(result.img_spec, crop=result.crop)
    except UsageError as err:
        if result.path.is_file():
            raise UsageError(f"{err} (give the target of {result.path.name} "
                             "with --img FILE)") from None
        raise


def loss_rows(result: Result, model=None, target=None) -> list[dict]:
    """Every loss function x (overall + every PS statistic group), float64.

    Parameters
    ----------
    result
        The loaded result.
    model, target
        Reused when given (analysing many results of one image).
    """
    from .. import images, synthesis

    if target is None:
        target = load_target(result)
    if target.shape != result.metamer.shape:
        raise UsageError(f"{result.path}: metamer is {tuple(result.metamer.shape)} "
                         f"but the target is {tuple(target.shape)}")
    if model is None:
        model = synthesis.make_model(target, images.n_scales_for(result.img_spec))
    losses = synthesis.group_losses(model, target, result.metamer)
    rows = []
    for func in LOSS_FUNCS:
        for loss_type, value in losses[func].items():
            rows.append({**{k: result.meta[k] for k in COLUMNS[:9]},
                         "loss_func": func, "loss_type": loss_type, "loss": value,
                         **result.extra, "result": str(result.path)})
    return rows


def write_rows(rows: list[dict], path: Path) -> None:
    """Write the loss table of one result atomically (no pandas)."""
    import csv

    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in row.items()}
                         for row in rows)
    os.replace(tmp, path)


def results_below(paths_: Iterable[Path]) -> list[Path]:
    """Run directories (and bare MAT files) named or held by ``paths_``."""
    from .. import rundir

    found = []
    for path in paths_:
        path = Path(path)
        if path.is_file():
            found.append(path)
        elif rundir.is_done(path):
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(rundir.done_runs(path)))
        else:
            raise UsageError(f"no such result or directory: {path}")
    return found


# --------------------------------------------------------------------------
# summary


def normalize(frame):
    """Types, the method label and the mean time of each configuration.

    Adds ``method`` (optimizer, plus the highpass weight where it is not 1)
    and, for each time column,
    ``<time>_mean``: the mean over initial images of one (method, image,
    device, iterations) configuration, the x of every figure.
    """
    import pandas as pd

    frame = frame.copy()
    for column in ("synth_iters", "res_highpass_weight", "init_time",
                   "synth_only_time", "total_time", "loss"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame["res_highpass_weight"] = frame["res_highpass_weight"].fillna(1.0)
    frame["method"] = [
        method_label(o, w) for o, w in zip(frame["optimizer"],
                                           frame["res_highpass_weight"], strict=True)]
    keys = ["method", "img", "device", "synth_iters"]
    for column in TIMES:
        frame[f"{column}_mean"] = frame.groupby(keys)[column].transform("mean")
    return frame


def method_label(optimizer: str, weight: float) -> str:
    """``Adam``, ``matlab``, ``LBFGS-100 (highpass x100)``..."""
    if weight != 1 and not math.isnan(weight):
        return f"{optimizer} (highpass x{weight:g})"
    return optimizer


def _history(label: str) -> float:
    match = re.match(r"LBFGS-(\d+)", label)
    return float(match[1]) if match else math.inf


def palette(labels: Iterable[str]) -> dict:
    """Adam and matlab in distinct colours, LBFGS histories in a green ramp."""
    import seaborn as sns

    tab10 = sns.color_palette("tab10")
    labels = sorted(set(labels))
    lbfgs = sorted((m for m in labels if m.startswith("LBFGS")),
                   key=lambda m: (_history(m), m))
    fixed = {"Adam": tab10[0], "matlab": tab10[1]}
    spare = itertools.cycle(tab10[3:])  # tab10[2] is green, like LBFGS
    colours = {m: fixed[m] if m in fixed else next(spare)
               for m in labels if not m.startswith("LBFGS")}
    greens = sns.color_palette("Greens", len(lbfgs) + 2)[2:]
    colours.update(zip(lbfgs, greens, strict=True))
    return colours


def method_order(labels: Iterable[str]) -> list[str]:
    """Adam, matlab, then LBFGS by history size."""
    return sorted(set(labels), key=lambda m: (m.startswith("LBFGS"), _history(m), m))


def _weight_panels(frame):
    """One panel per LBFGS highpass weight, each with every non-LBFGS run."""
    import pandas as pd

    is_lbfgs = frame["optimizer"].str.startswith("LBFGS")
    weights = sorted(frame.loc[is_lbfgs, "res_highpass_weight"].unique())
    if len(weights) <= 1:
        out = frame.copy()
        out["panel"] = (f"LBFGS highpass weight {weights[0]:g}" if weights
                        else "all methods")
        return out
    parts = []
    for weight in weights:
        part = pd.concat([frame[~is_lbfgs],
                          frame[is_lbfgs & (frame["res_highpass_weight"] == weight)]])
        part = part.assign(panel=f"LBFGS highpass weight {weight:g}")
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _loss_plot(data, x: str, y_label: str, colours: dict, order: list[str]):
    import seaborn.objects as so

    devices = sorted(data["device"].unique())
    markers = sorted(data["img"].unique())
    low, high = data[f"{x}_mean"].min(), data[f"{x}_mean"].max()
    # 1-2-5 ticks: a log axis spanning less than a decade otherwise shows one
    ticks = [v for v in _ladder(low / 10, high * 10) if low / 1.5 <= v <= high * 1.5]
    return (
        so.Plot(data, x=f"{x}_mean", y="loss", color="method", marker="img",
                linestyle="device")
        .add(so.Band(alpha=0.15), so.Est("median", errorbar=("pi", 95)),
             group="img")
        .add(so.Line(linewidth=1.5, pointsize=6), so.Agg("median"))
        .scale(x=so.Continuous(trans="log").tick(at=ticks).label(like="{x:g}"),
               y="log",
               color=so.Nominal({m: colours[m] for m in order}, order=order),
               marker=so.Nominal(order=markers),
               linestyle=so.Nominal(order=devices))
        .label(x=f"mean {TIMES[x]}", y=y_label, color="method", marker="image",
               linestyle="device")
    )


def _layout(plot, width: float, height: float):
    return plot.layout(size=(width, height))


def summary_figures(frame, output_dir: Path,
                    loss_funcs: Iterable[str] = ("l2_norm",)) -> list[Path]:
    """Draw the loss-vs-time figures (SVG + PNG).

    For each loss function: ``overall_<func>_vs_synth_only_time``,
    ``overall_<func>_vs_total_time`` (when whole-process times exist) and
    ``groups_<func>_vs_synth_only_time`` (one facet per statistic group).
    """
    from .. import figures

    written = []
    colours = palette(frame["method"])
    order = method_order(frame["method"])
    names = {"l2_norm": "L2 norm", "mse": "mean squared error",
             "sse": "sum of squared errors"}
    for func in loss_funcs:
        sub = frame[frame["loss_func"] == func]
        overall = _weight_panels(sub[sub["loss_type"] == "overall"])
        n_panels = overall["panel"].nunique()
        for x in TIMES:
            data = overall[overall[f"{x}_mean"].notna()]
            if data.empty:
                continue
            plot = _loss_plot(data, x, f"PS loss ({names[func]}, overall)",
                              colours, order)
            if n_panels > 1:
                plot = plot.facet(col="panel").label(title=str)
            fig = _layout(plot, 5.5 * n_panels + 2, 4.5).plot()._figure
            fig.suptitle(f"{EXPERIMENT}: median over initial images, "
                         "95% interval band", y=1.02, fontsize=10)
            written += figures.save(fig, output_dir / f"overall_{func}_vs_{x}")
        groups = _weight_panels(sub[sub["loss_type"] != "overall"])
        for panel, data in groups.groupby("panel"):
            n_groups = data["loss_type"].nunique()
            wrap = 4
            rows = math.ceil(n_groups / wrap)
            plot = (_loss_plot(data, "synth_only_time",
                               f"PS loss ({names[func]})", colours, order)
                    .facet(col="loss_type", wrap=wrap)
                    .label(title=lambda t: t.replace("_", " "))
                    .share(x=True, y=False))
            fig = _layout(plot, 3.2 * wrap + 2, 2.8 * rows).plot()._figure
            fig.suptitle(f"{EXPERIMENT}: loss by PS statistic group ({panel})",
                         y=1.02, fontsize=10)
            stem = f"groups_{func}_vs_synth_only_time"
            if groups["panel"].nunique() > 1:
                stem += "_" + panel.split()[-1]
            written += figures.save(fig, output_dir / stem)
    return written


def _ladder(low: float, high: float) -> list[float]:
    """List 1-2-5 budgets from the first reaching ``low`` to one reaching ``high``."""
    budgets = []
    exponent = math.floor(math.log10(low))
    while True:
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0**exponent
            if value >= low * (1 - 1e-9):
                budgets.append(round(value, 10))
                if value >= high * (1 - 1e-9):
                    return budgets
        exponent += 1


def best_by_budget(frame, time: str = "synth_only_time",
                   loss_func: str = "l2_norm"):
    """For each image and time budget, the method with the lowest median loss.

    A configuration (method, iterations) fits a budget if its mean time over
    initial images is within it; each method is represented by its best
    fitting configuration (lowest median overall loss); with several devices,
    a method on each device counts separately. Budgets are the 1-2-5 values
    spanning the configurations' mean times.

    Returns
    -------
    table
        One row per (image, budget): the winner, its median loss, iterations
        and mean time, the runner-up, and each method's best median loss.
    """
    import pandas as pd

    sub = frame[(frame["loss_func"] == loss_func) & (frame["loss_type"] == "overall")
                & frame[time].notna()].copy()
    if sub["device"].nunique() > 1:
        sub["method"] = sub["method"] + " [" + sub["device"] + "]"
    rows = []
    for img, data in sub.groupby("img"):
        configs = (data.groupby(["method", "synth_iters"])
                   .agg(time=(time, "mean"), loss=("loss", "median"),
                        n=("loss", "size"))
                   .reset_index())
        if configs.empty:
            continue
        methods = method_order(configs["method"])
        for budget in _ladder(configs["time"].min(), configs["time"].max()):
            fits = configs[configs["time"] <= budget + 1e-12]
            best = (fits.sort_values("loss").groupby("method", sort=False).head(1)
                    .sort_values("loss").reset_index(drop=True))
            row = {"img": img, "time": time, "loss_func": loss_func,
                   "budget_s": budget, "best_method": best.loc[0, "method"],
                   "best_loss": best.loc[0, "loss"],
                   "best_synth_iters": int(best.loc[0, "synth_iters"]),
                   "best_mean_time": best.loc[0, "time"],
                   "runner_up": best.loc[1, "method"] if len(best) > 1 else "",
                   "runner_up_loss": best.loc[1, "loss"] if len(best) > 1
                   else math.nan}
            by_method = dict(zip(best["method"], best["loss"], strict=True))
            row.update({f"loss[{m}]": by_method.get(m, math.nan) for m in methods})
            rows.append(row)
    return pd.DataFrame(rows)


def format_best(table) -> str:
    """Format the best-method table as aligned text lines."""
    lines = []
    for (img, time), part in table.groupby(["img", "time"], sort=False):
        lines.append(f"{img}, budget on {TIMES[time]}, lowest median "
                     f"{part['loss_func'].iloc[0]} loss:")
        for row in part.itertuples():
            runner = (f"; next {row.runner_up} {row.runner_up_loss:.3g}"
                      if row.runner_up else "")
            lines.append(
                f"  <= {row.budget_s:>7g} s: {row.best_method} {row.best_loss:.3g} "
                f"({row.best_synth_iters} it, {row.best_mean_time:.1f} s){runner}")
    return "\n".join(lines)


def summarize(input_dir: Path | None, from_csv: Path | None, output_dir: Path,
              loss_funcs: Iterable[str] = ("l2_norm",)):
    """Gather (or read) every loss table; write all_loss.csv, figures, tables.

    Returns
    -------
    frame, best
        The gathered table and the best-method table (synthesis time and,
        where present, whole-process time).
    """
    import pandas as pd

    from .. import results

    if from_csv is not None:
        frame = pd.read_csv(from_csv)
    else:
        rows, problems = results.gather(input_dir, LOSS_TABLE, required=COLUMNS)
        results.report(problems)
        if not rows:
            raise UsageError(f"no analysed results under {input_dir} (run "
                             "analyze.py on the finished runs first)")
        frame = pd.DataFrame.from_records(rows)
    frame = normalize(frame)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    loss_funcs = list(loss_funcs)
    summary_figures(frame, output_dir, loss_funcs)
    tables = [best_by_budget(frame, time, loss_funcs[0]) for time in TIMES]
    best = pd.concat([t for t in tables if not t.empty], ignore_index=True)
    results.write_csv_atomic(best, output_dir / "best_method.csv")
    (output_dir / "best_method.txt").write_text(format_best(best) + "\n")
    return frame, best


# --------------------------------------------------------------------------
# metamer figures


def metamer_figures(results_: list[Result], output_dir: Path,
                    losses: dict | None = None) -> list[Path]:
    """Per (optimizer, weight, image, initial image, device): init | metamers | target.

    Parameters
    ----------
    results_
        Loaded results; grouped here.
    losses
        Overall L2 loss by result path, shown under each metamer if given.
    """
    from .. import figures, images, plots

    groups: dict[tuple, list[Result]] = {}
    for result in results_:
        m = result.meta
        key = (m["optimizer"], m["res_highpass_weight"], m["img"], m["init_img"],
               m["device"])
        groups.setdefault(key, []).append(result)
    written = []
    for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        optimizer, weight, img, init_label, device = key
        members.sort(key=lambda r: r.meta["synth_iters"])
        target = load_target(members[0])
        panels, titles = [], []
        init_path = members[0].init_path
        if init_path is not None and init_path.is_file():
            panels.append(images.load_image(init_path))
            titles.append(f"initial image\n{init_label}")
        for result in members:
            panels.append(result.metamer)
            loss = (losses or {}).get(str(result.path))
            loss_text = "" if loss is None else f", loss {loss:.3g}"
            titles.append(f"{result.meta['synth_iters']} iterations\n"
                          f"{result.meta['synth_only_time']:.1f} s{loss_text}")
        panels.append(target)
        titles.append(f"target\n{img}")
        label = method_label(optimizer, weight)
        fig = plots.images_row(panels, titles)
        fig.suptitle(f"{label}, {img}, {init_label}, {device}", y=1.06,
                     fontsize=10)
        from ..tasks import safe_name

        stem = safe_name(f"{optimizer}_wt-{weight:g}_{img}_{init_label}_{device}")
        written += figures.save(fig, output_dir / stem)
    return written


def analyze(found: list[Path], force: bool = False, csv_dir: Path | None = None,
            threads: int | None = 1, **bare_kwargs) -> int:
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
        each result is a few small forward passes, and several threads on
        a busy machine are many times slower.
    **bare_kwargs
        ``img``, ``crop``, ``init_img``, ``synth_iters`` for bare MAT files,
        and ``failed``: a list that receives the results that could not be
        read (each reported on standard error and skipped).

    Returns
    -------
    n_written
        How many tables were written.
    """
    import torch

    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _analyze(found, force, csv_dir, bare_kwargs)
    finally:
        torch.set_num_threads(previous)


def _analyze(found: list[Path], force: bool, csv_dir: Path | None,
             bare_kwargs: dict) -> int:
    from .. import images, results, synthesis

    cache: dict[tuple, tuple] = {}
    n_written = 0
    failed = bare_kwargs.pop("failed", [])
    if csv_dir is not None:
        Path(csv_dir).mkdir(parents=True, exist_ok=True)
    for path in found:
        table = table_path(path)
        if path.is_file() and csv_dir is not None:
            table = csv_dir / table.name
        if table.exists() and not force:
            continue
        try:
            result = load_result(path, **bare_kwargs)
        except results.DATA_ERRORS as err:
            # one broken result must not stop the analysis of hundreds
            print(f"skipped {path}: {results.describe(err)}", file=sys.stderr,
                  flush=True)
            failed.append(path)
            continue
        key = (result.img_spec, result.crop)
        if key not in cache:
            target = load_target(result)
            cache[key] = (synthesis.make_model(
                target, images.n_scales_for(result.img_spec)), target)
        model, target = cache[key]
        try:
            rows = loss_rows(result, model, target)
        except results.READ_ERRORS as err:  # a metamer of the wrong size, NaN...
            print(f"skipped {path}: {results.describe(err)}", file=sys.stderr,
                  flush=True)
            failed.append(path)
            continue
        write_rows(rows, table)
        n_written += 1
        overall = next(r["loss"] for r in rows if r["loss_func"] == "l2_norm"
                       and r["loss_type"] == "overall")
        print(f"{table}: l2_norm {overall:.4g} ({result.meta['optimizer']}, "
              f"{result.meta['synth_iters']} iterations)", flush=True)
    return n_written


def overall_losses(found: Iterable[Path], loss_func: str = "l2_norm") -> dict:
    """Read the overall loss of each analysed result (by path) from its table."""
    from .. import results

    losses = {}
    for path in found:
        try:
            rows = results.read_rows(table_path(path))
        except (FileNotFoundError, ValueError):
            continue
        for row in rows:
            if row["loss_func"] == loss_func and row["loss_type"] == "overall":
                losses[str(path)] = float(row["loss"])
    return losses
