"""The bundles shipped in resources/models: size, integrity, calibrated probabilities and thresholds."""

import json
import subprocess
import sys

import numpy as np
import pytest

from melanoma_desktop.core.classifier import shipped_models_dir
from trainer.bundle.cards import find_bundles, read_card, read_ensemble

SHIPPED = shipped_models_dir()
pytestmark = pytest.mark.skipif(not find_bundles(SHIPPED), reason="no bundles shipped in resources/models")


def test_shipped_models_fit_the_size_budget_and_have_their_ensemble():
    total = sum(f.stat().st_size for f in SHIPPED.rglob("*") if f.is_file())
    assert total <= 60e6, f"resources/models holds {total / 1e6:.1f} MB (budget 60 MB)"
    cards = {read_card(b).name: read_card(b) for b in find_bundles(SHIPPED)}
    assert set(cards) == {"cnn", "vgg16", "mobilenetv2"}
    for card in cards.values():
        assert 0 < card.threshold < 1 and card.calibration["method"] in ("temperature", "logistic")
        assert card.calibration["fitted_on"] == "validation split"
        assert card.metrics["test"]["sensitivity"] is not None
    ensemble = read_ensemble(SHIPPED)
    assert ensemble is not None and ensemble.members == {n: c.version for n, c in cards.items()}
    assert ensemble.calibration["fitted_on"] == "validation split"


def test_triage_json_uses_calibrated_probabilities_and_card_thresholds(shared_data, shared_backbones):
    from trainer.bundle.calibration import apply_calibration, calibrate_p_positive
    from trainer.bundle.io import load_bundle
    from trainer.data.samples import decode_samples, discover

    samples = discover(shared_data / "ham10000").samples[:3]
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--json", "--backbones",
                           str(shared_backbones), *[str(s.path) for s in samples]],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    images = decode_samples(samples).images
    for bundle_dir in find_bundles(SHIPPED):
        bundle = load_bundle(bundle_dir, shared_backbones)
        raw = np.asarray(bundle.model.predict_on_batch(images.astype("float32")))
        calibrated = apply_calibration(raw, bundle.calibration)[:, bundle.class_names.index("malignant")]
        for line, expected in zip(lines, calibrated):
            got = next(m for m in line["models"] if m["name"] == bundle.name)
            assert got["threshold"] == pytest.approx(bundle.threshold)
            assert got["p_malignant"] == pytest.approx(float(expected), abs=1e-4)
    ensemble = read_ensemble(SHIPPED)
    assert all(line["flag_line"] == pytest.approx(ensemble.threshold) for line in lines if line["assessable"])
    for line in lines:  # the combined risk: the members' mean through the shipped ensemble calibration
        mean = np.mean([m["p_malignant"] for m in line["models"]])
        expected = calibrate_p_positive(mean, ensemble.calibration)[0] if ensemble.calibration else mean
        assert line["consensus"]["risk"] == pytest.approx(expected, abs=1e-5)
        assert line["risk"] == (line["consensus"]["risk"] if line["assessable"] else None)


def _fresh_user_env(tmp_path) -> dict:
    """A new user's shell: no MELANOMA_* setting, an empty home (no Keras cache), the default log level."""
    env = {k: v for k, v in __import__("os").environ.items()
           if not k.startswith("MELANOMA_") and k not in ("KERAS_HOME", "TF_CPP_MIN_LOG_LEVEL")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return dict(env, HOME=str(home), XDG_DATA_HOME=str(home / "share"), XDG_CONFIG_HOME=str(home / "config"))


def test_out_of_the_box_all_three_models_classify_and_the_self_test_passes(tmp_path):
    from PIL import Image

    from trainer.evaluation.probes import probe_images

    image = tmp_path / "lesion.png"
    Image.fromarray(probe_images()["skin_dark_irregular"]).save(image)
    env = _fresh_user_env(tmp_path)
    triage = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--json", str(image)],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert triage.returncode == 0 and triage.stderr == "", triage.stderr
    line = json.loads(triage.stdout)
    assert [m["name"] for m in line["models"]] == ["cnn", "vgg16", "mobilenetv2"]
    selftest = subprocess.run([sys.executable, "-m", "melanoma_desktop", "--self-test"],
                              capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "FAIL" not in selftest.stdout and selftest.stdout.count("PASS  ") >= 12
    assert "PASS  backbone of vgg16" in selftest.stdout and "PASS  image-quality gate" in selftest.stdout


def test_shipped_cards_name_their_data_sets_not_the_trainer_machines_paths():
    for bundle in find_bundles(SHIPPED):
        training = read_card(bundle).training
        for source in [training["data"], *[e["data"] for e in training.get("extra_data") or []]]:
            assert "/" not in source and "\\" not in source, f"{bundle.name}: {source}"
