"""Every installed model's embedding and calibrated P(melanoma) of a labelled folder, saved to one .npz (for the
adaptation experiments: experiments/adaptation_probe.py reads it).

    python experiments/embed_folder.py --data ../shared/data/derm7pt --out runs/embeddings/derm7pt.npz [--limit N]

The .npz holds ``image``, ``label`` (1 = melanoma), ``group`` (lesion_id, else the image), and per model
``<name>/embedding`` (float16, as the app stores them), ``<name>/p`` and ``<name>/version``.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="a folder with labels.csv and images/")
    parser.add_argument("--out", required=True)
    parser.add_argument("--models", help="bundles folder (default: the shipped models)")
    parser.add_argument("--backbones")
    parser.add_argument("--limit", type=int, default=0, help="the first N rows only (smoke tests)")
    parser.add_argument("--source-split", help="only rows whose source_split is this")
    parser.add_argument("--sample", type=int, default=0, help="a random sample of N rows, stratified by label")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from melanoma_desktop.core.classifier import load_models
    from trainer.data.imageio import load_rgb

    data = Path(args.data)
    rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
    if args.source_split:
        rows = [r for r in rows if r.get("source_split") == args.source_split]
    if args.sample:
        rng = np.random.default_rng(args.seed)
        share = args.sample / len(rows)
        picked = []
        for label in sorted({r["label"] for r in rows}):
            of_label = [r for r in rows if r["label"] == label]
            picked += [of_label[i] for i in rng.permutation(len(of_label))[: round(share * len(of_label))]]
        rows = picked
    if args.limit:
        rows = rows[: args.limit]
    models = load_models(args.models, args.backbones)
    if not models.loaded:
        print("no model loaded", file=sys.stderr)
        return 1
    out = {"image": np.array([r["image"] for r in rows]),
           "label": np.array([r["label"] == "malignant" for r in rows], dtype=np.int8),
           "group": np.array([r.get("lesion_id") or r["image"] for r in rows])}
    started = time.perf_counter()
    chunks: dict[str, list] = {}
    for start in range(0, len(rows), 32):
        images = np.stack([load_rgb(data / "images" / r["image"]) for r in rows[start : start + 32]])
        for bundle in models.loaded:
            probs, embeddings = bundle.predict_with_embeddings(images)
            chunks.setdefault(f"{bundle.name}/p", []).append(probs[:, bundle.card.positive_index])
            chunks.setdefault(f"{bundle.name}/embedding", []).append(embeddings.astype(np.float16))
        print(f"{min(start + 32, len(rows))}/{len(rows)} images, {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)
    for key, parts in chunks.items():
        out[key] = np.concatenate(parts)
    for bundle in models.loaded:
        out[f"{bundle.name}/version"] = np.array(bundle.version)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **out)
    print(f"wrote {args.out}: {len(rows)} images, {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
