"""One way to write a measured number with its 95 % interval, for every screen that shows one."""

from __future__ import annotations

import math


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def with_ci(value, ci=None, pct: bool = True) -> str:
    """'78.8% (73.1–83.5)' (a proportion) or '0.878 (0.834–0.918)' (pct=False); 'n/a' for a missing value and
    no brackets for a missing or partial interval."""
    if _missing(value):
        return "n/a"
    text = f"{value:.1%}" if pct else f"{value:.3f}"
    if ci and len(ci) == 2 and not any(_missing(c) for c in ci):
        low, high = float(ci[0]), float(ci[1])
        text += f" ({low * 100:.1f}–{high * 100:.1f})" if pct else f" ({low:.3f}–{high:.3f})"
    return text
