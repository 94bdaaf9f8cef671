"""The names every part of the trainer shares: which models there are, the CNN's heads, how a data source is
named on a card. Plain constants and checks (no Keras, nothing else of the trainer but its errors), so that
the lowest layers (data, models) can use them without reaching up into the bundle."""

from __future__ import annotations

from pathlib import Path

from trainer.errors import ConfigError

ARCHITECTURES = ("cnn", "vgg16", "mobilenetv2")  # the trainer's order: how the models are listed everywhere
CNN_HEADS = ("flatten", "gap")  # the paper's Flatten -> Dense, or global average pooling (trainer.models.architectures)


def check_architecture(name: str) -> str:
    if name not in ARCHITECTURES:
        raise ConfigError(f"unknown model {name!r}; use one or more of {', '.join(ARCHITECTURES)}")
    return name


def dataset_name(folder) -> str:
    """How a card names a data source: its folder's name (``ham10000``), never the trainer machine's path."""
    return Path(str(folder)).expanduser().resolve().name
