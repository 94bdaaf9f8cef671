"""Training, evaluation and model bundles for the melanoma triage desktop (no Qt here)."""

__version__ = "0.1.0"

# The one copy of the notice every screen, report, card and summary carries (the app imports it from here).
DISCLAIMER = (
    "Research software, not a medical device. Not a diagnosis. "
    "A low score does not rule out melanoma."
)
