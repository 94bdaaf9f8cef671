"""What the app's windows use of the trainer, in one place: the UI imports the trainer through this module
only (tests/test_architecture.py holds it).

Each name is imported from its module on first use (PEP 562), so that ``from trainer.api import icons_dir``
at start-up costs no more than importing ``trainer.shipped``; nothing here imports Keras.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "EnsembleRule": "trainer.bundle.ensemble_rule",  # the combination rule new cases are read with
    "inspect_dataset": "trainer.data.dataset_check",  # Retrain > Data: what a folder holds, before training
    "IMAGE_EXTENSIONS": "trainer.data.imageio",  # the file dialogs' filter
    "ImageDecodeError": "trainer.errors",
    "TrainerError": "trainer.errors",
    "TrainingCancelled": "trainer.progress",  # the worker: a training job's own cancellation
    "PRESETS": "trainer.presets",  # Retrain > Setup: the recipes
    "PRESET_MOBILENET_ALPHA": "trainer.presets",
    "PRESET_SUMMARIES": "trainer.presets",
    "preset_config": "trainer.presets",
    "import_tensorflow_quietly": "trainer.quiet",  # start-up: TensorFlow in the background, without its noise
    "icons_dir": "trainer.shipped",
    "describe_calibration": "trainer.bundle.calibration",  # About, Metrics: a calibration in words
    "estimate_training": "trainer.training.estimate",  # Retrain > Setup: how long, on this machine
    "architecture_names": "trainer.models.registry",  # Retrain > Setup: the models, in the trainer's order
    "architecture_spec": "trainer.models.registry",  # ... and each one's names
}
# Facade names that differ from the name in their module.
_NAMED_THERE = {"architecture_names": "names", "architecture_spec": "spec"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"trainer.api has no {name!r}; the app's names are: {', '.join(__all__)}")
    value = getattr(importlib.import_module(_WHERE[name]), _NAMED_THERE.get(name, name))
    globals()[name] = value
    return value


def __dir__():
    return __all__
