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
    # ASCII digits only ("²".isdigit() is true); "cuda:00" is "cuda:0"
    match = re.fullmatch(r"(?:cuda:)?([0-9]{1,4})", text, flags=re.ASCII)
    if match:
        return f"cuda:{int(match[1])}"
    if text in ("cpu", "cuda"):
        return text
    raise UsageError(f"unknown device {spec!r}: expected cpu, cuda, cuda:N or N")
