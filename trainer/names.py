"""Names every part of the trainer shares: the models' input size, the CNN's heads, how a data source is named on
a card. Plain
constants (no Keras, nothing else of the trainer), so that the lowest layers (data, models) can use them
without reaching up into the bundle. The architectures' names are the registry's (trainer.models.registry)."""

from __future__ import annotations

from pathlib import Path

IMAGE_SIZE = 224  # every model reads 224 x 224 RGB (trainer.data.imageio resizes to it)
INPUT_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
CNN_HEADS = ("flatten", "gap")  # the paper's Flatten -> Dense, or global average pooling (trainer.models.architectures)


def dataset_name(folder) -> str:
    """How a card names a data source: its folder's name (``ham10000``), never the trainer machine's path."""
    return Path(str(folder)).expanduser().resolve().name
