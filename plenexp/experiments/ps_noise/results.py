"""Finished ps_noise runs: loading them, rebuilding their table and figure."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import torch

from plenexp.errors import UsageError
from plenexp.experiments.ps_noise import run
from plenexp.experiments.ps_noise.figures import FIGURE, write_run_figure
from plenexp.experiments.ps_noise.grids import EXPERIMENT, normalize_args
from plenexp.runs import provenance, results, rundir
from plenexp.runs.record import RunRecord
from plenexp.synth import synthesis


def _numbers(row: dict) -> dict:
    """A ``loss.csv`` row read as text, numbers made numbers."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def load_run(run_dir: str | os.PathLike, metamer: bool = True) -> RunRecord:
    """Load what a finished run saved, on the CPU.

    Parameters
    ----------
    run_dir
        The run directory.
    metamer
        Also rebuild the ``po.Metamer`` (through :func:`.run.build`, the
        run's own model and loss) and load it with ``weights_only=True``.

    Returns
    -------
    record
        ``images`` holds ``target``, ``init`` (the initial image synthesis
        used, from ``init.pt``) and ``metamer``; ``row`` the ``loss.csv`` row;
        ``trajectory`` the per-step rows, where the run recorded them.
    """
    run_dir = Path(run_dir)
    prov = provenance.load(run_dir)
    args = normalize_args(prov["args"])
    saved = torch.load(run_dir / run.METAMER_FILE, weights_only=True,
                       map_location="cpu")
    image = saved["_image"].detach()
    init = torch.load(run_dir / run.INIT_FILE, weights_only=True,
                      map_location="cpu")
    met = None
    if metamer:
        _, _, met = run.build(args, image, init)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            met.load(str(run_dir / run.METAMER_FILE), map_location="cpu",
                     weights_only=True)
    table = run_dir / run.TABLE
    row = _numbers(results.read_rows(table)[0]) if table.is_file() else {}
    trajectory = run_dir / run.TRAJECTORY
    return RunRecord(
        run_dir=run_dir, experiment=EXPERIMENT, args=args,
        provenance={k: v for k, v in prov.items() if k != "args"}, row=row,
        metamer=met,
        images={"target": image, "init": init,
                "metamer": saved["_metamer"].detach()},
        trajectory=(synthesis.read_trajectory(trajectory)
                    if trajectory.is_file() else None))


def saved_losses(record: RunRecord) -> list[float]:
    """The loss before each step, then the final loss (from ``metamer.pt``)."""
    saved = torch.load(record.run_dir / run.METAMER_FILE, weights_only=True,
                       map_location="cpu")
    losses = [float(v) for v in saved["_losses"]]
    if saved.get("_current_loss") is not None:
        losses.append(float(saved["_current_loss"]))
    return losses


def trajectory_fields(rows: list[dict] | None) -> dict:
    """``evaluations`` and ``steps`` of a run from its trajectory rows."""
    if not rows:
        return {"evaluations": None, "steps": None}
    return {"evaluations": rows[-1]["evaluations"], "steps": len(rows) - 1}


def rebuild_row(record: RunRecord, model, loss) -> dict:
    """The run's ``loss.csv`` row, computed again from what it saved."""
    image, init = record.images["target"], record.images["init"]
    metamer = record.images["metamer"]
    fields = {k: v for k, v in record.provenance.items() if k != "argv"}
    fields.update(trajectory_fields(record.trajectory))
    row = run.loss_row(record.args, model, image, init, metamer,
                       run.objective(model, loss, image, metamer),
                       len(saved_losses(record)) - 1, fields)
    row["process_duration"] = rundir.read_process_time(record.run_dir)
    return row


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Write a finished run's ``loss.csv`` (and figure) where missing.

    An existing table gains the whole-process seconds (``process_duration``)
    that ``time_synthesize.sh`` recorded after the run.

    Parameters
    ----------
    figures
        Also draw the run's figure where it is missing.
    force
        Rebuild the table (and figure) even where they exist.

    Returns
    -------
    rebuilt
        Whether anything was written.
    """
    run_dir = Path(run_dir)
    need_table = force or not (run_dir / run.TABLE).exists()
    need_figure = figures and (
        force or not (run_dir / f"{FIGURE}.png").exists())
    if not (need_table or need_figure):
        return results.add_process_duration(run_dir, run.TABLE)
    record = load_run(run_dir, metamer=False)
    image = record.images["target"]
    model, loss, _ = run.build(record.args, image, record.images["init"])
    row = rebuild_row(record, model, loss)
    if need_table:
        results.write_row(row, run_dir / run.TABLE)
    if need_figure:
        write_run_figure(run_dir, model, image, record.images["init"],
                         record.images["metamer"], record.args, row)
    results.add_process_duration(run_dir, run.TABLE)
    return True



def regenerate_init(record: RunRecord) -> torch.Tensor:
    """Rebuild the initial image from the run's seed, noise type and amplitude."""
    return run.initial_image(record.args, record.images["target"])


def plot_run(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
             check_init: bool = True) -> list[Path]:
    """Redraw a finished run's figure, regenerating its initial image.

    Raises
    ------
    UsageError
        If ``check_init`` and the regenerated initial image differs from the
        one synthesis saved (another torch version may draw other numbers).
    """
    record = load_run(run_dir, metamer=False)
    init = record.images["init"]
    if check_init and not torch.equal(regenerate_init(record), init):
        raise UsageError(
            f"{run_dir}: the initial image regenerated from seed "
            f"{record.args['seed']} differs from the saved init.pt (torch "
            f"{record.provenance.get('torch_version')} made it); --no-check draws "
            "the saved one")
    image = record.images["target"]
    model, loss, _ = run.build(record.args, image, init)
    row = record.row or rebuild_row(record, model, loss)
    return write_run_figure(Path(out_dir or run_dir), model, image, init,
                            record.images["metamer"], record.args, row)
