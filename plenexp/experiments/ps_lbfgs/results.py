"""Finished ps_lbfgs runs: reload one, rebuild its ``loss.csv`` and figures."""

from __future__ import annotations

import os
from pathlib import Path

from plenexp.experiments.ps_lbfgs import run
from plenexp.experiments.ps_lbfgs.grids import EXPERIMENT
from plenexp.runs import devices, provenance, rundir
from plenexp.runs import results as tables
from plenexp.runs.record import RunRecord
from plenexp.synth import synthesis

#: The per-run figures (``figures.write_run_figures``).
FIGURES = ("target_vs_metamer", "synthesis_status", "representation_error")


def load_run(run_dir: str | os.PathLike, metamer: bool = True,
             device=None) -> RunRecord:
    """A finished run: arguments, provenance, row, trajectory and metamer.

    Parameters
    ----------
    run_dir
        The run directory.
    metamer
        Rebuild the ``po.Metamer`` from ``metamer.pt`` (``weights_only``
        load), through the same :func:`run.build` the run used.
    device
        Where to load it (default: CPU).
    """
    run_dir = Path(run_dir)
    record = provenance.load(run_dir)
    args = record["args"]
    table = run_dir / "loss.csv"
    row = tables.read_rows(table)[0] if table.exists() else {}
    path = run_dir / "trajectory.csv"
    trajectory = synthesis.read_trajectory(path) if path.exists() else None
    met = None
    if metamer:
        device = device or devices.resolve_device("cpu")
        image = run.load_target(args, device)
        model, loss, _ = run.build(args, image)
        met = synthesis.load_metamer(run_dir / "metamer.pt", image, model, loss,
                                     args["coarse_to_fine"])
    return RunRecord(run_dir=run_dir, experiment=EXPERIMENT, args=args,
                     provenance={k: v for k, v in record.items()
                                 if k not in ("args",)},
                     row=row, metamer=met, trajectory=trajectory)


def analyze_run(run_dir: str | os.PathLike, figures: bool = True,
                force: bool = False) -> bool:
    """Rebuild a finished run's ``loss.csv`` (and figures) from its saved files.

    Without ``force``, an existing table only gains ``process_duration``
    (written by ``time_synthesize.sh`` after the run) and only missing figures
    are drawn (``figures``). With ``force`` or without a table, the row is
    computed again from the reloaded metamer and ``trajectory.csv``: the same
    loss the run wrote.

    Returns
    -------
    changed
        Whether anything was written.
    """
    run_dir = Path(run_dir)
    table = run_dir / "loss.csv"
    process = rundir.read_process_time(run_dir)
    figures = figures and (force or not all(
        (run_dir / f"{name}.png").exists() for name in FIGURES))
    if table.exists() and not force and not figures:
        return tables.add_process_duration(run_dir)
    loaded = load_run(run_dir)
    met, args = loaded.metamer, loaded.args
    fields = {k: v for k, v in loaded.provenance.items() if k != "argv"}
    if loaded.trajectory is not None:
        fields["steps"] = max(0, len(loaded.trajectory) - 1)
    fields.update(run.outcome_fields(met, args, loaded.trajectory))
    synth_duration = fields.get("synth_duration", process)
    row = run.loss_row(args, len(met.losses) - 1, float(met.losses[-1]),
                       synth_duration, fields)
    row["process_duration"] = process
    if figures:
        from plenexp.experiments.ps_lbfgs import figures as run_figures

        run_figures.write_run_figures(met, run_dir, args, synth_duration or 0.0)
    tables.write_row(row, table)
    return True
