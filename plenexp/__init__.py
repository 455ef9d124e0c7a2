"""Shared harness for the plenoptic Portilla-Simoncelli experiments.

Modules are kept import-light on purpose: the task writers and summaries import
nothing heavy, and only the synthesis path pulls in torch and plenoptic.

For notebooks, :func:`load_results` (one grid's summary table, a pandas
DataFrame) and :func:`load_run` (one run's :class:`plenexp.runs.record.RunRecord`)
live in :mod:`plenexp.loaders`; they are imported on first use, so ``import
plenexp`` stays free.
"""

__version__ = "0.1.0"
__all__ = ["load_results", "load_run"]


def __getattr__(name: str):
    # ``plenexp.load_results``/``load_run`` without importing them up front
    if name in __all__:
        from plenexp import loaders

        return getattr(loaders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
