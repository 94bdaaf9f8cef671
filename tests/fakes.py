"""A fake classifier for fast UI and core tests: P(malignant) = darkness of the image."""

from __future__ import annotations

import time

import numpy as np

from melanoma_desktop.core.records import ModelInfo, ModelPrediction


class FakeClassifier:
    """Three models that read the same darkness score against different thresholds, so mid-grey
    images make them disagree. ``delay_s`` slows each batch (for cancel tests)."""

    thresholds = {"cnn": 0.25, "vgg16": 0.5, "mobilenetv2": 0.75}  # at 0.5, cnn and mobilenetv2 clearly disagree

    # the combined rule: the plain mean of the three (no calibration), flagged at 0.6
    FLAG_LINE = 0.6
    ensemble_note = site_rule_note = empty_reason = ""
    quality_gate = None  # pixel checks only

    def __init__(self, delay_s: float = 0.0, unavailable: dict[str, str] | None = None, site_models=None):
        self.delay_s = delay_s
        self.unavailable = unavailable or {}
        self.calls = 0
        self.site_models = None
        self.site_models_note = ""
        available = [i for i in self.model_infos() if i.available]
        from trainer.bundle.ensemble_rule import EnsembleRule

        self.ensemble = self.base_ensemble = EnsembleRule.from_dict(
            {"members": {i.name: i.version for i in available}, "threshold": self.FLAG_LINE})
        if site_models is not None:  # as core.classifier.load_models applies a clinic's adapted models
            if site_models.applies_to({i.name: i.version for i in available}):
                self.site_models, self.ensemble = site_models, site_models.rule
            else:
                self.site_models_note = f"made for other model versions ({site_models.version})"

    # What the fake models' heads read: [logit(darkness), mean red, mean green, mean blue] (0-1). Their head
    # gives P(melanoma) = sigmoid(first feature) = the darkness, as predict does.
    @staticmethod
    def embed(images) -> np.ndarray:
        images = np.asarray(images, dtype=float)
        darkness = np.clip(1.0 - images.mean(axis=(1, 2, 3)) / 255.0, 1e-4, 1 - 1e-4)
        return np.column_stack([np.log(darkness / (1 - darkness)), images.mean(axis=(1, 2)) / 255.0])

    def heads(self):
        from trainer.bundle.adapter import HeadArrays

        head = HeadArrays(out_kernel=np.array([[0.0, 1.0], [0, 0], [0, 0], [0, 0]], dtype=np.float32),
                          out_bias=np.zeros(2, dtype=np.float32), positive_index=1,
                          calibration={"method": "temperature", "temperature": 1.0})
        return {i.name: (f"{i.name}-fake-1", head) for i in self.model_infos() if i.available}

    def predict_with_embeddings(self, images):
        predictions = self.predict(images)
        embeddings = self.embed(images)
        return predictions, [{p.name: (f"{p.name}-fake-1", e) for p in row} for row, e in zip(predictions, embeddings)]

    def model_infos(self):
        infos = []
        for name, t in self.thresholds.items():
            if name in self.unavailable:
                infos.append(ModelInfo(name, name.upper(), available=False, reason=self.unavailable[name]))
            else:
                site = getattr(self, "site_models", None)
                version = site.members[name] if site is not None else f"{name}-fake-1"
                infos.append(ModelInfo(name, f"Fake {name}", version=version,
                                       threshold=site.thresholds[name] if site is not None else t,
                                       test_metrics={"accuracy": 0.8, "roc_auc": 0.85, "sensitivity": 0.9}))
        return infos

    def heatmaps(self, image):
        """A Gaussian bump on the darkest region, per model."""
        grey = np.asarray(image, dtype=float).mean(axis=2)
        y, x = np.unravel_index(np.argmin(grey), grey.shape)
        yy, xx = np.mgrid[0 : grey.shape[0], 0 : grey.shape[1]]
        bump = np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 20.0**2)).astype(np.float32)
        return {i.name: (i.version, bump) for i in self.model_infos() if i.available}

    def predict(self, images):
        self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
        darkness = 1.0 - np.asarray(images, dtype=float).mean(axis=(1, 2, 3)) / 255.0
        infos = [info for info in self.model_infos() if info.available]
        if self.site_models is None:
            return [[ModelPrediction(info.name, info.version, float(d), info.threshold) for info in infos]
                    for d in darkness]
        e = self.embed(images)
        p = {i.name: self.site_models.adapters[i.name].p_positive(e[:, 0], e) for i in infos}
        return [[ModelPrediction(i.name, i.version, float(p[i.name][k]), i.threshold) for i in infos]
                for k in range(len(darkness))]


def grey_image(path, level: int, size: int = 32):
    """A flat grey square: decodes, but the quality checks set it aside (no skin, no detail, often small)."""
    from PIL import Image

    Image.new("RGB", (size, size), (level, level, level)).save(path)
    return path


def skin_image(path, darkness: float, size: int = 128, mark: int | None = None):
    """A textured skin-coloured square that passes the pixel checks; the fake models read ``darkness``
    (0.25-0.75) from it, give or take 0.01. ``mark`` (default: from the file name) changes two corner pixels,
    so that two images of the same darkness are still two files with different content."""
    import zlib

    from PIL import Image

    level = (1.0 - darkness) * 255.0
    texture = np.where((np.add.outer(np.arange(size), np.arange(size)) // 2) % 2 == 0, 9.0, -9.0)
    pixels = np.rint(np.stack([np.clip(level * f + texture, 0, 255) for f in (1.2, 0.95, 0.85)], axis=-1))
    mark = zlib.crc32(str(path).encode()) if mark is None else mark
    pixels[0, 0, 0], pixels[0, 1, 0] = mark % 256, (mark // 256) % 256
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def tinted_skin(path, darkness: float, blue: float):
    """A skin-coloured square of a given darkness with a blue tint: this clinic's melanomas look bluer through
    its camera, which the fake models' shipped head does not read (it reads darkness) and an adapter can."""
    from PIL import Image

    level = (1.0 - darkness) * 255.0
    size = 128
    texture = np.where((np.add.outer(np.arange(size), np.arange(size)) // 2) % 2 == 0, 9.0, -9.0)
    factors = (1.2, 0.95 - blue / 2, 0.85 + blue)
    pixels = np.rint(np.stack([np.clip(level * f + texture, 0, 255) for f in factors], axis=-1))
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def document_photo(path, size=(400, 300)):
    """A photo of a typed letter: white paper, dark lines of text. Not skin."""
    from PIL import Image

    w, h = size
    page = np.full((h, w, 3), 238, np.uint8)
    for y in range(30, h - 30, 18):
        for x0 in range(30, w - 60, 50):
            page[y : y + 7, x0 : x0 + 38] = 30
    Image.fromarray(page).save(path)
    return path


def model_card(**changes):
    """A valid ModelCard of a small full CNN; ``changes`` replace its card.json fields."""
    from trainer.bundle.model_card import ModelCard

    card = {"schema_version": 1, "name": "cnn", "architecture": "cnn", "version": "cnn-test-1",
            "class_names": ["benign", "malignant"], "positive_class": "malignant", "preprocessing": {"mode": "unit"},
            "model_file": "model.keras", "model_part": "full", "model_sha256": "0" * 64, "threshold": 0.5,
            "calibration": {"method": "temperature", "temperature": 1.0}, "training": {}, "metrics": {},
            "created_at": "2026-12-01T00:00:00+00:00"}
    card.update(changes)
    if card["model_part"] != "full" and "backbone" not in card:
        card["backbone"] = {"name": card["architecture"]}
    return ModelCard.from_dict(card)


class FakeTrainer:
    """Stands in for the training child process in the wizard's tests: "trains" by copying a finished run of
    real tiny bundles (``source``: a run folder) into the configured output, each model under a new version,
    with the progress events the trainer sends. ``until_cancelled``: keep sending epochs until asked to stop,
    then end as a cancelled run does (nothing written)."""

    def __init__(self, source, until_cancelled: bool = False):
        from pathlib import Path

        self.source, self.until_cancelled, self.runs = Path(source), until_cancelled, 0

    def __call__(self, config, should_stop, on_progress):
        import json
        import shutil
        from pathlib import Path

        from trainer.bundle.cards import ENSEMBLE_FILE, read_card, write_card
        from trainer.progress import ProgressEvent, TrainingCancelled
        from trainer.training.rundir import SPLIT_FILE, read_run_result

        self.runs += 1
        out = Path(config.out)
        epoch = 0
        while True:
            for name in config.models:
                epoch += 1
                on_progress(ProgressEvent("train", name, step=1, steps=2, epoch=1, epochs=2, eta_s=1.0))
                on_progress(ProgressEvent("epoch", name, message=f"[{name}] epoch {epoch}",
                                          logs={"loss": 1.0 / epoch, "val_loss": 1.2 / epoch}))
            if should_stop():
                raise TrainingCancelled("training was cancelled")
            if not self.until_cancelled:
                break
            time.sleep(0.01)  # the fake child's pace; the test waits on signals
        out.mkdir(parents=True, exist_ok=True)
        versions = {}
        for name in config.models:
            shutil.copytree(self.source / name, out / name)
            card = read_card(out / name)
            versions[name] = f"{card.version}-run{self.runs}"
            write_card(out / name, card.replace(version=versions[name]))
        shutil.copy2(self.source / SPLIT_FILE, out / SPLIT_FILE)
        rule = json.loads((self.source / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        if set(rule["members"]) <= set(versions):
            rule["members"] = {n: versions[n] for n in rule["members"]}
            (out / ENSEMBLE_FILE).write_text(json.dumps(rule), encoding="utf-8")
        on_progress(ProgressEvent("done", message="fake training finished"))
        return read_run_result(out, config.models)
