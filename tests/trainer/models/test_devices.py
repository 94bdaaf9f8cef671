"""Device description and determinism follow the Keras backend (TensorFlow here; JAX on a GPU machine)."""

import keras

from trainer.models import devices


def test_describe_device_names_the_cpu_or_gpu():
    text = devices.describe_device()
    assert text.startswith("CPU (") or " GPU: " in text
    if keras.backend.backend() != "tensorflow":
        assert keras.backend.backend() in text


def test_distribution_scope_is_a_context_and_determinism_is_idempotent():
    with devices.distribution_scope():
        pass
    devices.enable_determinism()
    devices.enable_determinism()
