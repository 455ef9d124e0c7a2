"""One run of any experiment: threads, device, provenance, timing, atomic output."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from plenexp.runs import devices, paths, provenance, rundir
from plenexp.runs.paths import NOT_RESULT_ARGS


@dataclass
class RunContext:
    """What a script writes into while its run is in progress.

    Attributes
    ----------
    dir
        Temporary run directory; it becomes ``final_dir`` on success.
    final_dir
        Where the run appears once complete.
    device
        The torch device of the run.
    record
        Fields (timings, counts) added to ``provenance.json`` at the end.
    """

    dir: Path
    final_dir: Path
    device: torch.device
    record: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def measure_memory(self) -> dict:
        """Record the peak memory so far and return it."""
        memory = devices.peak_memory(self.device)
        self.record.update(memory)
        return memory

    def flat_record(self) -> dict:
        """Provenance and recorded fields as one flat row (no argument lists).

        Called for the run's table row, when the work is done: it fixes the
        whole-process seconds (:func:`process_seconds`) the run reports.
        """
        self.record.setdefault("process_duration", process_seconds())
        row = {k: v for k, v in self.provenance.items() if k not in ("args", "argv")}
        row.update(self.record)
        return row


#: ``time_process.sh`` exports the epoch seconds at which it started the process.
PROCESS_START_ENV = "PLENEXP_PROCESS_START"


def process_seconds() -> float | None:
    """Seconds since ``time_process.sh`` started this process (start-up included).

    ``None`` for a process started otherwise (no whole-process clock): the
    run's table then leaves ``process_duration`` empty.
    """
    try:
        start = float(os.environ[PROCESS_START_ENV])
    except (KeyError, ValueError):
        return None
    return round(time.time() - start, 3)


def args_digest(args: dict) -> str:
    """Eight hex digits that change with every argument that changes a result."""
    import hashlib
    import json

    kept = {k: v for k, v in sorted(args.items()) if k not in NOT_RESULT_ARGS}
    text = json.dumps(kept, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:8]


def run_dir_for(
    output_dir: str | os.PathLike | None,
    output_root: str | os.PathLike | None,
    experiment: str,
    run_name: str,
    args: dict | None = None,
) -> Path:
    """The run directory: ``output_dir`` if given, else under the output root.

    Runs started by hand without ``--output_dir`` land in
    ``<root>/<experiment>/adhoc/<run_name>_<digest>``, where the digest
    (:func:`args_digest`) covers every argument that changes the result: a
    second hand run with other settings never replaces the first, and the same
    command run again replaces its own earlier run.
    """
    if output_dir:
        return Path(output_dir)
    root = paths.output_root(output_root)
    name = f"{run_name}_{args_digest(args)}" if args is not None else run_name
    return paths.grid_dir(root, experiment, "adhoc") / name


@contextmanager
def started_run(
    final_dir: str | os.PathLike, args: dict, device: torch.device
) -> Iterator[RunContext]:
    """Start a run: thread settings, provenance, a temporary directory.

    On success, the peak memory and ``ctx.record`` join the provenance in
    ``provenance.json`` and the directory is published atomically; on any
    error (SIGTERM included) nothing is left behind.

    Parameters
    ----------
    final_dir
        The run directory.
    args
        The run's full arguments, recorded verbatim.
    device
        The torch device.

    Yields
    ------
    ctx
        The run in progress.
    """
    provenance.apply_thread_settings()
    devices.reset_peak_memory(device)
    record = provenance.collect(args, device, devices.device_name(device))
    with rundir.atomic_run_dir(final_dir) as tmp:
        ctx = RunContext(dir=tmp, final_dir=Path(final_dir), device=device,
                         provenance=record)
        yield ctx
        ctx.record.setdefault("process_duration", process_seconds())
        record.update(ctx.record)
        record.update(devices.peak_memory(device))
        rundir.write_json(tmp / "provenance.json", record)
    print(f"results: {final_dir}", flush=True)
