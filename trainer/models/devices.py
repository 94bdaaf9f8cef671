"""Which device trains: the GPU when the Keras backend sees one (several through TensorFlow's
MirroredStrategy), otherwise the CPU. Recorded in every card.

The trainer is plain Keras 3 and runs on the TensorFlow backend (the default, what the app uses) or
on JAX (``KERAS_BACKEND=jax``, e.g. a GPU machine without TensorFlow); bundles are the same either way.
"""

from __future__ import annotations

import contextlib
import os
import platform

_determinism_enabled = False


def _backend() -> str:
    import keras

    return keras.backend.backend()


def gpus() -> list:
    if _backend() == "jax":
        import jax

        return [d for d in jax.devices() if d.platform == "gpu"]
    import tensorflow as tf

    return tf.config.list_physical_devices("GPU")


def _gpu_name(gpu) -> str:
    if _backend() == "jax":
        return getattr(gpu, "device_kind", str(gpu))
    import tensorflow as tf

    try:
        return tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
    except Exception:  # details are optional
        return gpu.name


def describe_device() -> str:
    found = gpus()
    suffix = "" if _backend() == "tensorflow" else f", Keras backend {_backend()}"
    if not found:
        return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} logical cores{suffix})"
    return f"{len(found)} GPU: " + ", ".join(_gpu_name(g) for g in found) + suffix


def distribution_scope():
    """MirroredStrategy's scope when TensorFlow sees several GPUs, else a no-op context."""
    if _backend() == "tensorflow" and len(gpus()) > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def enable_determinism() -> None:
    """Deterministic TensorFlow ops (same seed, same result); enabled once per process.
    (JAX is deterministic for a seed on the CPU; on a GPU up to reduction order.)"""
    global _determinism_enabled
    if not _determinism_enabled and _backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    _determinism_enabled = True
