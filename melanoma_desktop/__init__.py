"""Melanoma triage desktop: three models side by side on dermoscopic images (research software)."""

__version__ = "0.1.0"

from trainer import DISCLAIMER  # noqa: E402,F401  (one copy, in the trainer the app builds on)
