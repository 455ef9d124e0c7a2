"""Device specs checked without importing torch (task writers stay fast)."""

from __future__ import annotations

import re

from .cli import UsageError


def normalize_device(spec: str | int) -> str:
    """Check a ``--device`` value and give its canonical form.

    ``cpu``, ``cuda`` and ``cuda:N`` are kept; a bare index ``N`` becomes
    ``cuda:N``. Availability is checked where the run happens.
    """
    text = str(spec).strip().lower()
    if text.isdigit():
        return f"cuda:{text}"
    if text in ("cpu", "cuda") or re.fullmatch(r"cuda:\d+", text):
        return text
    raise UsageError(f"unknown device {spec!r}: expected cpu, cuda, cuda:N or N")
