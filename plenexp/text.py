"""Reading values from text: numbers, natural order, one-line checks.

Tables, task lines and command lines all carry values as text; these are the
one place that decides what reads as a number and how values sort.
"""

from __future__ import annotations

import math
import re

#: Characters that end a line somewhere (shells, disBatch, ``str.splitlines``).
_LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def number(value: object) -> float | None:
    """``value`` as a finite float if it reads as one (``"10"``, ``1e-3``), else None.

    Booleans are not numbers here (a flag column is not a level of 0 and 1),
    nor is text with Python's digit separators (``"1_0"`` is no 10).
    """
    if type(value) is str:  # a table cell, most calls: the checks below skipped
        if "_" in value:
            return None
    elif isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    elif isinstance(value, str) and "_" in value:
        return None
    try:
        result = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def is_finite_number(value: object) -> bool:
    """Whether a table cell holds a finite number (not empty, ``None``, NaN)."""
    return number(value) is not None


def natural_key(text: object) -> tuple:
    """Sort key: numbers by value first, then text in natural order.

    ``"iter-2"`` sorts before ``"iter-10"`` and ``"0.3"`` before ``"2"``.
    """
    value = number(text)
    if value is not None:
        return (0, value, ())
    parts = re.split(r"(\d+(?:\.\d+)?)", str(text))
    return (1, 0.0, tuple((0, float(p), "") if i % 2 else (1, 0.0, p.lower())
                          for i, p in enumerate(parts) if p))


def breaks_line(text: object) -> bool:
    """Whether ``text`` holds a line break or other control character (not tab)."""
    return _LINE_BREAKING.search(str(text)) is not None


def one_line(text: object) -> str:
    """``text`` with its line breaks escaped (a path may hold them)."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")

