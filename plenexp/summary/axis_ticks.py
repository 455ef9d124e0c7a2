"""Readable axes: log or linear, limits with a margin, enough tick labels.

Used by every summary figure (:mod:`plenexp.summary.facet_grid` and the experiments'
own figures); ``tests/figure_checks.py`` reads labels with
the figure checks of the tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib.ticker as mticker
import numpy as np


def _positive(values: Iterable[float]) -> np.ndarray:
    array = np.asarray([v for v in values if v is not None], dtype=float)
    return array[np.isfinite(array) & (array > 0)]


def use_log(values: Iterable[float], min_ratio: float = 4.0) -> bool:
    """Whether values (all positive) span enough for a log axis to help."""
    array = np.asarray(list(values), dtype=float)
    array = array[np.isfinite(array)]
    if not len(array) or (array <= 0).any():
        return False
    return array.max() / array.min() >= min_ratio


def padded_limits(values: Iterable[float], log: bool) -> tuple[float, float] | None:
    """Axis limits around ``values`` with a 6 % margin (in log space if ``log``)."""
    array = _positive(values) if log else np.asarray(
        [v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if not len(array):
        return None
    low, high = float(array.min()), float(array.max())
    if log:
        low, high = math.log10(low), math.log10(high)
    pad = (high - low) * 0.06 or (abs(high) * 0.05 if high else 0.5)
    if log and high - low < 1e-9:
        pad = 0.05
    low, high = low - pad, high + pad
    return (10**low, 10**high) if log else (low, high)


def bulk_fence(values: Iterable[float], log: bool,
               spread: float = 3.0) -> tuple[float, float]:
    """Where the bulk of ``values`` ends: quartiles -+ ``spread`` x their range.

    On a log axis the quartiles are of log10 values and their range is at
    least half a decade, so a sweep over four decades keeps all of them while
    one run at 1e16 does not. Returns ``(-inf, inf)`` for fewer than 4 values.
    """
    array = _positive(values) if log else np.asarray(
        [v for v in values if v is not None], dtype=float)
    array = array[np.isfinite(array)]
    if len(array) < 4:
        return -math.inf, math.inf
    if log:
        array = np.log10(array)
    q1, q3 = np.percentile(array, [25, 75])
    iqr = max(q3 - q1, 0.5 if log else 0.0)
    if not log and iqr == 0:
        iqr = abs(q3) * 0.5 or 1.0
    low, high = q1 - spread * iqr, q3 + spread * iqr
    return (10**low, 10**high) if log else (low, high)


def bulk_limits(values: Iterable[float], log: bool, extra: Iterable[float] = (),
                spread: float = 3.0) -> tuple[float, float] | None:
    """:func:`padded_limits` of ``values`` and ``extra`` inside :func:`bulk_fence`.

    Values beyond the fence (diverged runs at 1e16) do not set the axis; the
    figure draws them at its edge.
    """
    return padded_limits(_bulk(values, log, extra, spread), log)


def bulk_extent(values: Iterable[float], log: bool, extra: Iterable[float] = (),
                spread: float = 3.0) -> tuple[float, float] | None:
    """The smallest and largest value that :func:`bulk_limits` keeps (no margin)."""
    both = _bulk(values, log, extra, spread)
    if log:
        both = both[both > 0]
    return (float(both.min()), float(both.max())) if len(both) else None


def _bulk(values: Iterable[float], log: bool, extra: Iterable[float],
          spread: float) -> np.ndarray:
    array = np.asarray(list(values), dtype=float)
    low, high = bulk_fence(array, log, spread)
    both = np.concatenate([array, np.asarray(list(extra), dtype=float)])
    return both[np.isfinite(both) & (both >= low) & (both <= high)]


def _plain(value: float, _pos=None) -> str:
    return f"{value:g}"


#: Tick sets of log axes, from sparse to dense (multiples of each decade).
LOG_SUBS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0),
            tuple(range(1, 10)))


def log_ticks(low: float, high: float, subs: Sequence[float]) -> list[float]:
    """``s * 10**k`` for ``s`` in ``subs``, inside ``[low, high]``."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [s * 10.0**k for k in range(first, last + 1) for s in subs
            if low <= s * 10.0**k <= high]


def _spread(ticks: list[float], low: float, high: float) -> float:
    """Smallest gap between ticks, as a fraction of a log axis."""
    span = math.log10(high / low)
    places = [math.log10(t / low) / span for t in ticks]
    return min((b - a for a, b in zip(places, places[1:], strict=False)),
               default=1.0)


def tidy_axis(axis, minimum: int = 2, wanted: int = 3) -> None:
    """Enough tick labels, evenly spread; a log axis too narrow becomes linear.

    Log axes get the first tick set of :data:`LOG_SUBS` that labels at least
    ``wanted`` values, else the richest labelling at least ``minimum``, among
    those whose labels fit the axis (``axis.get_tick_space()``) and are not
    crowded at one end of a decade (800 next to 900). The ticks are then fixed
    (a big grid draws several times faster), so call this after the limits are
    set.
    """
    if axis.get_scale() == "log":
        low, high = sorted(axis.get_view_interval())
        decades = math.log10(high / low) if low > 0 else math.inf
        formatter = (mticker.FuncFormatter(_plain) if decades < 4
                     else mticker.LogFormatterSciNotation())
        axis.set_major_formatter(formatter)
        axis.set_minor_formatter(mticker.NullFormatter())
        room = max(minimum, axis.get_tick_space())
        chosen = None
        if math.isfinite(decades) and decades > 0:
            for subs in LOG_SUBS:
                ticks = log_ticks(low, high, subs)
                if not minimum <= len(ticks) <= room \
                        or _spread(ticks, low, high) < 0.6 / room:
                    continue
                chosen = ticks
                if len(ticks) >= wanted:
                    break
            decade_ticks = log_ticks(low, high, (1.0,))
            if chosen is None and len(decade_ticks) > room:
                # many decades: every second, third ... decade
                stride = math.ceil(len(decade_ticks) / room)
                chosen = decade_ticks[::stride]
        if chosen:
            axis.set_major_locator(mticker.FixedLocator(chosen))
            return
        getattr(axis.axes, f"set_{axis.axis_name}scale")("linear")
        getattr(axis.axes, f"set_{axis.axis_name}lim")(low, high)
    axis.set_major_locator(mticker.MaxNLocator(nbins=4, min_n_ticks=minimum))
    axis.set_major_formatter(mticker.FuncFormatter(_plain))
    _fix_ticks(axis)


def _fix_ticks(axis) -> None:
    low, high = sorted(axis.get_view_interval())
    span = high - low
    locs = [v for v in axis.get_majorticklocs()
            if low - 1e-9 * abs(span) <= v <= high + 1e-9 * abs(span)]
    axis.set_major_locator(mticker.FixedLocator(locs))
