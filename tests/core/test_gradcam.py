"""Grad-CAM of a model trained on a synthetic 'dark blob' task peaks inside the blob."""

import keras
import numpy as np

from melanoma_desktop.core.gradcam import GradCam
from melanoma_desktop.core.heatmaps import heatmap_from_png, heatmap_png, overlay
from trainer.bundle.io import LoadedBundle
from trainer.models.specs.cnn import build_cnn

from fakes import model_card

RADIUS = 30



def _blob_images(n, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:224, 0:224]
    images, labels, centres = [], [], []
    for i in range(n):
        img = np.ones((224, 224, 3)) * np.array([215, 175, 150]) + rng.normal(0, 6, (224, 224, 3))
        cy, cx = rng.integers(50, 174, 2)
        if i % 2:
            img[(yy - cy) ** 2 + (xx - cx) ** 2 < RADIUS**2] = (50, 30, 25)
        images.append(np.clip(img, 0, 255).astype(np.uint8))
        labels.append(i % 2)
        centres.append((cy, cx))
    return np.stack(images), np.array(labels), centres


def test_cnn_heatmap_peaks_inside_the_blob():
    x, y, centres = _blob_images(64)
    keras.utils.set_random_seed(0)
    model = build_cnn()
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(x.astype("float32"), keras.utils.to_categorical(y, 2), epochs=4, batch_size=16, verbose=0)
    card = model_card()
    test_x, _, test_centres = _blob_images(10, seed=1)
    maps = GradCam(LoadedBundle(None, card, model)).heatmaps(test_x[1::2])
    assert maps.shape == (5, 224, 224) and maps.min() >= 0 and maps.max() <= 1
    inside = 0
    for heatmap, (cy, cx) in zip(maps, test_centres[1::2]):
        py, px = np.unravel_index(heatmap.argmax(), heatmap.shape)
        inside += np.hypot(py - cy, px - cx) < RADIUS
    assert inside >= 4, inside


def test_transfer_model_heatmap_and_png_round_trip(random_backbones):
    from trainer.models.architectures import build_model, load_backbone

    backbone = load_backbone("mobilenetv2", 0.35, random_backbones, allow_download=False)
    model = build_model("mobilenetv2", backbone=backbone)
    card = model_card(name="mobilenetv2", architecture="mobilenetv2", model_part="head")
    image = np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3)).astype(np.uint8)
    heatmap = GradCam(LoadedBundle(None, card, model)).heatmaps(image)[0]
    assert heatmap.shape == (224, 224)
    np.testing.assert_allclose(heatmap_from_png(heatmap_png(heatmap)), heatmap, atol=1 / 255 + 1e-6)
    blended = overlay(image[0], heatmap, 0.5)
    assert blended.shape == (224, 224, 3) and blended.dtype == np.uint8
