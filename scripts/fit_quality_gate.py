"""Fit the feature-distance part of the quality gate on real dermoscopic images and choose its
threshold on held-out ones; writes resources/quality/feature_gate.{npz,json}.

    python scripts/fit_quality_gate.py --data ../shared/data --backbones ../shared/backbones

Fit: MobileNetV2 (alpha 0.35) features of HAM10000 training-release images (what the shipped models
learn from). Threshold: the 99th percentile of distances of ISIC 2017 training images, a different
hospital mix, so that ~99 % of real dermoscopy from elsewhere passes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "resources" / "quality"),
                        help="where the gate's files go (default: the project's resources/quality)")
    parser.add_argument("--n-fit", type=int, default=3000)
    parser.add_argument("--percentile", type=float, default=99.0)
    args = parser.parse_args()

    from melanoma_desktop.core.quality import FeatureDistanceGate, assess_pixels, fit_feature_gate
    from trainer.data.samples import decode_samples, discover
    from trainer.models.architectures import feature_extractor, load_backbone
    from trainer.models.features import compute_features

    backbone = load_backbone("mobilenetv2", 0.35, args.backbones, allow_download=False)
    extractor = feature_extractor(backbone)
    rng = np.random.default_rng(0)

    def features_of(samples):
        decoded = decode_samples(samples)
        return decoded.images, compute_features(extractor, decoded.images, 64)

    ham = [s for s in discover(Path(args.data) / "ham10000").samples if s.source_split == "train"]
    chosen = rng.permutation(len(ham))
    fit_images, fit_feats = features_of([ham[i] for i in chosen[: args.n_fit]])
    held_images, held_feats = features_of([ham[i] for i in chosen[args.n_fit : args.n_fit + 1000]])
    isic = discover(Path(args.data) / "isic2017").samples
    isic_train = [s for s in isic if s.source_split == "train"]
    isic_val = [s for s in isic if s.source_split == "val"]
    t_images, t_feats = features_of(isic_train)
    v_images, v_feats = features_of(isic_val)

    mean, components, scales, residual_scale = fit_feature_gate(fit_feats)
    gate = FeatureDistanceGate(mean, components, scales, residual_scale, 0.0, backbone.sha256)
    threshold = float(np.percentile(gate.distances(t_feats), args.percentile))
    gate.threshold = threshold

    def pass_rate(images, feats):
        far = gate.distances(feats) > threshold
        pixel_bad = np.array([not assess_pixels(im).ok for im in images])
        return 1 - far.mean(), 1 - pixel_bad.mean(), 1 - (far | pixel_bad).mean()

    lines = [f"fitted on {len(fit_feats)} HAM10000 training-release images; threshold {threshold:.3f} = "
             f"{args.percentile:g}th percentile on {len(t_feats)} ISIC 2017 training images"]
    for name, images, feats in (("HAM10000 held-out", held_images, held_feats), ("ISIC 2017 val", v_images, v_feats),
                                ("ISIC 2017 train", t_images, t_feats)):
        f, p, both = pass_rate(images, feats)
        lines.append(f"{name} ({len(feats)}): pass feature gate {f:.1%}, pixel checks {p:.1%}, both {both:.1%}")
    gate.save(Path(args.out), {"alpha": 0.35, "backbone": backbone.card(), "fitted_on": f"{len(fit_feats)} HAM10000 "
                               "training-release images", "threshold_rule": lines[0], "report": lines[1:]})
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
