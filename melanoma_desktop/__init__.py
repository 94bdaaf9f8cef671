"""Melanoma triage desktop: three models side by side on dermoscopic images (research software)."""

__version__ = "0.1.0"

DISCLAIMER = (
    "Research software, not a medical device. Not a diagnosis. "
    "A low score does not rule out melanoma."
)
