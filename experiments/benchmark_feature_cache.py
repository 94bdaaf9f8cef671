"""Seconds per training epoch of a frozen-backbone model: the naive Keras path (the whole model,
frozen base included, on every augmented batch) against the feature-cache path (base features
computed once per image and augmented copy, then only the head trains).

Not a test: timings on a shared 2-core CPU swing with load, so compare the two numbers of one run.

    python experiments/benchmark_feature_cache.py --data ../shared/data/ham10000 --backbones ../shared/backbones
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--backbones", required=True)
    parser.add_argument("--images", type=int, default=96, help="training images per timed epoch")
    parser.add_argument("--train-images", type=int, default=864, help="paper protocol training images, to extrapolate")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--aug-copies", type=int, default=2)
    args = parser.parse_args()

    import keras
    import numpy as np

    from trainer.data.augment import Augmenter
    from trainer.data.samples import decode_samples, discover
    from trainer.models.architectures import assemble, build_head, feature_extractor, load_backbone
    from trainer.models.features import compute_features
    from trainer.progress import never_stop, no_progress
    from trainer.training.fitting import fit

    ds = discover(args.data)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(ds.samples), args.images + 32, replace=False)
    decoded = decode_samples([ds.samples[i] for i in chosen])
    labels = ds.labels[chosen[decoded.kept]]
    x_train, y_train = decoded.images[: args.images], labels[: args.images]
    x_val, y_val = decoded.images[args.images :], labels[args.images :]
    common = dict(n_classes=2, batch_size=32, learning_rate=1e-3, patience=99, seed=0,
                  on_progress=no_progress, should_stop=never_stop)
    print(f"{args.images} training images per timed epoch; extrapolated to {args.train_images} images x "
          f"{args.epochs} epochs with {args.aug_copies} augmented copies in the cache")
    print("| model | naive s/epoch | cached: features s/image | cached: head s/epoch | "
          "naive, full run (est.) | cached, full run (est.) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for name, alpha in (("vgg16", 1.0), ("mobilenetv2", 0.35)):
        backbone = load_backbone(name, alpha, args.backbones, allow_download=False)
        extractor = feature_extractor(backbone)
        head = build_head(extractor.output_shape[-1])
        model = assemble(extractor, head, name)
        augmenter = Augmenter(0)
        # Naive: two epochs, the second timed (the first includes tracing).
        started = time.perf_counter()
        history = fit(model, name, x_train, y_train, x_val, y_val, epochs=1, augmenter=augmenter, **common)
        first = time.perf_counter() - started
        started = time.perf_counter()
        fit(model, name, x_train, y_train, x_val, y_val, epochs=1, augmenter=augmenter, **common)
        naive_epoch = time.perf_counter() - started
        # Cached: feature time per image (augmentation included), then head epochs on features.
        started = time.perf_counter()
        f_train = compute_features(extractor, x_train, 32, transform=augmenter)
        per_image = (time.perf_counter() - started) / len(x_train)
        f_val = compute_features(extractor, x_val, 32)
        head2 = build_head(extractor.output_shape[-1])
        fit(head2, name, f_train, y_train, f_val, y_val, epochs=1, **common)
        started = time.perf_counter()
        fit(head2, name, f_train, y_train, f_val, y_val, epochs=1, **common)
        head_epoch = time.perf_counter() - started
        scale = args.train_images / args.images
        naive_total = naive_epoch * scale * args.epochs
        cached_total = per_image * args.train_images * (1 + args.aug_copies) + head_epoch * scale * args.epochs
        print(f"| {name} | {naive_epoch:.1f} | {per_image:.3f} | {head_epoch:.2f} | {naive_total / 60:.1f} min | "
              f"{cached_total / 60:.1f} min | {naive_total / cached_total:.1f}x |", flush=True)
        del history, first
        keras.backend.clear_session()


if __name__ == "__main__":
    main()
