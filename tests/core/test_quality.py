import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from melanoma_desktop.core.quality import assess_pixels

from synthetic import lesion_image


def _lesion(size=224, seed=0):
    return lesion_image(True, np.random.default_rng(seed), size)


def test_a_plausible_lesion_passes():
    assert assess_pixels(_lesion(), (600, 450)).ok


@pytest.mark.parametrize("make, flag", [
    (lambda: (_lesion() * 0.2).astype(np.uint8), "too dark"),
    (lambda: np.clip(_lesion().astype(int) + 200, 0, 255).astype(np.uint8), "too bright"),
    (lambda: np.asarray(Image.fromarray(_lesion()).filter(ImageFilter.GaussianBlur(6))), "blurred"),
])
def test_bad_exposure_and_blur_are_flagged(make, flag):
    report = assess_pixels(make())
    assert not report.ok and any(flag in f for f in report.flags), report.flags


def test_over_exposure_is_said_once_also_for_cases_saved_with_the_older_flag():
    from melanoma_desktop.core.records import plain_reason

    assert plain_reason("too bright") == plain_reason("too bright / overexposed") == "the image is over-exposed"
    assert plain_reason("too small (12x9 px)") == "the image is too small to assess (12x9 px)"


def test_a_document_is_not_skin():
    page = Image.new("RGB", (224, 224), (245, 245, 245))
    draw = ImageDraw.Draw(page)
    for y in range(20, 210, 14):
        draw.line((15, y, 200, y), fill=(20, 20, 20), width=3)
    report = assess_pixels(np.asarray(page))
    assert "does not look like skin" in report.flags


def test_too_small_original():
    assert "too small" in assess_pixels(_lesion(), (64, 48)).flags[0]


def test_gate_passes_real_isic2017_images(shared_data):
    from trainer.data.samples import decode_samples, discover

    samples = discover(shared_data / "isic2017").samples
    decoded = decode_samples(samples)
    passed = np.mean([assess_pixels(img).ok for img in decoded.images])
    assert passed >= 0.95, passed


def test_feature_gate_passes_real_images_and_flags_noise(shared_data, shared_backbones):
    from pathlib import Path

    from melanoma_desktop.core.quality import FeatureDistanceGate
    from trainer.data.samples import decode_samples, discover

    gate = FeatureDistanceGate.load(Path(__file__).resolve().parents[2] / "resources" / "quality", shared_backbones)
    samples = [s for s in discover(shared_data / "isic2017").samples if s.source_split == "val"]
    images = decode_samples(samples).images
    passed = 1 - np.mean([far for _, far in gate.assess(images)])
    assert passed >= 0.95, passed
    noise = np.random.default_rng(0).integers(0, 256, (4, 224, 224, 3)).astype(np.uint8)
    page = np.full((1, 224, 224, 3), 240, np.uint8)
    page[:, 20:200:14, 15:200] = 10
    assert all(far for _, far in gate.assess(np.concatenate([noise, page])))
