"""Score a folder of bundles (and its ensemble rule) on whole datasets: AUC, and sensitivity / specificity at
each model's and the combined flag line, with 95 % intervals.

    python experiments/score_bundles.py --models resources/models --data ../shared/data/derm7pt \
        --data ../shared/data/isic2017:val --out runs/shipped-external.json

``DIR:NAME`` keeps only the rows of DIR/labels.csv whose source_split is NAME (e.g. the ISIC 2017 validation
images the shipped models were not trained on). Used to compare the shipped models with the multi-source ones
on the same sources (docs/results.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", required=True)
    parser.add_argument("--data", action="append", required=True, metavar="DIR[:SOURCE_SPLIT]")
    parser.add_argument("--backbones")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)


    from trainer.bundle.calibration import model_half_point
    from trainer.bundle.cards import find_bundles, read_ensemble
    from trainer.bundle.io import load_bundle
    from trainer.data.samples import (
        decode_samples,
        discover,
        only_source_split,
        without_unreadable,
    )
    from trainer.experiments.loso import _metrics
    from trainer.training.ensemble import ensemble_probability

    bundles = [load_bundle(d, args.backbones) for d in find_bundles(args.models)]
    rule = read_ensemble(args.models)
    results = {"models": {b.card.name: b.card.version for b in bundles}, "sets": {}}
    for spec in args.data:
        folder, _, part = spec.partition(":")
        dataset, _ = without_unreadable(only_source_split(discover(folder), part or None))
        decoded = decode_samples(dataset.samples)
        y = dataset.labels[decoded.kept]
        p = {}
        block = {}
        for bundle in bundles:
            probs = bundle.predict_proba(decoded.images, batch_size=32)
            name = bundle.card.name
            p[name] = probs[:, bundle.class_names.index("malignant")]
            block[name] = _metrics(y, p[name], float(bundle.card.threshold),
                                   model_half_point(bundle.card.calibration or {}))
        if rule and set(rule.members) == set(p):
            block["combined"] = _metrics(y, ensemble_probability(rule.combine(p), rule), float(rule.threshold),
                                         model_half_point(rule.calibration or {}))
        results["sets"][Path(folder).name + (f":{part}" if part else "")] = block
        print(spec, {k: round(v["roc_auc"], 3) for k, v in block.items()}, flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
