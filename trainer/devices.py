"""Which device trains: the GPU when TensorFlow sees one, several through MirroredStrategy,
otherwise the CPU. Recorded in every card."""

from __future__ import annotations

import contextlib
import os
import platform

_determinism_enabled = False


def gpus() -> list:
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def describe_device() -> str:
    found = gpus()
    if not found:
        return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} logical cores)"
    import tensorflow as tf

    names = []
    for gpu in found:
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
        except Exception:  # details are optional
            names.append(gpu.name)
    return f"{len(found)} GPU: " + ", ".join(names)


def distribution_scope():
    """MirroredStrategy's scope when there are several GPUs, else a no-op context."""
    if len(gpus()) > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def enable_determinism() -> None:
    """Deterministic TensorFlow ops (same seed, same result); enabled once per process."""
    global _determinism_enabled
    if not _determinism_enabled:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
        _determinism_enabled = True
