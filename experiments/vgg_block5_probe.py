"""Head only, or also VGG16's block 5? Adapting the shipped VGG16 to a clinic's half A with its block 5 trained
too (from cached block-4 outputs), against the head-only adapter (core.adaptation), scored on half B.

    python experiments/vgg_block5_probe.py --data ../shared/data/derm7pt --cache runs/embeddings/derm7pt_vgg_block4.npy \\
        --seeds 0 [--epochs 6]

Block-4 outputs (14 x 14 x 512, float16) are computed once for every image and cached. For each seed (the
lesion-grouped halves of experiments/simulated_clinic.halves), block 5 and the head start from the shipped VGG16 and
are trained on half A (a fifth of A's lesions held out for early stopping on its AUC), classes weighted
equally, Adam at a low learning rate. Prints VGG16's AUC on half B: shipped, head-only adapter, block 5 + head.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-5)
    args = parser.parse_args()

    import keras
    from simulated_clinic import halves

    from melanoma_desktop.core.adaptation import auc, choose_penalty
    from melanoma_desktop.core.classifier import load_models
    from trainer.bundle.adapter import fit_adapter
    from trainer.bundle.embedding import head_arrays
    from trainer.data.imageio import load_rgb

    data = Path(args.data)
    rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
    models = load_models()
    vgg = next(b for b in models.loaded if b.name == "vgg16")
    extractor = vgg.model.get_layer("vgg16_features")
    base = next(layer for layer in extractor.layers if isinstance(layer, keras.Model))
    pre = extractor.get_layer("preprocess")
    to_block4 = keras.Model(base.inputs, base.get_layer("block4_pool").output)
    cache = Path(args.cache)
    if cache.is_file():
        block4 = np.load(cache)
    else:
        started, parts = time.perf_counter(), []
        for start in range(0, len(rows), 32):
            images = np.stack([load_rgb(data / "images" / r["image"]) for r in rows[start : start + 32]]).astype("float32")
            parts.append(np.asarray(to_block4.predict_on_batch(pre(images)), dtype=np.float16))
            print(f"block 4: {start + len(images)}/{len(rows)}, {time.perf_counter() - started:.0f} s", flush=True)
        block4 = np.concatenate(parts)
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, block4)
    head = vgg.model.get_layer("head")
    arrays = head_arrays(vgg)

    def block5_model():
        inputs = keras.Input(block4.shape[1:])
        x = inputs
        for name in ("block5_conv1", "block5_conv2", "block5_conv3"):
            source = base.get_layer(name)
            layer = keras.layers.Conv2D.from_config(source.get_config())
            x = layer(x)
            layer.set_weights(source.get_weights())
        x = keras.layers.MaxPooling2D(2)(x)
        features = keras.layers.GlobalAveragePooling2D()(x)
        copy = keras.models.clone_model(head)
        copy.set_weights(head.get_weights())
        return keras.Model(inputs, copy(features)), keras.Model(inputs, features)

    y_all = np.array([r["label"] == "malignant" for r in rows])
    groups_all = np.array([r.get("lesion_id") or r["image"] for r in rows])
    index = {r["image"]: i for i, r in enumerate(rows)}
    for seed in (int(s) for s in args.seeds.split(",")):
        half_a, half_b = halves(rows, seed)
        a = np.array([index[r["image"]] for r in half_a])
        b = np.array([index[r["image"]] for r in half_b])
        trainable, featurizer = block5_model()
        emb_a = np.asarray(featurizer.predict(block4[a].astype("float32"), batch_size=32, verbose=0))
        emb_b = np.asarray(featurizer.predict(block4[b].astype("float32"), batch_size=32, verbose=0))
        shipped_b = arrays.p_positive(emb_b)
        z_a, z_b = arrays.logit(emb_a), arrays.logit(emb_b)
        penalty, _ = choose_penalty(z_a, emb_a, y_all[a], groups_all[a], seed)
        head_only = fit_adapter(z_a, emb_a, y_all[a], penalty).logit(z_b, emb_b)
        rng = np.random.default_rng(seed)
        lesions = np.unique(groups_all[a])
        held = set(rng.permutation(lesions)[: len(lesions) // 5])
        val = np.array([g in held for g in groups_all[a]])
        tr = a[~val]
        weights = {0: len(tr) / (2 * (~y_all[tr]).sum()), 1: len(tr) / (2 * y_all[tr].sum())}
        trainable.compile(optimizer=keras.optimizers.Adam(args.lr), loss="sparse_categorical_crossentropy")
        best, best_auc, started = trainable.get_weights(), auc(y_all[a[val]], trainable.predict(
            block4[a[val]].astype("float32"), verbose=0)[:, 1]), time.perf_counter()
        for epoch in range(args.epochs):
            trainable.fit(block4[tr].astype("float32"), y_all[tr].astype(int), batch_size=16, epochs=1, verbose=0,
                          class_weight=weights, shuffle=True)
            val_auc = auc(y_all[a[val]], trainable.predict(block4[a[val]].astype("float32"), verbose=0)[:, 1])
            print(f"seed {seed} epoch {epoch + 1}: held-out AUC {val_auc:.3f} ({time.perf_counter() - started:.0f} s)",
                  flush=True)
            if val_auc > best_auc:
                best, best_auc = trainable.get_weights(), val_auc
        trainable.set_weights(best)
        tuned_b = trainable.predict(block4[b].astype("float32"), verbose=0)[:, 1]
        print(f"seed {seed}: VGG16 alone on half B: shipped {auc(y_all[b], shipped_b):.3f}, head-only adapter "
              f"{auc(y_all[b], head_only):.3f}, block 5 + head trained {auc(y_all[b], tuned_b):.3f} "
              f"(best held-out AUC {best_auc:.3f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
