"""How the trainer's markdown tables write a measured number: "78.8", "78.8 (73.1-83.5)", "0.878 (0.834-0.918)",
"n/a" for a missing one. (The app's screens write theirs with melanoma_desktop.core.numbers.)"""

from __future__ import annotations

import math


def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def table_number(value, scale: float = 100, digits: int = 1) -> str:
    """A proportion as a percentage without the sign (scale 100), or a score such as an AUC (scale 1, 3 digits)."""
    return "n/a" if is_missing(value) else f"{scale * value:.{digits}f}"


def table_with_ci(value, ci, scale: float = 100, digits: int = 1) -> str:
    """The number and its 95 % interval in brackets; no brackets when the interval is missing."""
    text = table_number(value, scale, digits)
    if text != "n/a" and ci and len(ci) == 2 and not any(is_missing(c) for c in ci):
        text += f" ({scale * ci[0]:.{digits}f}-{scale * ci[1]:.{digits}f})"
    return text
