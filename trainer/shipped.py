"""Where the files that ship with the program live: model bundles, backbones, quality gate, icons.

One answer for every way the program runs:

* the PyInstaller bundle: ``sys._MEIPASS/resources``;
* an installed package (``pip install .``, a wheel, ``pip install -e .``): the data package
  ``melanoma_resources``, which ``pyproject.toml`` maps onto the project's top-level ``resources/``
  folder, found through :mod:`importlib.resources`;
* a plain checkout that was never installed (``python -m melanoma_desktop`` from the source tree):
  ``resources/`` beside this package.

No TensorFlow and no Qt here: the window asks for these paths before Keras is imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

RESOURCE_PACKAGE = "melanoma_resources"


def resources_dir() -> Path:
    """The folder holding ``models/``, ``backbones/``, ``quality/`` and ``icons/``."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    try:
        from importlib.resources import files

        root = Path(str(files(RESOURCE_PACKAGE)))
        if (root / "models").is_dir():
            return root
    except (ModuleNotFoundError, TypeError):  # not installed, or a namespace without a single folder
        pass
    return Path(__file__).resolve().parents[1] / "resources"


def shipped_models_dir() -> Path:
    return resources_dir() / "models"


def shipped_backbones_dir() -> Path:
    return resources_dir() / "backbones"


def quality_gate_dir() -> Path:
    return resources_dir() / "quality"


def icons_dir() -> Path:
    return resources_dir() / "icons"
