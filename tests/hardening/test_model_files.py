"""Model files: refused when malformed, tampered or unsafe; nothing is unpickled."""

import json
import shutil

import keras
import numpy as np
import pytest

from trainer.bundle.io import load_bundle
from trainer.errors import BundleError


def test_lambda_layer_model_is_refused_by_safe_mode(tiny_bundles, tmp_path):
    models_dir, _, _ = tiny_bundles
    bundle = tmp_path / "cnn"
    shutil.copytree(models_dir / "cnn", bundle)
    inputs = keras.Input((224, 224, 3))
    outputs = keras.layers.Lambda(lambda x: x[:, 0, 0, :2])(inputs)  # arbitrary code in a model file
    path = bundle / "model.keras"
    keras.Model(inputs, outputs).save(path)
    from trainer.models.backbones import sha256_file

    card = json.loads((bundle / "card.json").read_text())
    card["model_sha256"] = sha256_file(path)
    (bundle / "card.json").write_text(json.dumps(card))
    with pytest.raises(BundleError, match="could not be loaded"):
        load_bundle(bundle)


def test_weights_npz_with_pickled_objects_is_refused(tiny_bundles, tmp_path):
    from trainer.bundle.io import export_bundle
    from trainer.models.backbones import sha256_file

    models_dir, _, _ = tiny_bundles
    export_bundle(models_dir / "cnn", tmp_path / "cnn16", float16=True)
    bundle = tmp_path / "cnn16"
    np.savez(bundle / "weights.npz", w000=np.array([{"evil": 1}], dtype=object))
    card = json.loads((bundle / "card.json").read_text())
    card["model_sha256"] = sha256_file(bundle / "weights.npz")
    (bundle / "card.json").write_text(json.dumps(card))
    with pytest.raises(BundleError, match="could not be loaded"):
        load_bundle(bundle)
