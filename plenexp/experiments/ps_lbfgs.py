"""ps_lbfgs: how to configure ``torch.optim.LBFGS`` for PS metamer synthesis."""

from __future__ import annotations

import itertools
import math

from ..tasks import Task

EXPERIMENT = "ps_lbfgs"

#: Columns of ``loss.csv`` kept from the earlier version of the experiment.
CORE_COLUMNS = [
    "filename", "coarse_to_fine", "seed", "search_func", "init_reduced",
    "LBFGS_max_iter", "LBFGS_max_eval", "LBFGS_history_size", "learning_rate",
    "synth_iter", "loss", "synth_duration",
]

#: The builtin texture of the quick grid, cropped so a run takes seconds.
QUICK_IMAGE, QUICK_CROP = "reptile_skin", 128


def _max_eval(max_iter: int, fraction: float | None) -> str:
    return "None" if fraction is None else str(max(1, int(max_iter * fraction)))


def _task(img: str, seed: int, max_iter: int, eval_fraction: float | None,
          history_size: int, lr: float, synth_max_iter: int,
          line_search: str | None = "strong_wolfe", loss: str = "l2_norm",
          extra: tuple[str, ...] = (), stop: bool = True) -> Task:
    max_eval = _max_eval(max_iter, eval_fraction)
    name = (f"{img}_seed-{seed}_ls-{line_search}_iter-{max_iter}_eval-{max_eval}"
            f"_hist-{history_size}_lr-{lr:g}_loss-{loss}")
    argv = ("--img", img, "--seed", str(seed), "--max_iter", str(max_iter),
            "--max_eval", max_eval, "--history_size", str(history_size),
            "--line_search_fn", str(line_search), "--lr", f"{lr:g}",
            "--synth_max_iter", str(synth_max_iter), "--loss", loss,
            # figures come from analyze.py afterwards, so process times stay clean
            "--no_plots", *extra)
    if not stop:
        argv += ("--stop_criterion", "None")
    return Task(name, argv)


def _sweep(images, seeds, max_iters, eval_fractions, histories, lrs,
           synth_max_iter, **kwargs) -> list[Task]:
    return [
        _task(img, seed, mi, ef, hs, lr, synth_max_iter, **kwargs)
        for img, seed, mi, ef, hs, lr in itertools.product(
            images, seeds, max_iters, eval_fractions, histories, lrs)
    ]


def full_grid() -> list[Task]:
    """The last published sweep: 48 runs on the paper's fig4a and fig16b."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [200], [1.0], 2000)


def mse_grid() -> list[Task]:
    """Earlier sweep with the MSE loss and large learning rates (192 runs)."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [100], [0.1, 1.0, 10.0, 100.0], 2000, loss="mse")


def small_lr_grid() -> list[Task]:
    """Earlier sweep of learning rates at and below 2 (432 runs)."""
    return _sweep(["fig4a", "fig16b"], [0, 1], [5, 10, 20, 40], [0.5, 1, None],
                  [100], [0.01, 0.03, 0.1, 0.3, 0.5, 0.9, 1.0, 1.1, 2.0], 2000)


def quick_grid() -> list[Task]:
    """Offline, minutes on 2 cores: max_iter x max_eval on a 128x128 texture.

    Every run gets the same number of outer iterations with early stopping
    off, so runs differ in how many model passes (and seconds) each step costs
    and how far each step gets.
    """
    return _sweep([QUICK_IMAGE], [0], [5, 10, 20], [0.5, 1, None], [100], [1.0],
                  8, extra=("--crop", str(QUICK_CROP)), stop=False)


def smoke_grid() -> list[Task]:
    """Two tiny runs (128x128, 3 iterations): checks an installation in seconds."""
    return _sweep([QUICK_IMAGE], [0], [5], [1, None], [10], [1.0], 3,
                  extra=("--crop", "128"), stop=False)


GRIDS = {
    "quick": quick_grid,
    "smoke": smoke_grid,
    "full": full_grid,
    "mse": mse_grid,
    "small_lr": small_lr_grid,
}


#: Columns of ``loss.csv`` the summary reads; a table without them is skipped.
REQUIRED_COLUMNS = ("search_func", "LBFGS_max_eval")
#: Columns the summary needs as numbers; a row without one is skipped.
NUMERIC_COLUMNS = ("LBFGS_max_iter", "LBFGS_history_size", "learning_rate",
                   "synth_iter", "seed", "synth_duration")


def parse_duration(value) -> float:
    """Seconds from a number or ``[H:]MM:SS[.f]`` text; NaN when empty."""
    if value is None:
        return math.nan
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none"):
        return math.nan
    if ":" in text:
        seconds = 0.0
        for part in text.split(":"):
            seconds = seconds * 60 + float(part)
        return seconds
    return float(text)


def normalize_table(frame):
    """Bring an ``all_loss.csv`` (this version's or the earlier one's) to one form.

    Empty ``max_eval``/``search_func`` mean None; a leading ``index`` column is
    dropped; ``synth_duration`` text such as ``12:03`` becomes seconds;
    ``LBFGS_max_eval_frac`` is ``max_eval / max_iter`` (None -> 1.25, what
    LBFGS uses when max_eval is None).
    """
    import pandas as pd

    frame = frame.copy()
    if "index" in frame.columns:
        frame = frame.drop(columns="index")
    frame = frame.loc[:, ~frame.columns.str.match(r"^Unnamed")]
    for column in ("search_func", "LBFGS_max_eval"):
        frame[column] = (frame[column].astype(str).str.strip()
                         .replace({"": "None", "nan": "None", "NaN": "None"}))
    frame["synth_duration"] = frame["synth_duration"].map(parse_duration)
    for column in ("LBFGS_max_iter", "LBFGS_history_size", "learning_rate",
                   "loss", "synth_iter", "seed"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    max_eval = pd.to_numeric(frame["LBFGS_max_eval"], errors="coerce")
    frame["LBFGS_max_eval_frac"] = [
        nominal_fraction(e, i) for e, i in zip(max_eval, frame["LBFGS_max_iter"],
                                               strict=True)]
    frame["LBFGS_max_eval"] = max_eval.map(
        lambda v: "None" if pd.isna(v) else str(int(v)))
    return frame


def nominal_fraction(max_eval: float, max_iter: float) -> float:
    """``max_eval / max_iter`` as the grid meant it.

    Grids write ``int(fraction * max_iter)``, so 0.5 x 5 is stored as 2; that
    is recovered as 0.5, not 0.4. A missing ``max_eval`` is LBFGS's default,
    1.25 x ``max_iter``.
    """
    if math.isnan(max_eval):
        return 1.25
    for fraction in (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
        if max(1, int(max_iter * fraction)) == max_eval:
            return fraction
    return max_eval / max_iter


def _eval_label(fraction: float) -> str:
    return "None (1.25x)" if math.isclose(fraction, 1.25) else f"{fraction:g}x"


def summary_figures(frame, output_dir) -> list:
    """Loss against synthesis duration, one figure per line search.

    Log-log; facets learning rate x history size; colour max_eval as a fraction
    of max_iter; marker max_iter.
    """
    import seaborn.objects as so

    from .. import figures

    frame = normalize_table(frame)
    frame["max_eval / max_iter"] = frame["LBFGS_max_eval_frac"].map(_eval_label)
    frame["max_iter"] = frame["LBFGS_max_iter"].astype(int).astype(str)
    frame["lr"] = frame["learning_rate"].map(lambda v: f"lr={v:g}")
    frame["history"] = frame["LBFGS_history_size"].map(lambda v: f"history={v:g}")
    labels = dict(zip(frame["max_eval / max_iter"], frame["LBFGS_max_eval_frac"],
                      strict=True))
    eval_order = sorted(labels, key=labels.get)
    written = []
    for search, sub in frame.groupby("search_func"):
        n_cols = sub["lr"].nunique()
        n_rows = sub["history"].nunique()
        plot = (
            so.Plot(sub, x="synth_duration", y="loss",
                    color="max_eval / max_iter", marker="max_iter")
            .facet(col="lr", row="history")
            .add(so.Dot(pointsize=7, alpha=0.8))
            .scale(x="log", y="log",
                   color=so.Nominal(order=[e for e in eval_order
                                           if e in set(sub["max_eval / max_iter"])]),
                   marker=so.Nominal(order=sorted(sub["max_iter"].unique(),
                                                  key=int)))
            .label(x="synthesis duration (s)", y="final loss",
                   title=lambda t: t)
            .layout(size=(3.2 * n_cols + 2, 3 * n_rows + 0.5))
        )
        fig = plot.plot()._figure
        fig.suptitle(f"LBFGS, line search: {search}", y=1.02)
        written += figures.save(fig, output_dir / f"loss_vs_duration_{search}")
    return written


def run_name(args: dict) -> str:
    """Name of a run from its arguments (used when no output directory is given)."""
    ctf = "_ctf" if args.get("coarse_to_fine") else ""
    red = "_reduced" if args.get("init_reduced") else ""
    return (f"{args['img'].replace('/', '-')}_seed-{args['seed']}"
            f"_ls-{args['line_search_fn']}_iter-{args['max_iter']}"
            f"_eval-{args['max_eval']}_hist-{args['history_size']}"
            f"_lr-{args['lr']:g}_loss-{args['loss']}{ctf}{red}")


def loss_row(args: dict, n_iter: int, final_loss: float, synth_duration: float,
             record: dict) -> dict:
    """One row of ``loss.csv``: the earlier columns, then the recorded fields."""
    from ..images import image_label

    row = {
        "filename": image_label(args["img"]),
        "coarse_to_fine": args["coarse_to_fine"],
        "seed": args["seed"],
        "search_func": args["line_search_fn"],
        "init_reduced": args["init_reduced"],
        "LBFGS_max_iter": args["max_iter"],
        "LBFGS_max_eval": args["max_eval"],
        "LBFGS_history_size": args["history_size"],
        "learning_rate": args["lr"],
        "synth_iter": n_iter,
        "loss": final_loss,
        "synth_duration": synth_duration,
        "loss_function": args["loss"],
        "crop": args.get("crop"),
    }
    row.update(record)
    return row


def load_target(args: dict, device):
    """The run's target image, validated, on ``device``."""
    from .. import images

    return images.load_image(args["img"], crop=args.get("crop")).to(device)


def build(args: dict, image):
    """Model, loss and (not yet set up) metamer for a run's arguments."""
    from .. import images, synthesis

    model = synthesis.make_model(image, images.n_scales_for(args["img"]))
    loss = synthesis.make_loss(args["loss"], model, image)
    met = synthesis.make_metamer(image, model, loss, args["coarse_to_fine"])
    return model, loss, met


def write_figures(met, run_dir, args: dict, synth_duration: float) -> None:
    """Target beside metamer, synthesis status, representation error."""
    from .. import figures, images, plots

    label = images.image_label(args["img"])
    title = (f"{label}, LBFGS max_iter={args['max_iter']} "
             f"max_eval={args['max_eval']} history={args['history_size']} "
             f"lr={args['lr']:g}, {args['line_search_fn']}; "
             f"loss {met.losses[-1]:.3g} after {len(met.losses) - 1} iterations, "
             f"{synth_duration:.1f} s")
    figures.save(plots.images_row([met.image, met.metamer], ["target", "metamer"],
                                  title), run_dir / "target_vs_metamer")
    fig = plots.synthesis_status(met)
    fig.suptitle(title, fontsize=11, y=1.05)
    figures.save(fig, run_dir / "synthesis_status")
    figures.save(plots.representation_error(met.model, met.image, met.metamer),
                 run_dir / "representation_error")


def load_run(run_dir, device=None):
    """Rebuild a finished run's metamer from ``metamer.pt`` and its arguments.

    Returns
    -------
    met, args, record
        The metamer object, the run's arguments and its provenance record.
    """
    from .. import devices, provenance, synthesis

    record = provenance.load(run_dir)
    args = record["args"]
    device = device or devices.resolve_device("cpu")
    image = load_target(args, device)
    model, loss, _ = build(args, image)
    met = synthesis.load_metamer(run_dir / "metamer.pt", image, model, loss,
                                 args["coarse_to_fine"])
    return met, args, record


def analyze_run(run_dir, figures: bool = True, force: bool = False) -> bool:
    """Rebuild a finished run's ``loss.csv`` (and figures) from its saved files.

    Returns
    -------
    changed
        Whether anything was written.
    """
    import os

    from .. import results, rundir

    table = run_dir / "loss.csv"
    process = rundir.read_process_time(run_dir)
    has_table = table.exists()
    if has_table and not force and not figures:
        row = results.read_rows(table)[0]
        if row.get("process_duration") or process is None:
            return False
        row["process_duration"] = process
    else:
        met, args, record = load_run(run_dir)
        fields = {k: v for k, v in record.items() if k not in ("args", "argv")}
        synth_duration = record.get("synth_duration", process)
        row = loss_row(args, len(met.losses) - 1, float(met.losses[-1]),
                       synth_duration, fields)
        row["process_duration"] = process
        if figures:
            write_figures(met, run_dir, args, synth_duration or 0.0)
    tmp = run_dir / f".loss.csv.tmp-{os.getpid()}"
    results.write_row(row, tmp)
    os.replace(tmp, table)
    return True


def summarize(input_dir, from_csv, output_dir):
    """Gather (or read) the table, write ``all_loss.csv`` and the figures."""
    import pandas as pd

    from .. import results

    if from_csv is not None:
        frame = pd.read_csv(from_csv, dtype=str, keep_default_na=False)
    else:
        rows, problems = results.gather(input_dir, "loss.csv",
                                        required=REQUIRED_COLUMNS,
                                        numeric=NUMERIC_COLUMNS)
        results.report(problems)
        if not rows:
            from ..cli import UsageError

            raise UsageError(f"no finished runs with a loss under {input_dir}")
        frame = pd.DataFrame.from_records(rows)
    frame = normalize_table(frame)
    results.write_csv_atomic(frame, output_dir / "all_loss.csv")
    summary_figures(frame, output_dir)
    return frame
