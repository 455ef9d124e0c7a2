"""ps_noise: PS metamer synthesis started far outside the target's pixel range.

The initial image is either the target plus strong Gaussian noise
(``normal``: image + amplitude x N(0, 1)) or large uniform noise (``uniform``:
amplitude x U[0, 1]). The loss is the L2 norm of the PS statistics with seven
weights: the six pixel statistics (mean, variance, skew, kurtosis, min, max, in
the order of plenoptic's ``PortillaSimoncelli``) and the variance of the
highpass residuals. LBFGS, range penalty off, stopping criteria off.

This module is imported by ``--help``: torch, plenoptic, pandas and matplotlib
are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
from pathlib import Path

from .. import cli
from ..tasks import Task

EXPERIMENT = "ps_noise"

#: The six entries of PS ``pixel_statistics``, in plenoptic's order.
PIXEL_STATISTICS = ("mean", "variance", "skew", "kurtosis", "min", "max")
#: What the seven ``--weighted`` numbers weight, in order.
WEIGHT_NAMES = (*PIXEL_STATISTICS, "var_highpass_residual")
DEFAULT_WEIGHTS = "1,1,1,1,1,1,10"
NOISE_TYPES = ("uniform", "normal")

#: The published sweep (``full``): 2 images x 2 seeds x 3 weights x 2 amplitudes.
FULL_IMAGES = ("curie", "einstein")
FULL_SEEDS = (0, 1)
FULL_AMPLITUDES = (1.0, 2.0)
FULL_WEIGHTS = ("1,1,1,1,0,0,100", "10,10,10,1,0,0,100", "10,10,10,10,0,0,100")
FULL_HISTORY, FULL_ITERS = 100, 200

#: The quick grid: the same questions on 128x128 crops, few iterations.
QUICK_CROP = 128
QUICK_ITERS = 25
QUICK_WEIGHTS = FULL_WEIGHTS[:2]

#: Files of one run.
METAMER_FILE = "metamer.pt"
INIT_FILE = "init.pt"
TABLE = "loss.csv"
FIGURE = "ps_noise"


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def parse_weights(text: str) -> tuple[float, ...]:
    """Parse ``--weighted``: seven comma-separated, non-negative numbers.

    Parameters
    ----------
    text
        E.g. ``"1,1,1,1,0,0,100"``: mean, variance, skew, kurtosis, min and max
        of the pixels, then the variance of the highpass residuals.

    Returns
    -------
    weights
        The seven weights.

    Raises
    ------
    argparse.ArgumentTypeError
        Unless there are exactly seven finite, non-negative numbers, not all
        zero (argparse turns it into one line and exit status 2).
    """
    parts = [part.strip() for part in str(text).split(",")]
    expected = f"expected 7 comma-separated weights ({', '.join(WEIGHT_NAMES)})"
    if len(parts) != len(WEIGHT_NAMES):
        raise argparse.ArgumentTypeError(f"{expected}, got {len(parts)} in {text!r}")
    weights = []
    for name, part in zip(WEIGHT_NAMES, parts, strict=True):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"weight of {name} is not a number: {part!r} in {text!r}") from None
        if not math.isfinite(value) or not 0 <= value <= cli.MAX_MAGNITUDE:
            raise argparse.ArgumentTypeError(
                f"weight of {name} must be a finite number >= 0 and <= "
                f"{cli.MAX_MAGNITUDE:g}, got {part!r}")
        weights.append(value)
    if not any(weights):
        raise argparse.ArgumentTypeError(f"all seven weights are 0 in {text!r}")
    return tuple(weights)


def format_weights(weights) -> str:
    """Weights as ``--weighted`` text, e.g. ``1,1,1,1,0,0,100``."""
    return ",".join(f"{float(w):g}" for w in weights)


def noise_amplitude(text: str) -> float:
    """Parse ``--init_noise``: a number in (0, ``cli.MAX_MAGNITUDE``]."""
    try:
        return cli.positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a noise amplitude > 0 and <= {cli.MAX_MAGNITUDE:g}, "
            f"got {text!r}") from None


def run_name(args: dict) -> str:
    """Name of a run from its arguments (also the grids' run names)."""
    from ..images import image_label

    crop = f"_crop-{args['crop']}" if args.get("crop") else ""
    return (f"{image_label(args['img'])}{crop}_noise-{args['init_noise_type']}-"
            f"{args['init_noise']:g}_wt-{format_weights(args['weighted'])}"
            f"_hist-{args['history_size']}_seed-{args['init_seed']}"
            f"_iter-{args['synth_max_iter']}")


# --------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------


def _task(img: str, noise_type: str, amplitude: float, weights: str, seed: int,
          history: int, iters: int, crop: int | None = None) -> Task:
    args = {"img": img, "crop": crop, "init_noise_type": noise_type,
            "init_noise": amplitude, "weighted": parse_weights(weights),
            "history_size": history, "init_seed": seed, "synth_max_iter": iters}
    argv = ("--img", img, "--init_noise", f"{amplitude:g}", "--init_noise_type",
            noise_type, "--init_seed", str(seed), "--weighted", weights,
            "--history_size", str(history), "--synth_max_iter", str(iters))
    if crop:
        argv += ("--crop", str(crop))
    return Task(run_name(args), argv)


def full_grid() -> list[Task]:
    """List the published sweep: 24 runs at 256x256, normal noise, 200 iterations."""
    return [
        _task(img, "normal", amp, wt, seed, FULL_HISTORY, FULL_ITERS)
        for img, seed, wt, amp in itertools.product(
            FULL_IMAGES, FULL_SEEDS, FULL_WEIGHTS, FULL_AMPLITUDES)
    ]


def quick_grid() -> list[Task]:
    """List the same questions, offline, for about two minutes on 2 cores.

    ``einstein`` and ``curie`` cropped to 128x128, seed 0, ``normal`` noise of
    amplitude 1 and 2 with two of the published weight sets, plus a
    ``uniform`` amplitude-1 start (plenoptic's usual initial image, inside the
    target's range) as the baseline to recover to; 25 iterations each: 10 runs.
    """
    tasks = []
    for img in FULL_IMAGES:
        tasks.append(_task(img, "uniform", 1.0, QUICK_WEIGHTS[-1], 0, FULL_HISTORY,
                           QUICK_ITERS, QUICK_CROP))
        for wt, amp in itertools.product(QUICK_WEIGHTS, FULL_AMPLITUDES):
            tasks.append(_task(img, "normal", amp, wt, 0, FULL_HISTORY,
                               QUICK_ITERS, QUICK_CROP))
    return tasks


def smoke_grid() -> list[Task]:
    """Two tiny runs (128x128, 3 iterations): checks an installation in seconds."""
    return [_task("einstein", kind, amp, FULL_WEIGHTS[1], 0, 10, 3, QUICK_CROP)
            for kind, amp in (("normal", 2.0), ("uniform", 1.0))]


GRIDS = {"quick": quick_grid, "smoke": smoke_grid, "full": full_grid}


# --------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------


def load_target(args: dict, device=None):
    """Load the run's target image (float64), validated, on ``device``."""
    from .. import images

    image = images.load_image(args["img"], crop=args.get("crop"))
    return image if device is None else image.to(device)


def make_initial_image(image, noise_type: str, amplitude: float, seed: int):
    """Draw the initial image of a run, the same on every device.

    The noise is drawn on the CPU from a generator seeded with ``seed`` (for
    float64 this is what ``po.set_seed(seed)`` then ``torch.randn_like`` or
    ``torch.rand_like`` give on the CPU) and then moved to ``image``'s device.

    Parameters
    ----------
    image
        The target, ``(1, 1, H, W)``.
    noise_type
        ``normal``: ``image + amplitude * N(0, 1)``; ``uniform``:
        ``amplitude * U[0, 1]``.
    amplitude
        Noise amplitude.
    seed
        Seed of the noise.

    Returns
    -------
    init
        The initial image, with ``image``'s shape, dtype and device.
    """
    import torch

    from ..cli import UsageError

    generator = torch.Generator().manual_seed(int(seed))
    shape, dtype = image.shape, image.dtype
    if noise_type == "normal":
        noise = torch.randn(shape, generator=generator, dtype=dtype)
        init = image.detach().cpu() + amplitude * noise
    elif noise_type == "uniform":
        init = amplitude * torch.rand(shape, generator=generator, dtype=dtype)
    else:
        raise UsageError(f"unknown noise type {noise_type!r}: expected "
                         f"{' or '.join(NOISE_TYPES)}")
    return init.to(image.device).contiguous()


def allowed_range(init) -> tuple[float, float]:
    """[0, 1] widened to cover the initial image."""
    return min(0.0, float(init.min())), max(1.0, float(init.max()))


def reweighting(weights) -> dict:
    """``make_loss`` reweighting for the seven ``--weighted`` numbers."""
    import torch

    weights = [float(w) for w in weights]
    return {"pixel_statistics": torch.tensor(weights[:6], dtype=torch.float64),
            "var_highpass_residual": weights[6]}


def build(args: dict, image, init):
    """Model, weighted L2 loss and (not yet set up) metamer of a run."""
    from .. import images, synthesis

    model = synthesis.make_model(image, images.n_scales_for(args["img"]))
    loss = synthesis.make_loss("l2_norm", model, image, reweighting(args["weighted"]))
    met = synthesis.make_metamer(image, model, loss, penalty_lambda=0,
                                 allowed_range=allowed_range(init))
    return model, loss, met


def weighted_loss(model, loss, image, metamer) -> float:
    """Compute the synthesis objective between ``image`` and ``metamer``."""
    import torch

    with torch.no_grad():
        return float(loss(model(metamer), model(image)))


def loss_row(args: dict, model, image, init, metamer, loss_value: float,
             n_iter: int, record: dict) -> dict:
    """One row of ``loss.csv``.

    Columns: the run's choices, ``loss`` (the weighted objective, what
    synthesis minimised), ``l2_norm`` and ``l2_<group>`` (the unweighted L2 norm
    of ``PS(target) - PS(metamer)``, overall and by statistic group),
    ``l2_no_minmax`` (the same without the pixel min and max, which most
    weight sets leave out: the measure comparable across weights),
    ``pixel_<stat>_error`` (metamer minus target for each
    pixel statistic), the pixel ranges of the initial image and the metamer,
    the fraction of metamer pixels outside [0, 1], then the recorded fields
    (durations, versions, device, threads, memory).
    """
    import torch

    from .. import images, synthesis

    groups = synthesis.group_losses(model, image, metamer)["l2_norm"]
    with torch.no_grad():
        diff = model.convert_to_dict(model(metamer) - model(image))
    pix_error = diff["pixel_statistics"].flatten().tolist()
    diff["pixel_statistics"][..., 4:] = 0
    diff = model.convert_to_tensor(diff)
    diff = diff[~torch.isnan(diff)]
    row = {
        "image": images.image_label(args["img"]),
        "crop": args.get("crop"),
        "noise_type": args["init_noise_type"],
        "noise_amplitude": args["init_noise"],
        "weights": format_weights(args["weighted"]),
        "seed": args["init_seed"],
        "history_size": args["history_size"],
        "synth_max_iter": args["synth_max_iter"],
        "synth_iter": n_iter,
        "loss": loss_value,
        "l2_norm": groups["overall"],
        "l2_no_minmax": float(torch.linalg.vector_norm(diff.double())),
    }
    row.update({f"l2_{key}": value for key, value in groups.items()
                if key != "overall"})
    row.update({f"pixel_{name}_error": value
                for name, value in zip(PIXEL_STATISTICS, pix_error, strict=True)})
    row.update({
        "init_min": float(init.min()), "init_max": float(init.max()),
        "metamer_min": float(metamer.min()), "metamer_max": float(metamer.max()),
        "out_of_range": float(((metamer < 0) | (metamer > 1)).double().mean()),
    })
    row.update({k: v for k, v in record.items() if k not in row})
    return row


def save_results(run_dir: Path, met, init) -> None:
    """``metamer.pt`` (plenoptic's lean save), ``init.pt``, ``metamer.png``."""
    from .. import images, synthesis

    synthesis.save_metamer(met, run_dir / METAMER_FILE)
    synthesis.save_tensors(init.detach().cpu(), run_dir / INIT_FILE)
    images.save_grayscale_png(met.metamer.clip(0, 1), run_dir / "metamer.png")


# --------------------------------------------------------------------------
# Figures of one run
# --------------------------------------------------------------------------


def _show(ax, image, title: str, vmin: float = 0.0, vmax: float = 1.0) -> None:
    ax.imshow(image.detach().cpu().double().numpy()[0, 0], cmap="gray", vmin=vmin,
              vmax=vmax, interpolation="none")
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def run_figure(model, image, init, metamer, args: dict, loss_value: float,
               device: str, synth_duration: float):
    """Original | initial image | metamer | representation error.

    Target and metamer are drawn on [0, 1] (metamer pixels outside it saturate;
    the title gives its range), the initial image on its own range.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import plots, synthesis

    fig, axes = plt.subplots(1, 4, figsize=(22, 6.5),
                             gridspec_kw={"width_ratios": [1, 1, 1, 3.1]})
    _show(axes[0], image, "original")
    lo, hi = float(init.min()), float(init.max())
    _show(axes[1], init,
          f"initial: {args['init_noise_type']} noise, amplitude "
          f"{args['init_noise']:g}, seed {args['init_seed']}\n"
          f"pixels in [{lo:.2f}, {hi:.2f}]", lo, hi)
    l2 = synthesis.group_losses(model, image, metamer)["l2_norm"]["overall"]
    _show(axes[2], metamer,
          f"metamer: loss {loss_value:.4g} (unweighted L2 {l2:.4g})\n"
          f"pixels in [{float(metamer.min()):.2f}, {float(metamer.max()):.2f}]")
    plots.representation_error(model, image, metamer, ax=axes[3])
    axes[3].set_title("PS(target) - PS(metamer)\nweights (mean, var, skew, kurt, "
                      f"min, max, highpass var): {format_weights(args['weighted'])}",
                      fontsize=10, y=1.03)
    fig.suptitle(f"device: {device}, synthesis: {synth_duration:.1f} s "
                 f"({args['synth_max_iter']} LBFGS iterations, history "
                 f"{args['history_size']})", fontsize=13, y=1.1)
    return fig


def write_run_figure(out_dir: Path, model, image, init, metamer, args: dict,
                     loss_value: float, device: str,
                     synth_duration: float) -> list[Path]:
    """Save :func:`run_figure` as ``ps_noise.svg`` and ``ps_noise.png``."""
    from .. import figures

    fig = run_figure(model, image, init, metamer, args, loss_value, device,
                     synth_duration)
    return figures.save(fig, Path(out_dir) / FIGURE)


# --------------------------------------------------------------------------
# Saved runs
# --------------------------------------------------------------------------


def run_args(record: dict) -> dict:
    """Read a run's arguments from its provenance, weights as numbers."""
    args = dict(record["args"])
    args["weighted"] = tuple(float(w) for w in args["weighted"])
    return args


def load_run(run_dir: str | os.PathLike) -> dict:
    """Load what a finished run saved, on the CPU.

    Returns
    -------
    run
        ``args``, ``record`` (provenance), ``image`` (the target), ``init``
        (the initial image synthesis used, from ``init.pt``), ``metamer`` and
        ``losses`` (the loss before each iteration, then the final loss), all
        from ``metamer.pt`` but ``init``.
    """
    import torch

    from .. import provenance

    run_dir = Path(run_dir)
    record = provenance.load(run_dir)
    args = run_args(record)
    saved = torch.load(run_dir / METAMER_FILE, weights_only=True, map_location="cpu")
    # plenoptic keeps the loss before each step, then the final one apart
    losses = [float(v) for v in saved["_losses"]]
    if saved.get("_current_loss") is not None:
        losses.append(float(saved["_current_loss"]))
    return {
        "args": args,
        "record": record,
        "image": saved["_image"].detach(),
        "init": torch.load(run_dir / INIT_FILE, weights_only=True,
                           map_location="cpu"),
        "metamer": saved["_metamer"].detach(),
        "losses": losses,
    }


def regenerate_init(run: dict):
    """Rebuild the initial image from the run's seed, noise type and amplitude."""
    args = run["args"]
    return make_initial_image(run["image"], args["init_noise_type"],
                              args["init_noise"], args["init_seed"])


def plot_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
             check_init: bool = True) -> list[Path]:
    """Rebuild a finished run's figure, regenerating its initial image.

    Raises
    ------
    UsageError
        If ``check_init`` and the regenerated initial image differs from the
        one synthesis saved (another torch version may draw other numbers).
    """
    import torch

    from .. import synthesis
    from ..cli import UsageError

    run = load_run(run_dir)
    init = regenerate_init(run)
    if check_init and not torch.equal(init, run["init"]):
        raise UsageError(
            f"{run_dir}: the initial image regenerated from seed "
            f"{run['args']['init_seed']} differs from the saved init.pt (torch "
            f"{run['record'].get('torch_version')} made it); --no-check draws "
            "the saved one")
    if not check_init:
        init = run["init"]
    args, image, metamer = run["args"], run["image"], run["metamer"]
    model = synthesis.make_model(image)
    loss = synthesis.make_loss("l2_norm", model, image, reweighting(args["weighted"]))
    return write_run_figure(Path(out_dir or run_dir), model, image, init, metamer,
                            args, weighted_loss(model, loss, image, metamer),
                            run["record"].get("device", "?"),
                            float(run["record"].get("synth_duration", math.nan)))


def analyze_run(run_dir: str | os.PathLike) -> None:
    """Rebuild ``loss.csv`` of a finished run from what it saved."""
    from .. import results, rundir, synthesis

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    args, image, metamer = run["args"], run["image"], run["metamer"]
    model = synthesis.make_model(image)
    loss = synthesis.make_loss("l2_norm", model, image, reweighting(args["weighted"]))
    fields = {k: v for k, v in run["record"].items() if k not in ("args", "argv")}
    row = loss_row(args, model, image, run["init"], metamer,
                   weighted_loss(model, loss, image, metamer),
                   len(run["losses"]) - 1, fields)
    row["process_duration"] = rundir.read_process_time(run_dir)
    tmp = run_dir / f".{TABLE}.tmp-{os.getpid()}"
    results.write_row(row, tmp)
    os.replace(tmp, run_dir / TABLE)


# --------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------

#: Columns shown first in ``all_loss.csv``.
SUMMARY_COLUMNS = [
    "image", "crop", "noise_type", "noise_amplitude", "weights", "seed",
    "history_size", "synth_iter", "device", "device_name", "loss",
    "l2_no_minmax", "l2_norm",
    "out_of_range", "metamer_min", "metamer_max", "init_min", "init_max",
    "init_duration", "synth_duration", "process_duration",
]


def start_label(noise_type: str, amplitude: float) -> str:
    """Name the initial image's noise as figures do, e.g. ``normal 2``."""
    return f"{noise_type} {float(amplitude):g}"


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("image", "crop", "noise_type", "weights", "device")
#: Columns the summary needs as numbers; a row without one is skipped.
NUMERIC_COLUMNS = ("noise_amplitude", "seed", "synth_iter", "l2_no_minmax",
                   "out_of_range", "metamer_min", "metamer_max")


def gather_table(input_dir: Path):
    """Every finished run's ``loss.csv`` below ``input_dir`` as one DataFrame."""
    import pandas as pd

    from .. import results
    from ..cli import UsageError

    rows, problems = results.gather(input_dir, TABLE, required=REQUIRED_COLUMNS,
                                    numeric=NUMERIC_COLUMNS)
    results.report(problems)
    if not rows:
        raise UsageError(f"no finished runs with a loss under {input_dir}")
    frame = results.to_frame(rows)
    frame["weights"] = frame["weights"].astype(str)
    first = [c for c in SUMMARY_COLUMNS if c in frame.columns]
    frame = frame[first + [c for c in frame.columns if c not in first]]
    frame = frame.sort_values(["image", "noise_type", "noise_amplitude", "weights",
                               "seed", "device"]).reset_index(drop=True)
    return pd.DataFrame(frame)


def _weights_order(frame) -> list[str]:
    return sorted(frame["weights"].unique(),
                  key=lambda w: [float(v) for v in w.split(",")])


def _start_order(frame) -> list[str]:
    pairs = sorted({(t != "uniform", a, t) for t, a in
                    zip(frame["noise_type"], frame["noise_amplitude"], strict=True)})
    return [start_label(t, a) for _, a, t in pairs]


def loss_figure(frame, output_dir: Path) -> list[Path]:
    """Plot final loss by initial noise (x) and weights (colour), per image.

    Rows: the unweighted L2 norm of ``PS(target) - PS(metamer)`` without the
    pixel min and max (comparable across weights), the weighted objective
    synthesis minimised, and the fraction of metamer pixels outside [0, 1].
    Each dot is a run (seeds and devices side by side).
    """
    import seaborn.objects as so
    from matplotlib import ticker

    from .. import figures

    data = frame.copy()
    data["start"] = [start_label(t, a) for t, a in
                     zip(data["noise_type"], data["noise_amplitude"], strict=True)]
    measures = {"l2_no_minmax": "unweighted L2 of PS error (no min/max)",
                "loss": "weighted loss (objective)",
                "out_of_range": "fraction of pixels outside [0, 1]"}
    long = data.melt(id_vars=["image", "start", "weights", "seed"],
                     value_vars=list(measures), var_name="measure")
    long["measure"] = long["measure"].map(measures)
    # a log axis cannot show 0: a metamer fully inside [0, 1] sits at 1e-6
    floor = long["measure"] == measures["out_of_range"]
    long.loc[floor, "value"] = long.loc[floor, "value"].clip(lower=1e-6)
    n_images = data["image"].nunique()
    plot = (
        so.Plot(long, x="start", y="value", color="weights")
        .facet(col="image", row="measure", order={"row": list(measures.values())})
        .share(y="row")
        .add(so.Dot(pointsize=7, alpha=0.85), so.Dodge(), so.Jitter(0.1))
        .scale(y="log", x=so.Nominal(order=_start_order(data)),
               color=so.Nominal(order=_weights_order(data)))
        .label(x="initial image (noise type, amplitude)", y="", title=lambda t: t,
               color="weights (mean,var,skew,kurt,min,max,hp var)")
        .layout(size=(4.2 * n_images + 3.5, 8.5))
    )
    fig = plot.plot()._figure
    for ax in fig.axes:
        # label 1-2-5 ticks: most rows span less than a decade
        ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    iters = ", ".join(f"{int(v)}" for v in sorted(data["synth_iter"].unique()))
    fig.suptitle(f"ps_noise: final loss after {iters} LBFGS iterations", y=1.02)
    return figures.save(fig, output_dir / "loss_by_noise_and_weights")


def _crop_text(value) -> str:
    text = str(value)
    return "" if text.lower() in ("", "none", "nan") else str(int(float(text)))


def contact_sheet(frame, output_dir: Path) -> list[Path]:
    """Draw the initial images and metamers of every run, one page per image.

    Columns: the target (top row), the initial image (on its own range), then
    one per weight set: the metamer on [0, 1], titled with its unweighted L2
    (no min/max) and pixel range. Rows: initial noise and seed (and device,
    where several). One page per image (and crop, where an image has several).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import figures, provenance, results, synthesis

    written = []
    frame = frame.assign(
        start=[start_label(t, a) for t, a in zip(
            frame["noise_type"], frame["noise_amplitude"], strict=True)],
        crop_text=[_crop_text(c) for c in frame["crop"]])
    for (image, crop), sub in frame.groupby(["image", "crop_text"]):
        weights = _weights_order(sub)
        order = {label: i for i, label in enumerate(_start_order(sub))}
        rows = sorted({(s, sd, dev) for s, sd, dev in zip(
            sub["start"], sub["seed"], sub["device"], strict=True)},
            key=lambda r: (order[r[0]], r[1], r[2]))
        several_devices = sub["device"].nunique() > 1
        n_cols = len(weights) + 2
        fig, axes = plt.subplots(len(rows), n_cols, squeeze=False,
                                 figsize=(2.3 * n_cols, 2.5 * len(rows) + 0.6))
        for ax in axes.flat:
            ax.set_axis_off()
        with results.skipping(sub["run_dir"].iloc[0], "target not drawn"):
            args = run_args(provenance.load(sub["run_dir"].iloc[0]))
            _show(axes[0, 0], load_target(args), "target")
        headers = ["", "initial image"] + [f"weights\n{w}" for w in weights]
        for j, header in enumerate(headers):
            axes[0, j].text(0.5, 1.2, header, transform=axes[0, j].transAxes,
                            ha="center", va="bottom", fontsize=9)
        for i, (start, seed, device) in enumerate(rows):
            label = f"{start}, seed {seed}" + (f", {device}" if several_devices
                                               else "")
            runs = sub[(sub["start"] == start) & (sub["seed"] == seed)
                       & (sub["device"] == device)]
            for _, run in runs.iterrows():
                run_dir = Path(run["run_dir"])
                with results.skipping(run_dir / METAMER_FILE, "not drawn"):
                    met = synthesis.load_tensors(run_dir / METAMER_FILE)["_metamer"]
                    j = weights.index(run["weights"]) + 2
                    _show(axes[i, j], met, f"L2 {run['l2_no_minmax']:.3g}, "
                          f"[{run['metamer_min']:.2f}, {run['metamer_max']:.2f}]")
                    axes[i, j].title.set_fontsize(8)
                if not axes[i, 1].images:
                    with results.skipping(run_dir / INIT_FILE, "not drawn"):
                        init = synthesis.load_tensors(run_dir / INIT_FILE)
                        _show(axes[i, 1], init, label, float(init.min()),
                              float(init.max()))
                        axes[i, 1].title.set_fontsize(8)
        several_crops = frame.loc[frame["image"] == image, "crop_text"].nunique() > 1
        name = f"{image}_crop-{crop}" if several_crops and crop else image
        size = f", {crop}x{crop} crop" if crop else ""
        iters = ", ".join(str(int(v)) for v in sorted(sub["synth_iter"].unique()))
        fig.suptitle(f"ps_noise metamers of {image}{size}, {iters} iterations "
                     "(titles: unweighted L2 without min/max; metamer pixel "
                     "range)", y=1.0, fontsize=10)
        fig.tight_layout()
        written += figures.save(fig, output_dir / f"contact_sheet_{name}")
    return written


def summarize(input_dir: Path, output_dir: Path):
    """Write ``all_loss.csv``, the loss figure and the contact sheets.

    Returns
    -------
    frame
        The table of all runs.
    """
    from .. import results

    frame = gather_table(input_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    loss_figure(frame, output_dir)
    contact_sheet(frame, output_dir)
    return frame


def recovery_table(frame):
    """Mean unweighted L2 and out-of-range fraction by image, start and weights."""
    data = frame.assign(start=[start_label(t, a) for t, a in zip(
        frame["noise_type"], frame["noise_amplitude"], strict=True)])
    table = (data.groupby(["image", "start", "weights"])[["l2_no_minmax", "loss",
                                                          "out_of_range"]]
             .mean().reset_index())
    return table
