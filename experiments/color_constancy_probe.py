"""Does shades-of-gray colour constancy help frozen MobileNetV2 features carry across hospitals?

A quick experiment before building it into the models: a logistic-regression probe on frozen, pooled
MobileNetV2 (alpha 0.35) ImageNet features, with and without per-image shades-of-gray colour constancy
(Finlayson & Trezzi 2004, Minkowski p = 6; used by several ISIC challenge entries), trained on one source
and scored on the others:

* HAM10000 training release -> HAM10000's ISIC 2018 test images, ISIC 2017 validation, ISIC 2017 all
* ISIC 2017 train -> ISIC 2017 validation

Prints each AUC and the paired bootstrap interval of the difference (with - without).

    python experiments/color_constancy_probe.py --data ../shared/data --backbones ../shared/backbones
"""

from __future__ import annotations

import argparse
import csv
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np


def shades_of_gray(images: np.ndarray, power: float = 6.0) -> np.ndarray:
    """Per image: divide each channel by its Minkowski-p mean, so the estimated illuminant becomes grey."""
    x = images.astype(np.float32)
    illuminant = np.power(np.mean(np.power(x, power), axis=(1, 2), keepdims=True), 1.0 / power)
    illuminant = illuminant / np.sqrt(np.sum(illuminant ** 2, axis=-1, keepdims=True))
    return np.clip(x / (illuminant * np.sqrt(3.0)), 0, 255)


def read_rows(folder: Path) -> list[dict]:
    with open(folder / "labels.csv", newline="") as fh:
        return [dict(row, path=str(folder / "images" / row["image"])) for row in csv.DictReader(fh)]


def features(paths: list[str], model, preprocess, colour_constancy: bool, batch: int = 64) -> np.ndarray:
    from trainer.data.imageio import load_rgb

    out = []
    with ThreadPoolExecutor(2) as pool:
        for start in range(0, len(paths), batch):
            images = np.stack(list(pool.map(load_rgb, paths[start:start + batch]))).astype(np.float32)
            if colour_constancy:
                images = shades_of_gray(images)
            out.append(model.predict_on_batch(preprocess(images)))
    return np.concatenate(out)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder holding ham10000/ and isic2017/")
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--bootstrap", type=int, default=2000)
    args = parser.parse_args(argv)

    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    base = keras.applications.MobileNetV2(
        alpha=0.35, include_top=False, pooling="avg", input_shape=(224, 224, 3),
        weights=str(Path(args.backbones) / "mobilenet_v2_0.35_224_imagenet_notop.h5"))
    preprocess = keras.applications.mobilenet_v2.preprocess_input
    ham, isic = read_rows(Path(args.data) / "ham10000"), read_rows(Path(args.data) / "isic2017")
    rows = ham + isic
    y = np.array([r["label"] == "malignant" for r in rows], dtype=int)
    source = np.array([("ham-" if "lesion_id" in r else "isic-") + r["source_split"] for r in rows])
    paths = [r["path"] for r in rows]

    scores: dict[str, dict[bool, np.ndarray]] = {}
    tasks = {"HAM train -> HAM 2018 test": ("ham-train", ["ham-test"]),
             "HAM train -> ISIC 2017 val": ("ham-train", ["isic-val"]),
             "HAM train -> ISIC 2017 all": ("ham-train", ["isic-train", "isic-val"]),
             "ISIC 2017 train -> ISIC 2017 val": ("isic-train", ["isic-val"])}
    for cc in (False, True):
        started = time.time()
        x = features(paths, base, preprocess, cc)
        print(f"features {'with' if cc else 'without'} colour constancy: {x.shape} in {time.time() - started:.0f} s",
              flush=True)
        for name, (train, tests) in tasks.items():
            fit = source == train
            probe = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, class_weight="balanced",
                                                                       max_iter=2000))
            probe.fit(x[fit], y[fit])
            test = np.isin(source, tests)
            scores.setdefault(name, {})[cc] = (probe.predict_proba(x[test])[:, 1], y[test])

    rng = np.random.default_rng(0)
    for name, by_cc in scores.items():
        (p0, yt), (p1, _) = by_cc[False], by_cc[True]
        a0, a1 = roc_auc_score(yt, p0), roc_auc_score(yt, p1)
        diffs = []
        for _ in range(args.bootstrap):
            i = rng.integers(0, len(yt), len(yt))
            if yt[i].min() == yt[i].max():
                continue
            diffs.append(roc_auc_score(yt[i], p1[i]) - roc_auc_score(yt[i], p0[i]))
        lo, hi = np.percentile(diffs, [2.5, 97.5])
        print(f"{name} (n={len(yt)}, {yt.sum()} melanomas): AUC without {a0:.3f}, with {a1:.3f}, "
              f"difference {a1 - a0:+.3f} ({lo:+.3f}..{hi:+.3f})", flush=True)


if __name__ == "__main__":
    main()
