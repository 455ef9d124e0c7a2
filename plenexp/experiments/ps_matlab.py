"""ps_matlab: metamers of the original MATLAB textureSynth, seen through plenoptic.

Grids and run names for the task writer; finding MATLAB metamers (finished run
directories, or loose ``synthesize.m`` MAT files beside their target images);
plenoptic's PS loss of each, overall and by statistic group; the per-metamer
three-panel figure and the summary table and figures.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import images, matlab
from ..cli import UsageError
from ..tasks import Task, safe_name

EXPERIMENT = "ps_matlab"

#: The offline built-in texture of the quick grid, cropped so a run takes seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128
QUICK_SEEDS, QUICK_ITERS = (0, 1), 20
#: The original study: every PS paper figure, 100 iterations at full size.
FULL_IMAGES, FULL_ITERS, FULL_SEED = tuple(images.PAPER_IMAGES), 100, 0

#: Image files looked for as targets of loose MAT files.
TARGET_SUFFIXES = (".pgm", ".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")
#: The PS loss shown in titles and used for the overall column.
LOSS = "l2_norm"


def run_name(img: str, crop: int | None, init: str, seed: int | None,
             n_iter: int) -> str:
    """Run name: ``<image>[_crop-N]_<init>_seed-<S>_iter-<N>``.

    Parameters
    ----------
    img
        Target image spec.
    crop
        Central crop size, if any.
    init
        ``init-<file stem>`` or ``size-<H>x<W>``.
    seed
        Seed of the engine's generators, or ``None``.
    n_iter
        textureSynthesis iterations.
    """
    crop_part = f"_crop-{crop}" if crop else ""
    seed_part = "none" if seed is None else str(seed)
    return safe_name(f"{images.image_label(img)}{crop_part}_{init}_seed-{seed_part}"
                     f"_iter-{n_iter}")


def _tasks(imgs, seeds, n_iter: int, crop: int | None) -> list[Task]:
    crop_args = ("--crop", str(crop)) if crop else ()
    return [Task(run_name(img, crop, "size-target", seed, n_iter),
                 ("--img", img, *crop_args, "--seed", str(seed),
                  "--n_iter", str(n_iter)))
            for img in imgs for seed in seeds]


def _cpu_only(device: str) -> None:
    if device != "cpu":
        raise UsageError(f"textureSynth runs use the CPU only, not --device {device}")


def full_grid(root=None, device: str = "cpu") -> list[Task]:
    """The original study: 38 PS paper figures, 100 iterations, 256x256."""
    _cpu_only(device)
    return _tasks(FULL_IMAGES, [FULL_SEED], FULL_ITERS, None)


def quick_grid(root=None, device: str = "cpu") -> list[Task]:
    """Offline, well under a minute on 2 cores: reptile_skin 128x128, 2 seeds."""
    _cpu_only(device)
    return _tasks([QUICK_IMAGE], QUICK_SEEDS, QUICK_ITERS, QUICK_CROP)


def smoke_grid(root=None, device: str = "cpu") -> list[Task]:
    """One tiny run (128x128, 2 iterations): checks an installation."""
    _cpu_only(device)
    return _tasks([QUICK_IMAGE], [0], 2, QUICK_CROP)


GRIDS: dict[str, Callable[..., list[Task]]] = {
    "quick": quick_grid, "smoke": smoke_grid, "full": full_grid}


def code_arguments(args) -> tuple[str, ...]:
    """Check the code directories once and give the options that name them.

    ``args`` holds the options of :func:`plenexp.matlab.add_matlab_arguments`
    (a namespace or a dict).

    Task files then record exactly which code each run uses, and batch jobs do
    not depend on the environment reaching them. The engine is not looked for
    here: task files are often written where it is not installed.
    """
    if not isinstance(args, dict):
        args = vars(args)
    dirs = matlab.resolve_code_dirs(args["texturesynth_dir"], args["pyrtools_dir"])
    return ("--engine", args["engine"], "--texturesynth-dir", str(dirs.texturesynth),
            "--pyrtools-dir", str(dirs.pyrtools))


# ---------------------------------------------------------------- metamers ---

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


def _from_run_dir(run_dir: Path) -> MatlabMetamer:
    from .. import provenance, rundir

    record = provenance.load(run_dir)
    args = record.get("args", {})
    img = str(args.get("img", run_dir.name.split("_", 1)[0]))
    meta = {
        "image": images.image_label(img), "crop": args.get("crop"),
        "seed": args.get("seed"), "n_iter": args.get("n_iter"),
        "init": record.get("init"), "engine": record.get("engine"),
        "engine_version": record.get("engine_version"),
        "init_duration": record.get("init_duration"),
        "synth_duration": record.get("synth_duration"),
        "process_duration": rundir.read_process_time(run_dir),
        "texturesynth_commit": record.get("texturesynth_commit"),
        "pyrtools_commit": record.get("pyrtools_commit"),
        "host": record.get("host"), "start_time": record.get("start_time"),
    }
    return MatlabMetamer(run_dir.name, run_dir / "metamer.mat",
                         run_dir / "target.png", img, meta)


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
    from .. import rundir

    input_dir = Path(input_dir)
    found, problems = [], []
    run_dirs = set()
    for run_dir in rundir.done_runs(input_dir, problems):
        run_dirs.add(run_dir)
        if (run_dir / "metamer.mat").is_file():
            try:
                found.append(_from_run_dir(run_dir))
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
                                   _name_fields(path.stem)))
    return sorted(found, key=lambda m: m.name), problems


class _Models:
    """PS models by (shape, scales), built once each."""

    def __init__(self):
        self._cache: dict = {}

    def get(self, image, n_scales: int):
        from .. import synthesis

        key = (tuple(image.shape[-2:]), n_scales)
        if key not in self._cache:
            self._cache[key] = synthesis.make_model(image, n_scales)
        return self._cache[key]


def load_pair(metamer: MatlabMetamer):
    """Target and metamer as ``(1, 1, H, W)`` float64 tensors on the 0-1 scale.

    Raises
    ------
    ValueError
        For an unreadable MAT file or target, or images of different sizes.
    """
    import torch

    result = matlab.read_result(metamer.mat_path)
    try:
        target = images.load_image(metamer.target_path)
    except UsageError as err:
        raise ValueError(str(err)) from None
    res = torch.from_numpy(result["res"] / 255)[None, None]
    if res.shape != target.shape:
        raise ValueError(f"metamer is {tuple(res.shape[-2:])} but its target "
                         f"{metamer.target_path} is {tuple(target.shape[-2:])}")
    return target, res, result


def loss_table(metamers: list[MatlabMetamer]):
    """One row per metamer: run facts, overall and per-group PS loss.

    Returns
    -------
    frame, problems
        The table (``loss`` = plenoptic's ``l2_norm`` over all statistics, then
        one ``l2_norm`` column per statistic group) and one line per metamer
        left out.
    """
    import pandas as pd

    from .. import synthesis

    models, rows, problems = _Models(), [], []
    for metamer in metamers:
        try:
            target, res, result = load_pair(metamer)
            model = models.get(target, images.n_scales_for(metamer.label))
            losses = synthesis.group_losses(model, target, res)[LOSS]
        except ValueError as err:  # unreadable, or not finite: no loss at all
            problems.append(f"{metamer.mat_path}: {err}")
            continue
        synth = result["synthToc"] - result["initToc"]
        n_iter = metamer.meta.get("n_iter")
        row = {"name": metamer.name, **metamer.meta,
               "init_duration": result["initToc"], "synth_duration": synth,
               "seconds_per_iteration": synth / n_iter if n_iter else math.nan,
               "loss": losses["overall"]}
        row.update({k: v for k, v in losses.items() if k != "overall"})
        row["mat_path"] = str(metamer.mat_path)
        rows.append(row)
    return pd.DataFrame.from_records(rows), problems


GROUP_COLUMNS_SKIP = {
    "name", "image", "crop", "seed", "n_iter", "init", "engine", "engine_version",
    "init_duration", "synth_duration", "process_duration", "texturesynth_commit",
    "pyrtools_commit", "host", "start_time", "seconds_per_iteration", "loss",
    "mat_path"}


def group_columns(frame) -> list[str]:
    """The per-statistic-group loss columns of a :func:`loss_table` frame."""
    return [c for c in frame.columns if c not in GROUP_COLUMNS_SKIP]


# ----------------------------------------------------------------- figures ---

def metamer_figure(metamer: MatlabMetamer, models: _Models | None = None):
    """Original | MATLAB metamer (titled with its PS loss) | PS(target) - PS(metamer).

    Returns
    -------
    fig, loss
        The figure and plenoptic's ``l2_norm`` PS loss of the metamer.
    """
    import matplotlib.pyplot as plt

    from .. import plots, synthesis

    target, res, result = load_pair(metamer)
    model = (models or _Models()).get(target, images.n_scales_for(metamer.label))
    loss = synthesis.group_losses(model, target, res)[LOSS]["overall"]
    fig = plt.figure(figsize=(22, 7.5))
    grid = fig.add_gridspec(1, 3, width_ratios=[1, 1, 3.4], wspace=0.12)
    engine = metamer.meta.get("engine") or "textureSynth"
    n_iter = metamer.meta.get("n_iter")
    iters = "" if n_iter is None or (isinstance(n_iter, float) and math.isnan(n_iter)) \
        else f", {int(n_iter)} iterations"
    for cell, image, title in (
            (grid[0], target, f"original: {metamer.label}"),
            (grid[1], res.clip(0, 1),
             f"MATLAB metamer ({engine}{iters})\nPS loss ({LOSS}): {loss:.4g}")):
        ax = fig.add_subplot(cell)
        ax.imshow(image.numpy()[0, 0], cmap="gray", vmin=0, vmax=1,
                  interpolation="none")
        ax.set_title(title, fontsize=12)
        ax.set_axis_off()
    rep_ax = fig.add_subplot(grid[2])
    plots.representation_error(model, target, res, ax=rep_ax)
    box = grid[2].get_position(fig)
    fig.text((box.x0 + box.x1) / 2, box.y1 + 0.06,
             "plenoptic: PS(target) - PS(MATLAB metamer)", ha="center",
             fontsize=13)
    fig.suptitle(metamer.name, fontsize=13, y=1.02)
    return fig, loss


def plot_metamers(metamers: list[MatlabMetamer], output_dir: Path) -> list[Path]:
    """Write ``<output_dir>/<name>.svg`` and ``.png`` for every metamer.

    Returns
    -------
    written
        The PNG files written (unreadable metamers are reported and skipped).
    """
    from .. import figures, results

    models, written = _Models(), []
    for metamer in metamers:
        try:
            fig, loss = metamer_figure(metamer, models)
        except ValueError as err:  # unreadable, or not finite
            results.report([f"{metamer.mat_path}: {err}"])
            continue
        paths = figures.save(fig, output_dir / metamer.name)
        written.append(paths[-1])
        print(f"{metamer.name}: PS loss {loss:.4g} -> {paths[-1]}", flush=True)
    return written


def summary_figures(frame, output_dir: Path) -> list[Path]:
    """Overall loss per metamer and a heatmap of the loss by statistic group.

    ``loss_overall``: one dot per metamer, images along x, colour by number
    of iterations. ``loss_by_group``: log10 of each group's ``l2_norm`` loss,
    one row per metamer, to compare which statistics MATLAB matches worst on
    which image.
    """
    import matplotlib.pyplot as plt
    import numpy as np
    import seaborn as sns

    from .. import figures

    written = []
    frame = frame.sort_values(["image", "name"])
    data = frame.assign(iterations=frame["n_iter"].map(
        lambda v: "?" if v is None or (isinstance(v, float) and math.isnan(v))
        else str(int(v))))
    n_images = data["image"].nunique()
    fig, ax = plt.subplots(figsize=(max(5.0, 0.45 * n_images + 2.5), 4))
    sns.stripplot(data, x="image", y="loss", hue="iterations", ax=ax, size=7,
                  jitter=0.15, log_scale=True)
    ax.set_ylabel(f"PS loss ({LOSS}, plenoptic)")
    ax.set_title("MATLAB textureSynth metamers: plenoptic's PS loss")
    ax.tick_params(axis="x", rotation=90 if n_images > 8 else 0)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1))
    written += figures.save(fig, output_dir / "loss_overall")

    groups = group_columns(frame)
    heat = frame.set_index("name")[["loss", *groups]].astype(float)
    heat = np.log10(heat.where(heat > 0))
    heat = heat.rename(columns={"loss": "overall"})
    fig, ax = plt.subplots(figsize=(1.0 * len(heat.columns) + 4,
                                    0.32 * len(heat) + 2.5))
    sns.heatmap(heat, ax=ax, cmap="viridis", annot=len(heat) <= 12, fmt=".1f",
                cbar_kws={"label": f"log10 PS loss ({LOSS})"})
    ax.set_xlabel("statistic group")
    ax.set_ylabel("")
    ax.set_title("MATLAB metamers: plenoptic's PS loss by statistic group")
    written += figures.save(fig, output_dir / "loss_by_group")
    return written


def summarize(input_dir: Path, target_dir: Path | None, output_dir: Path):
    """Write ``all_loss.csv`` and the summary figures; return the table."""
    from .. import results

    metamers, problems = find_metamers(input_dir, target_dir)
    frame, more = loss_table(metamers)
    results.report(problems + more)
    if frame.empty:
        raise UsageError(f"no MATLAB metamers found under {input_dir}")
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    summary_figures(frame, output_dir)
    return frame
