"""The paper's custom CNN (Table 1), trained from scratch on pixels."""

from __future__ import annotations

from trainer.errors import ConfigError
from trainer.models.spec import ArchitectureSpec
from trainer.names import CNN_HEADS, INPUT_SHAPE

NAME = "cnn"

# BatchNorm moving-average momentum of the custom CNN. Keras' default (0.99) needs hundreds of
# steps to track the batch statistics; with ~27 steps per epoch (960 images, batch 32) the
# inference-time statistics lag far behind, and validation collapses to one class with an
# exploding val_loss. 0.9 settles within an epoch. The paper's Table 1 does not fix this value.
CNN_BN_MOMENTUM = 0.9


def build_cnn(num_classes: int = 2, input_shape=None, head: str = "flatten"):
    """The paper's Table 1 network, exactly (valid 3x3 convolutions), with ``head="flatten"``.

    ``head="gap"`` (the ``best`` preset) keeps the three convolution blocks and replaces Flatten by
    global average pooling: the paper's Flatten -> Dense(256) holds 22.2 M of its 22.3 M weights
    and learns the lesion's position on 960 images; pooled, the network has 0.13 M weights.
    """
    import keras
    from keras import layers

    from trainer.models.layers import Preprocess

    if head not in CNN_HEADS:
        raise ConfigError(f"unknown CNN head {head!r}; use one of {', '.join(CNN_HEADS)}")
    inputs = keras.Input(input_shape or INPUT_SHAPE, name="image")
    x = Preprocess(SPEC.preprocessing, name="preprocess")(inputs)
    for i, (filters, dropout) in enumerate(((32, None), (64, 0.3), (128, 0.4)), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=CNN_BN_MOMENTUM, name=f"bn{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    x = layers.Flatten(name="flatten")(x) if head == "flatten" else layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dense(256, activation="relu", name="dense")(x)
    x = layers.Dropout(0.5, name="dropout_head")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=NAME)


SPEC = ArchitectureSpec(
    name=NAME,
    short_name="Custom CNN",
    display_name="Custom CNN (paper Table 1)",
    tuned_display_name="Custom CNN (paper's convolutions, pooled head)",
    preprocessing="unit",
    last_conv_layer="conv3",
    paper_accuracy=0.84,
    build=lambda num_classes, variant: build_cnn(num_classes, head=variant or CNN_HEADS[0]),
    variants=CNN_HEADS,
    tuned_variant="gap",
)
