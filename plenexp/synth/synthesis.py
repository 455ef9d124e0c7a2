"""Building and running plenoptic PS metamer synthesis the same way everywhere."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from collections.abc import Callable

import plenoptic as po
import torch

from plenexp.cli import LOSSES
from plenexp.errors import RunFailed, UsageError
from plenexp.runs import files
from plenexp.runs.rundir import atomic_path


def make_model(image: torch.Tensor, n_scales: int = 4) -> torch.nn.Module:
    """PS model for ``image``'s shape, on its device, with gradients off."""
    model = po.models.PortillaSimoncelli(image.shape[-2:], n_scales=n_scales)
    model = model.to(image.device).eval()
    po.remove_grad(model)
    return model


def make_loss(
    name: str,
    model: torch.nn.Module,
    image: torch.Tensor,
    reweighting: dict[str, torch.Tensor | float] | None = None,
) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Loss function by name, optionally reweighting PS statistic groups.

    Parameters
    ----------
    name
        One of :data:`LOSSES`.
    model
        The PS model.
    image
        The target image.
    reweighting
        Weights by statistic group (keys of ``model.convert_to_dict``). With
        ``l2_norm`` or ``mse`` the groups not named keep weight 1; with
        ``portilla_simoncelli_loss_factory`` they keep that factory's defaults.
    """
    if name not in LOSSES:
        raise UsageError(f"unknown loss {name!r}: expected one of {', '.join(LOSSES)}")
    if name == "portilla_simoncelli_loss_factory":
        return po.loss.portilla_simoncelli_loss_factory(model, image, reweighting)
    base = getattr(po.loss, name)
    if not reweighting:
        return base
    rep = model.convert_to_dict(torch.ones_like(model(image)))
    if unknown := set(reweighting) - set(rep):
        raise UsageError(f"unknown PS statistic group(s): {', '.join(sorted(unknown))}")
    for key, value in reweighting.items():
        rep[key] = rep[key] * torch.as_tensor(value, dtype=image.dtype,
                                              device=image.device)
    weights = model.convert_to_tensor(rep)

    def weighted_loss(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return base(weights * x, weights * y)

    weighted_loss.__name__ = f"weighted_{name}"
    return weighted_loss


def make_metamer(
    image: torch.Tensor,
    model: torch.nn.Module,
    loss: Callable,
    coarse_to_fine: bool = False,
    penalty_lambda: float | None = None,
    allowed_range: tuple[float, float] | None = None,
) -> po.Metamer:
    """``Metamer`` (or ``MetamerCTF`` with ``coarse_to_fine="together"``).

    Parameters
    ----------
    penalty_lambda
        Weight of the range penalty; ``None`` keeps plenoptic's default and 0
        turns the penalty off.
    allowed_range
        Pixel range the penalty allows, if not plenoptic's (0, 1).
    """
    kwargs: dict = {"loss_function": loss}
    if penalty_lambda is not None:
        kwargs["penalty_lambda"] = penalty_lambda
    if allowed_range is not None:
        low, high = allowed_range

        def penalize_range(img: torch.Tensor) -> torch.Tensor:
            return po.regularize.penalize_range(img, allowed_range=(low, high))

        kwargs["penalty_function"] = penalize_range
    if coarse_to_fine:
        return po.MetamerCTF(image, model, coarse_to_fine="together", **kwargs)
    return po.Metamer(image, model, **kwargs)


def lbfgs_kwargs(
    max_iter: int = 10,
    max_eval: int | None = 10,
    history_size: int = 100,
    line_search_fn: str | None = "strong_wolfe",
    lr: float = 1.0,
) -> dict:
    """Keyword arguments for ``torch.optim.LBFGS``."""
    if line_search_fn not in (None, "strong_wolfe"):
        raise UsageError(
            f"unknown line search {line_search_fn!r}: expected None or strong_wolfe"
        )
    return {
        "max_iter": max_iter,
        "max_eval": max_eval,
        "history_size": history_size,
        "line_search_fn": line_search_fn,
        "lr": lr,
    }


#: What ``coarse_to_fine`` runs always use (``MetamerCTF.synthesize`` kwargs).
CTF_SYNTH_KWARGS = {"change_scale_criterion": None, "ctf_iters_to_check": 7}


def synthesize(
    met: po.Metamer,
    n_iter: int,
    store_progress: int | bool = False,
    stop_criterion: float | None = None,
    stop_iters_to_check: int = 50,
    progress_chunks: int = 10,
    label: str = "",
    trajectory: Trajectory | None = None,
) -> None:
    """Run ``n_iter`` synthesis iterations, printing a progress line now and then.

    plenoptic's own tqdm bar is usually disabled in batch logs, so the
    iterations run in up to ``progress_chunks`` calls of ``met.synthesize`` with
    one short line after each. Each call ends with one extra forward pass
    (plenoptic's final loss), under 1% of a run's passes.

    Parameters
    ----------
    stop_criterion
        Stop when the loss changes less than this over ``stop_iters_to_check``
        iterations; ``None`` turns the stopping criterion off, so exactly
        ``n_iter`` iterations run.
    progress_chunks
        How many progress lines at most; 0 runs in one call, silently.
    trajectory
        Attached to ``met`` beforehand; its final state is added at the end.

    Raises
    ------
    RunFailed
        As soon as the loss or the metamer is not finite (see
        :func:`check_final_loss`).
    """
    kwargs: dict = {"store_progress": store_progress}
    if stop_criterion is None:
        # A window longer than the run can never be checked: no early stop.
        kwargs.update(stop_criterion=0.0, stop_iters_to_check=n_iter + 1)
    else:
        kwargs.update(stop_criterion=stop_criterion,
                      stop_iters_to_check=stop_iters_to_check)
    if isinstance(met, po.MetamerCTF):
        kwargs.update(CTF_SYNTH_KWARGS)
    chunk = n_iter if progress_chunks <= 0 else math.ceil(n_iter / progress_chunks)
    done = 0
    while done < n_iter:
        step = min(chunk, n_iter - done)
        before = len(met.losses)
        try:
            met.synthesize(max_iter=step, **kwargs)
        except ValueError as err:
            if "NaN" not in str(err):  # plenoptic: "Found a NaN in loss ..."
                raise
            raise RunFailed(f"synthesis diverged: the loss became NaN after "
                            f"{len(met.losses) - 1} iterations (nothing "
                            "published)") from None
        ran = len(met.losses) - before
        done += step
        if progress_chunks > 0:
            print(f"{label}iteration {done}/{n_iter}: loss {met.losses[-1]:.4g}",
                  flush=True)
        check_final_loss(met)
        if ran < step:
            print(f"{label}loss converged after {len(met.losses) - 1} iterations",
                  flush=True)
            break
    if trajectory is not None:
        trajectory.finish(met)


class Trajectory:
    """Per-step record of a synthesis: seconds, loss and PS model evaluations.

    Evaluations (forward passes of the model, line-search evaluations and
    plenoptic's final-loss passes included) are the same on every machine, so
    they are a cost axis that is not timing noise. One row per optimizer step,
    a few KB per run; a run's trajectory draws its whole loss-against-time
    curve, and a shorter run with the same seed is a prefix of a longer one.

    Parameters
    ----------
    met
        The metamer, set up but not yet synthesized.
    synchronize
        Called before every clock reading (``devices.synchronize`` on GPUs).

    Attributes
    ----------
    rows
        One dict per state of the metamer: ``step`` (steps taken), ``seconds``
        (since the trajectory started) and ``evaluations`` (model evaluations
        spent) when that state was reached, and its ``loss``. Row 0 is the
        initial image; :meth:`finish` adds the final state.
    evaluations
        Model evaluations so far.
    """

    COLUMNS = ("step", "seconds", "loss", "evaluations")

    def __init__(self, met: po.Metamer,
                 synchronize: Callable[[], None] | None = None) -> None:
        self.rows: list[dict] = []
        self.evaluations = 0
        self._synchronize = synchronize or (lambda: None)
        met.model.register_forward_hook(self._count)
        step = met._optimizer_step

        # plenoptic has no per-step callback: wrap the instance's step method.
        # A step returns the loss of the metamer it started from (LBFGS's
        # first evaluation), so the row describes the state before the step.
        def recorded_step(*args, **kwargs):
            seconds, evaluations = self._now(), self.evaluations
            loss = step(*args, **kwargs)
            self.rows.append({"step": len(self.rows), "seconds": seconds,
                              "loss": float(loss), "evaluations": evaluations})
            return loss

        met._optimizer_step = recorded_step
        self._synchronize()
        self._start = time.perf_counter()

    def _now(self) -> float:
        self._synchronize()
        return time.perf_counter() - self._start

    def _count(self, module, inputs, output) -> None:
        self.evaluations += 1

    def finish(self, met: po.Metamer) -> None:
        """Add the final state (plenoptic's loss after the last step)."""
        if self.rows and self.rows[-1]["step"] == len(met.losses) - 1:
            return
        self.rows.append({"step": len(self.rows), "seconds": self._now(),
                          "loss": float(met.losses[-1]),
                          "evaluations": self.evaluations})

    @property
    def steps(self) -> int:
        """Optimizer steps recorded (the final state not counted)."""
        return max(0, len(self.rows) - 1)

    def write_csv(self, path: str | os.PathLike) -> None:
        """Write ``trajectory.csv`` (atomically)."""
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)


def read_trajectory(path: str | os.PathLike) -> list[dict]:
    """Read a ``trajectory.csv`` written by :meth:`Trajectory.write_csv`.

    Only a regular file of a table's size is read (``plenexp.runs.files``).

    Raises
    ------
    FileNotFoundError
        If there is none.
    ValueError
        If it is empty, damaged or not a trajectory (``BadFile`` for a FIFO,
        a device, a link out of its run...), naming the file.
    """
    text = files.read_text(path)
    try:
        rows = [{"step": int(row["step"]), "seconds": float(row["seconds"]),
                 "loss": float(row["loss"]),
                 "evaluations": int(row["evaluations"])}
                for row in csv.DictReader(io.StringIO(text, newline=""))]
    except (KeyError, TypeError, ValueError, csv.Error) as err:
        raise ValueError(f"{path}: not a trajectory table ({type(err).__name__}: "
                         f"{err})") from None
    if not rows:
        raise ValueError(f"{path}: no trajectory rows (empty table)")
    return rows


def save_metamer(met: po.Metamer, path: str | os.PathLike) -> None:
    """Save with plenoptic's ``save``, leaving out the optimizer's state.

    LBFGS keeps ``2 * history_size`` image-sized tensors (about 100 MB at
    256x256, history 100); a result never needs them. The file loads with
    ``torch.load(..., weights_only=True)``.
    """
    optimizer = met._optimizer
    met._optimizer = None
    # a Trajectory's per-step wrapper is a local function: not picklable
    step = met.__dict__.pop("_optimizer_step", None)
    buffer = io.BytesIO()
    try:
        met.save(buffer)
    finally:
        met._optimizer = optimizer
        if step is not None:
            met._optimizer_step = step
    _write_bytes(buffer, path)


def save_tensors(obj, path: str | os.PathLike) -> None:
    """``torch.save``, with a full disk reported as such (``OSError``).

    torch's own file writer turns a failed write into an unexplained
    ``RuntimeError``; the bytes are made in memory and written here instead.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    _write_bytes(buffer, path)


def _write_bytes(buffer: io.BytesIO, path: str | os.PathLike) -> None:
    with open(path, "wb") as f:
        f.write(buffer.getbuffer())


def load_metamer(
    path: str | os.PathLike,
    image: torch.Tensor,
    model: torch.nn.Module,
    loss: Callable,
    coarse_to_fine: bool = False,
    **metamer_kwargs,
) -> po.Metamer:
    """Rebuild a metamer saved by :func:`save_metamer` (for figures and analysis)."""
    met = make_metamer(image, model, loss, coarse_to_fine, **metamer_kwargs)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # explicit: torch's default is unsafe before 2.6 and can be switched
        # off by TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD; this never runs pickled code
        met.load(_saved(path), map_location=image.device, weights_only=True)
    check_finite(met.metamer, f"the metamer in {path}")
    return met


def _saved(path: str | os.PathLike) -> io.BytesIO:
    """A saved result file's bytes, read only if it is a regular file of its run.

    No FIFO, device or link out of its directory is ever opened
    (``plenexp.runs.files``; ``BadFile`` names it).
    """
    return io.BytesIO(files.read_bytes(path))


def load_tensors(path: str | os.PathLike, map_location="cpu") -> dict:
    """A saved result file as plain tensors, never running pickled code.

    Raises
    ------
    ValueError
        If the file cannot be read as such (damaged, not a result, or holding
        code), naming it.
    """
    import pickle
    import zipfile

    try:
        data = torch.load(_saved(path), map_location=map_location,
                          weights_only=True)
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile,
            ValueError, AttributeError, TypeError) as err:
        # torch explains at length; its first sentence says what went wrong
        first = (str(err).strip().splitlines() or [""])[0].split(". ")[0]
        raise ValueError(f"{path}: not a readable result file "
                         f"({type(err).__name__}: {first})") from None
    return data


def check_finite(image: torch.Tensor, what: str) -> None:
    """Raise ``ValueError`` unless every value of ``image`` is a finite number."""
    if not torch.is_tensor(image) or image.is_complex() or image.numel() == 0:
        raise ValueError(f"{what} is not a real image")
    if not bool(torch.isfinite(image).all()):
        raise ValueError(f"{what} holds non-finite values (NaN or inf)")


def check_final_loss(met: po.Metamer) -> float:
    """The final loss of a finished synthesis.

    Raises
    ------
    RunFailed
        If the loss or the metamer is not finite: the run failed (e.g. an
        infinite learning rate) and must not be published as a result.
    """
    loss = float(met.losses[-1]) if len(met.losses) else math.nan
    if not math.isfinite(loss) or not bool(torch.isfinite(met.metamer).all()):
        raise RunFailed(f"synthesis diverged: final loss {loss} after "
                        f"{len(met.losses) - 1} iterations (nothing published)")
    return loss


def necessary_statistics(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Which statistics of each group the model computes (the rest are redundant).

    plenoptic's PS model drops redundant statistics from its output and
    ``convert_to_dict`` puts NaN in their place; converting a representation
    of ones shows where. Never inferred from the data, where NaN means a
    broken image.
    """
    n = len(model._representation_scales)
    ones = torch.ones(1, 1, n, dtype=torch.float64)
    return {key: ~torch.isnan(value[0, 0])
            for key, value in model.convert_to_dict(ones).items()}


def group_losses(
    model: torch.nn.Module, target: torch.Tensor, metamer: torch.Tensor
) -> dict[str, dict[str, float]]:
    """Loss between two images' PS statistics, overall and by statistic group.

    Parameters
    ----------
    model
        The PS model.
    target, metamer
        Images of the same shape.

    Returns
    -------
    losses
        ``{loss_func: {"overall": value, group: value, ...}}`` for ``mse``,
        ``sse`` and ``l2_norm``, over the statistics the model computes
        (:func:`necessary_statistics`; redundant ones are left out).

    Raises
    ------
    ValueError
        If either image, or a statistic of it, is not finite: such a metamer
        has no loss (it must never score 0).
    """
    check_finite(target, "the target")
    check_finite(metamer, "the metamer")
    with torch.no_grad():
        diff = model(target) - model(metamer)
    if not bool(torch.isfinite(diff).all()):
        raise ValueError("the PS statistics of the metamer or target are not "
                         "finite (a constant image?)")
    necessary = necessary_statistics(model)
    groups = {"overall": diff.flatten()}
    groups.update({key: values[..., necessary[key]].flatten()
                   for key, values in model.convert_to_dict(diff).items()})
    out: dict[str, dict[str, float]] = {"mse": {}, "sse": {}, "l2_norm": {}}
    for key, values in groups.items():
        values = values.double()
        sse = float((values**2).sum())
        out["sse"][key] = sse
        out["l2_norm"][key] = math.sqrt(sse)
        out["mse"][key] = sse / values.numel() if values.numel() else float("nan")
    return out
