"""One way to write a measured number with its 95 % interval, for every screen that shows one (the trainer's
markdown tables use trainer.evaluation.numbers; a clinician's sentence, core.wording.percent_with_range)."""

from __future__ import annotations

from trainer.evaluation.numbers import is_missing as _missing  # one test of "no number", screens and tables


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
