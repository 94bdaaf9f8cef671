"""Exception classes of the trainer.

Each message says what was received and what to do about it, so that the command line can print
it as one line and the desktop app can show it in a dialog without a traceback.
"""

from __future__ import annotations


class TrainerError(Exception):
    """Base class for every error the trainer raises on purpose."""


class DatasetLayoutError(TrainerError):
    """A data folder matches none of the layouts the trainer reads."""


class DatasetTooSmallError(TrainerError):
    """A dataset has a single class, or too few images per class to split."""


class ImageDecodeError(TrainerError):
    """One image file could not be decoded into RGB pixels."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read image {self.path}: {reason}")


class BackboneWeightsError(TrainerError):
    """ImageNet weights for a transfer-learning backbone could not be found or do not match."""


class BundleError(TrainerError):
    """A model bundle is missing, malformed, or fails one of its checksums."""


class ConfigError(TrainerError):
    """A training option has a value the trainer cannot use."""
