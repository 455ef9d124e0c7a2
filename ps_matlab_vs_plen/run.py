"""One run's science: its target and initial image, the one ``build``, its table.

``build`` is the only place the model, loss and metamer are made
(``synthesize.py``, ``analyze.py`` and ``plot.py`` all call it); ``score`` and
``loss_rows`` turn any metamer, MATLAB's included, into the rows of
``loss.csv``; ``load_result`` reads any finished result (a plenoptic run, a
MATLAB run made by ps_matlab's ``synthesize.py``, or a bare MAT file) and
``load_run`` gives a run as the shared record.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import imageio.v3 as iio
import plenoptic as po
import torch

from plenexp.errors import BadFile, UsageError
from plenexp.runs import files, provenance, rundir
from plenexp.runs import results as shared_results
from plenexp.runs.record import RunRecord
from plenexp.synth import images, matlab, success, synthesis
from ps_matlab_vs_plen.write_disbatch import (
    EXPERIMENT,
    init_image_path,
    optimizer_label,
    plenoptic_run_name,
    seed_of,
)

#: Loss functions of the per-result table: three norms of the difference of
#: the PS statistics, and its largest absolute value (the success criterion).
LOSS_FUNCS = ("l2_norm", "mse", "sse", "max_abs")
#: The identifying columns of ``loss.csv``, in order; ``loss_func``,
#: ``loss_type`` and ``loss`` follow, then provenance.
COLUMNS = [
    "img", "seed", "init_img", "optimizer", "engine", "device", "host",
    "synth_iters", "steps", "evaluations", "res_highpass_weight",
    "init_duration", "synth_duration", "process_duration",
]
#: Provenance copied into every row.
EXTRA_COLUMNS = ("device_name", "plenoptic_version", "torch_version", "repo_commit")
#: The metamers a run keeps at its ``--checkpoints`` (step -> tensor).
CHECKPOINTS = "checkpoints.pt"



#: The statistic group that ``--weighted`` multiplies.
WEIGHTED_GROUP = "var_highpass_residual"
#: Name of the per-result table; ``summarize.py`` gathers these.
LOSS_TABLE = "loss.csv"


def run_name(args: dict) -> str:
    """Name of a plenoptic run from ``synthesize.py``'s arguments."""
    return plenoptic_run_name(args["img"], Path(str(args["init_img"])).stem,
                              args["optimizer"], args["weighted"],
                              args["history_size"], args["synth_max_iter"])


def effective_weight(weighted: float) -> float:
    """Weight on the highpass-residual variance; ``--weighted 0`` means plain (1)."""
    return float(weighted) if weighted else 1.0


def method_label(optimizer: str, weight: float = 1.0, engine: str = "") -> str:
    """A method as figures and tables name it.

    ``Adam``, ``LBFGS-100 (highpass x100)``, ``textureSynth (Octave 7.3.0)``:
    the highpass weight where it is not 1, and textureSynth's engine (its
    speed depends on it), so runs of different engines never share a label.
    """
    if optimizer in ("textureSynth", "matlab"):
        return f"textureSynth ({engine or 'engine unknown'})"
    if weight == weight and weight != 1:  # not NaN, not 1
        return f"{optimizer} (highpass x{weight:g})"
    return optimizer


def table_path(path: str | os.PathLike) -> Path:
    """Say where a result's table goes: its run's ``loss.csv``, else ``<stem>.csv``."""
    path = Path(path)
    return path / LOSS_TABLE if path.is_dir() else path.with_suffix(".csv")


def is_loss_table(table: str | os.PathLike) -> bool:
    """Whether ``table`` exists and is this experiment's loss table (long form).

    A MATLAB run is made by ps_matlab's ``synthesize.py``, which leaves
    ps_matlab's own wide ``loss.csv`` there: that is not this experiment's
    table, so it is written again.
    """
    try:
        # a regular file of the run only: a FIFO there never blocks
        with files.open_regular(table) as f:
            first = f.readline(files.CSV_MAX_BYTES).decode("utf-8")
        header = next(csv.reader(io.StringIO(first, newline="")), [])
    except (OSError, ValueError, csv.Error):  # missing, BadFile, not UTF-8...
        return False
    return {"loss_func", "loss_type", "loss"} <= set(header)


# ---------------------------------------------------------------- initial images

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
        with rundir.atomic_path(path) as tmp:
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


# ---------------------------------------------------------------- a plenoptic run

def load_target(args: dict, device: torch.device | str = "cpu") -> torch.Tensor:
    """The run's target image (float64) on ``device``."""
    return images.load_image(args["img"], crop=args.get("crop")).to(device)


def scoring_model(img_spec: str, target: torch.Tensor) -> torch.nn.Module:
    """The PS model every result of ``img_spec`` is optimised and scored with."""
    return synthesis.make_model(target, images.n_scales_for(img_spec))


def build(args: dict, image: torch.Tensor):
    """Model, loss and (not yet set up) metamer of a plenoptic run.

    Adam runs as ``MetamerCTF`` (coarse-to-fine ``together``); LBFGS as
    ``Metamer``. ``--weighted W`` multiplies ``var_highpass_residual`` by W.

    Returns
    -------
    model, loss, met
    """
    model = scoring_model(args["img"], image)
    weights = {WEIGHTED_GROUP: args["weighted"]} if args["weighted"] else None
    loss = synthesis.make_loss(args["loss"], model, image, weights)
    met = synthesis.make_metamer(image, model, loss,
                                 coarse_to_fine=args["optimizer"] == "Adam")
    return model, loss, met


def setup(met: po.Metamer, args: dict, init: torch.Tensor) -> None:
    """Set the metamer up from ``init`` with the run's optimizer."""
    if args["optimizer"] == "Adam":
        met.setup(init)
    else:
        met.setup(init, optimizer=torch.optim.LBFGS,
                  optimizer_kwargs=synthesis.lbfgs_kwargs(
                      args["max_iter"], args["max_iter"], args["history_size"],
                      "strong_wolfe", 1.0))


def synthesize(met: po.Metamer, n_iter: int, checkpoints: Iterable[int] = (),
               trajectory: synthesis.Trajectory | None = None
               ) -> dict[int, torch.Tensor]:
    """Run ``n_iter`` steps, keeping a copy of the metamer after each checkpoint.

    The steps run in segments ending at the checkpoints; a run's first ``k``
    steps are those of a ``k``-step run, so each copy is what that run would
    have given.

    Returns
    -------
    kept
        Step to metamer (CPU), for each checkpoint below ``n_iter``.
    """
    ends = sorted({k for k in checkpoints if 0 < k < n_iter} | {n_iter})
    kept, done = {}, 0
    for end in ends:
        chunks = max(1, round(10 * (end - done) / n_iter))
        synthesis.synthesize(met, end - done, stop_criterion=None,
                             progress_chunks=chunks,
                             trajectory=trajectory if end == n_iter else None)
        done = end
        if end < n_iter:
            kept[end] = met.metamer.detach().to("cpu", copy=True)
    return kept


def save_checkpoints(kept: dict[int, torch.Tensor], path: Path) -> None:
    """Write the kept metamers (loads with ``weights_only=True``)."""
    synthesis.save_tensors({f"step-{k}": v for k, v in sorted(kept.items())}, path)


def score(model: torch.nn.Module, target: torch.Tensor,
          metamer: torch.Tensor) -> dict[str, dict[str, float]]:
    """Loss between the target's and the metamer's PS statistics, by group.

    Returns
    -------
    losses
        ``{loss_func: {"overall": value, group: value, ...}}`` for every
        :data:`LOSS_FUNCS`; ``max_abs`` is the largest absolute difference
        of one statistic (redundant, NaN, statistics left out).
    """
    metamer = metamer.to(device=target.device, dtype=target.dtype)
    losses = synthesis.group_losses(model, target, metamer)
    with torch.no_grad():
        diff = model(target) - model(metamer)
    groups = {"overall": diff, **model.convert_to_dict(diff)}
    losses["max_abs"] = {key: success.max_abs_rep_error(values)
                         for key, values in groups.items()}
    return losses


def loss_row(meta: dict, loss_func: str, loss_type: str, loss: float,
             extra: dict | None = None) -> dict:
    """One row of ``loss.csv``: the identifying columns, one loss, provenance."""
    return {**{k: meta.get(k, "") for k in COLUMNS}, "loss_func": loss_func,
            "loss_type": loss_type, "loss": loss, **(extra or {})}


def loss_rows(meta: dict, losses: dict[str, dict[str, float]],
              extra: dict | None = None) -> list[dict]:
    """The rows of one result: every loss function x (overall + every group).

    ``l2_norm`` overall comes first.
    """
    return [loss_row(meta, func, loss_type, losses[func][loss_type], extra)
            for func in LOSS_FUNCS
            for loss_type in ["overall", *sorted(set(losses[func]) - {"overall"})]]


def device_type(device: str | None) -> str:
    """``cpu`` or ``cuda`` (the device family, for tables)."""
    text = str(device or "cpu")
    if text == "cpu":
        return "cpu"
    return "cuda" if text.startswith("cuda") or text.isdigit() else text


def plenoptic_states(args: dict, record: dict,
                     trajectory: list[dict] | None) -> list[dict]:
    """Identifying columns of a run's final metamer and of each checkpoint.

    Parameters
    ----------
    args
        The run's arguments.
    record
        Its provenance (``init_duration``, ``synth_duration``, ``steps``,
        ``evaluations``, ``init_img_path``, ``host``, ...).
    trajectory
        Its trajectory rows: a checkpoint's seconds and evaluations are those
        of the trajectory at that step.

    Returns
    -------
    states
        One dict per kept metamer, the final one last, each with ``source``:
        ``metamer.pt`` or ``checkpoints.pt:step-<k>``.
    """
    init_label = Path(str(record.get("init_img_path") or args["init_img"])).stem
    steps = int(record["steps"])
    common = {
        "img": images.image_label(args["img"]), "seed": seed_of(init_label),
        "init_img": init_label,
        "optimizer": optimizer_label(args["optimizer"], args["history_size"]),
        "engine": f"plenoptic {record.get('plenoptic_version')}",
        "device": device_type(record.get("device") or args.get("device")),
        "host": record.get("host", ""),
        "res_highpass_weight": effective_weight(args["weighted"]),
        "init_duration": float(record["init_duration"]),
        "process_duration": record.get("process_duration", ""),
    }
    by_step = {row["step"]: row for row in trajectory or []}
    synth = float(record["synth_duration"])
    states = []
    for k in sorted(int(k) for k in record.get("checkpoints") or ()):
        if 0 < k < steps:
            row = by_step[k]
            # no process of its own: summaries estimate it (summarize.normalize)
            states.append({**common, "synth_iters": k, "steps": k,
                           "evaluations": row["evaluations"],
                           "synth_duration": row["seconds"], "process_duration": "",
                           "source": f"{CHECKPOINTS}:step-{k}"})
    states.append({**common, "synth_iters": steps, "steps": steps,
                   "evaluations": record.get("evaluations", ""),
                   "synth_duration": synth, "source": "metamer.pt"})
    return states


def state_rows(states: list[dict], metamers: Callable[[str], torch.Tensor],
               model: torch.nn.Module, target: torch.Tensor,
               extra: dict) -> list[dict]:
    """Score each state's metamer (``metamers(source)``) into table rows."""
    rows = []
    for state in states:
        losses = score(model, target, metamers(state["source"]))
        rows += loss_rows(state, losses, {**extra, "metamer": state["source"]})
    return rows


def objective_name(args: dict) -> str:
    """What a plenoptic run minimised: ``l2_norm``, ``l2_norm, highpass x100``..."""
    weight = effective_weight(args["weighted"])
    return args["loss"] if weight == 1 else f"{args['loss']}, highpass x{weight:g}"


# ---------------------------------------------------------------- any result

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
    data = torch.load(io.BytesIO(files.read_bytes(path / name)), map_location="cpu",
                      weights_only=True)
    tensor = data[key] if key else data["_metamer"]
    return tensor.detach().to(torch.float64)


def _read_trajectory(run_dir: Path) -> list[dict] | None:
    path = run_dir / "trajectory.csv"
    # lexists: a FIFO or a link to a device raises (named), never "no trajectory"
    return synthesis.read_trajectory(path) if os.path.lexists(path) else None


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
    extra = {key: record.get(key) for key in EXTRA_COLUMNS}
    init = record.get("init_img_path") or args.get("init_img")
    init_path = Path(str(init)) if init else None
    if (path / "metamer.mat").is_file():
        engine = engine_label(record.get("engine"), record.get("engine_version"))
        states = [_matlab_state(path / "metamer.mat", args["img"],
                                Path(str(init)).stem, int(args["n_iter"]), engine,
                                record.get("host", ""), record["process_duration"])]
        extra["objective"] = "textureSynth"
    elif (path / "metamer.pt").is_file():
        states = plenoptic_states(args, record, _read_trajectory(path))
        extra["objective"] = record.get("objective") or objective_name(args)
    else:
        for name in ("metamer.mat", "metamer.pt"):
            if os.path.lexists(path / name):  # a FIFO, folder, dangling link
                raise BadFile(str(path / name), "not a regular file")
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


def result_target(result: Result) -> torch.Tensor:
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
        target = result_target(result)
    if model is None:
        model = scoring_model(result.img_spec, target)
    first = result.metamer(result.states[0]["source"])
    if first.shape != target.shape:
        raise UsageError(f"{result.path}: metamer is {tuple(first.shape)} but the "
                         f"target is {tuple(target.shape)}")
    return state_rows(result.states, result.metamer, model, target,
                          result.extra)


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """A finished run as the shared record.

    ``metamer``: for plenoptic runs, the ``po.Metamer`` reloaded (through
    :func:`build`, loaded with ``weights_only=True``); for MATLAB runs
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
    target = result_target(result)
    found = {"target": target}
    if result.init_path is not None and result.init_path.is_file():
        found["init"] = images.load_image(result.init_path)
    for state in result.states[:-1]:
        found[state["source"].partition(":")[2]] = result.metamer(state["source"])
    met = None
    if (run_dir / "metamer.mat").is_file():
        found["metamer"] = result.metamer("metamer.mat")
    elif metamer:
        model, loss, _ = build(args, target)
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
