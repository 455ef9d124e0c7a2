"""Where outputs go: one root, then ``<experiment>/<grid>/<run-name>/``."""

from __future__ import annotations

import os
from pathlib import Path

from plenexp.errors import check_one_line

OUTPUT_ROOT_ENV = "PLENEXP_OUTPUT_ROOT"
DEFAULT_OUTPUT_ROOT = "./outputs"
#: Arguments that say where a run goes or whether figures are drawn, not
#: what it computes: left out of an ad hoc run's name and of result tables.
NOT_RESULT_ARGS = frozenset({"output_dir", "output_path", "output_root", "no_plots",
                             "force"})

#: The repository checkout this package lives in (used for script paths).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: The file that makes a folder of the repository an experiment.
EXPERIMENT_MARKER = "write_disbatch.py"


def output_root(cli_value: str | os.PathLike | None = None) -> Path:
    """Resolve the output root.

    Parameters
    ----------
    cli_value
        The ``--output-root`` argument, if given.

    Returns
    -------
    root
        ``cli_value``, else ``$PLENEXP_OUTPUT_ROOT``, else ``./outputs``.

    Raises
    ------
    UsageError
        If the root holds a line break or other control character: it would
        break every task line and log naming it.
    """
    value = cli_value or os.environ.get(OUTPUT_ROOT_ENV) or DEFAULT_OUTPUT_ROOT
    check_one_line(value, "the output root (every task line and log names it)")
    return Path(value)


def grid_dir(root: Path, experiment: str, grid: str) -> Path:
    """Directory holding every run of one grid of one experiment."""
    return Path(root) / experiment / grid


def run_log(run_dir: Path) -> Path:
    """The log file kept beside (not inside) a run directory."""
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + ".log")


def script(experiment: str, name: str) -> Path:
    """Absolute path of an experiment's script in this checkout."""
    return REPO_ROOT / experiment / name


def experiments() -> list[str]:
    """Names of the experiments this checkout has, in name order.

    An experiment is a folder at the top of the repository that is a package
    (``__init__.py``) with a task writer (:data:`EXPERIMENT_MARKER`).
    """
    return sorted(p.parent.name for p in REPO_ROOT.glob(f"*/{EXPERIMENT_MARKER}")
                  if (p.parent / "__init__.py").is_file())
