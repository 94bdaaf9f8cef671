"""Refit a bundle folder's combination rule (member weights, calibration, flag line) on the validation parts of
a multi-source run, and score the old and the new rule on its test parts, source by source.

    python experiments/refit_shipped_rule.py --models resources/models --split runs/sources/all/split.csv \
        --exclude-trained ../shared/data/isic2017:train --out runs/shipped-rule

The multi-source run's split (``split.csv`` with a ``source`` column) says which images are validation and
which test. Images the bundles were trained on must not be scored: ``--exclude-trained DIR:SOURCE_SPLIT``
drops the rows of DIR/labels.csv with that source_split (the shipped VGG16 and MobileNetV2 learned from ISIC
2017's training release), and the split's first source must be split as the bundles' own run was (the same
seed and protocol: trainer.data.sources keeps it so). Writes ``OUT`` as a run folder (copies of the bundles,
``predictions.csv``, ``ensemble.json``) and ``OUT/comparison.json``; ``trainer export`` is not needed: the
refitted ``ensemble.json`` names the same model versions.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _trained_paths(specs) -> set[str]:
    from trainer.data.samples import discover, only_source_split

    out = set()
    for spec in specs:
        folder, _, part = spec.partition(":")
        out |= {str(Path(s.path).resolve()) for s in only_source_split(discover(folder), part or None).samples}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True)
    parser.add_argument("--split", required=True, help="a multi-source run's split.csv")
    parser.add_argument("--exclude-trained", action="append", default=[], metavar="DIR:SOURCE_SPLIT")
    parser.add_argument("--backbones")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import numpy as np

    from trainer.bundle.calibration import model_half_point
    from trainer.bundle.cards import ENSEMBLE_FILE, PREDICTIONS_FILE, find_bundles, read_ensemble
    from trainer.bundle.io import load_bundle
    from trainer.data.samples import Sample, decode_samples
    from trainer.experiments.loso import _metrics
    from trainer.training.ensemble import ensemble_probability, fit_ensemble

    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    trained = _trained_paths(args.exclude_trained)
    with open(args.split, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] in ("val", "test")
                and str(Path(r["path"]).resolve()) not in trained]
    shutil.copy2(args.split, out / "split.csv")
    decoded = decode_samples([Sample(Path(r["path"]), r["label"]) for r in rows])
    rows = [rows[i] for i in decoded.kept]
    y = np.array([r["label"] == "malignant" for r in rows], dtype=int)
    p = {}
    for bundle_dir in find_bundles(args.models):
        bundle = load_bundle(bundle_dir, args.backbones)
        name = bundle.card.name
        p[name] = bundle.predict_proba(decoded.images, batch_size=32)[:, bundle.class_names.index("malignant")]
        shutil.copytree(bundle_dir, out / name)
        print(f"{name}: {len(rows)} images", flush=True)
    with open(out / PREDICTIONS_FILE, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "split", "path", "label", "p_malignant"])
        for name, values in p.items():
            writer.writerows([name, r["split"], r["path"], r["label"], f"{float(v):.9g}"] for r, v in zip(rows, values))
    old = read_ensemble(args.models)
    (out / "config.json").write_text(json.dumps({"calibration": old.calibration["method"], "class_weight": True}),
                                     encoding="utf-8")
    new = fit_ensemble(out)
    new_rule = read_ensemble(out)
    comparison = {"n_val": int(sum(r["split"] == "val" for r in rows)), "rules": {}}
    for label, rule in (("shipped", old), ("refitted", new_rule)):
        risk = ensemble_probability(rule.combine(p), rule)
        half = model_half_point(rule.calibration or {})
        block = {}
        for part in ("val", "test"):
            for source in sorted({r["source"] for r in rows}):
                keep = np.array([r["split"] == part and r["source"] == source for r in rows])
                if keep.any() and len(set(y[keep])) == 2:
                    block[f"{part}:{source}"] = _metrics(y[keep], risk[keep], float(rule.threshold), half)
            keep = np.array([r["split"] == part for r in rows])
            block[f"{part}:all"] = _metrics(y[keep], risk[keep], float(rule.threshold), half)
        comparison["rules"][label] = {"weights": rule.weights, "threshold": rule.threshold, "scores": block}
    (out / "comparison.json").write_text(json.dumps(comparison, indent=2, default=float), encoding="utf-8")
    for label, block in comparison["rules"].items():
        print(label, block["weights"], f"line {block['threshold']:.3f}")
        for key, m in block["scores"].items():
            print(f"  {key:18s} n={m['melanomas']}/{m['others']} AUC {m['roc_auc']:.3f} sens {m['sensitivity']:.3f} "
                  f"spec {m['specificity']:.3f}")
    print(f"refitted rule: {out / ENSEMBLE_FILE} (weights {new['weights']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
