"""Training, evaluation and model bundles for the melanoma triage desktop (no Qt here)."""

__version__ = "0.1.0"
