"""How far do a model's results move with the training seed alone (same split, same test images)?

Give runs of one model trained with `python -m trainer train ... --seed N --split-seed 42` (and the run the
shipped model came from); prints, per run, HAM10000 validation and test AUC, accuracy at the model's own
0.5, sensitivity / specificity at its threshold, test ECE and the AUC on the held-out ISIC 2017 validation
images; then the spread over the runs, the average of the runs' probabilities as one model, and the
shipped ensemble with each run in place of its member.

    python experiments/seed_spread.py --model mobilenetv2 --runs runs/benchmark/best-extra runs/seeds/mnv2-seed1 \\
        runs/seeds/mnv2-seed2 --ensemble-run runs/benchmark/best-extra \\
        --external ../shared/data/isic2017 --backbones ../shared/backbones
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def external_p(run: Path, model: str, external: Path, backbones: str) -> tuple[np.ndarray, np.ndarray]:
    from trainer.bundle.io import load_bundle
    from trainer.data.imageio import load_rgb

    rows = [r for r in csv.DictReader(open(external / "labels.csv")) if r["source_split"] == "val"]
    images = np.stack([load_rgb(external / "images" / r["image"]) for r in rows])
    bundle = load_bundle(run / model, backbones)
    p = bundle.predict_proba(images, batch_size=32)[:, bundle.class_names.index("malignant")]
    return np.array([r["label"] == "malignant" for r in rows], dtype=int), p


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--ensemble-run", help="a run whose other members make the ensemble with each run's model")
    parser.add_argument("--external", required=True, help="ISIC 2017 folder (labels.csv with source_split val)")
    parser.add_argument("--backbones", required=True)
    args = parser.parse_args(argv)

    from sklearn.metrics import roc_auc_score

    from trainer.bundle.calibration import model_half_point
    from trainer.bundle.cards import read_card
    from trainer.evaluation.metrics import bootstrap_auc, expected_calibration_error
    from trainer.training.rundir import read_predictions

    test_p, ext_p, val_p, rows = [], [], [], []
    y_test = y_ext = y_val = None
    for run in map(Path, args.runs):
        card = read_card(run / args.model)
        preds = read_predictions(run)[args.model]
        _, y_val, pv = preds["val"]
        _, y_test, pt = preds["test"]
        y_ext, pe = external_p(run, args.model, Path(args.external), args.backbones)
        val_p.append(pv), test_p.append(pt), ext_p.append(pe)
        half, threshold = model_half_point(card.calibration), card.threshold
        sens = np.mean(pt[y_test == 1] >= threshold)
        spec = np.mean(pt[y_test == 0] < threshold)
        row = dict(run=str(run), seed=card.hyperparameters["seed"], val_auc=roc_auc_score(y_val, pv),
                   test_auc=roc_auc_score(y_test, pt), acc=np.mean((pt >= half) == y_test), sens=sens, spec=spec,
                   ece=expected_calibration_error(y_test, pt), ext_auc=roc_auc_score(y_ext, pe),
                   fine_tuned=card.hyperparameters.get("fine_tuning", {}).get("kept"))
        rows.append(row)
        print(f"seed {row['seed']:>3} ({run}): val AUC {row['val_auc']:.3f}, test AUC {row['test_auc']:.3f}, "
              f"acc {row['acc']:.1%}, sens/spec {sens:.1%}/{spec:.1%} at {threshold:.3f}, ECE {row['ece']:.3f}, "
              f"ISIC 2017 val AUC {row['ext_auc']:.3f}, fine-tuning kept: {row['fine_tuned']}", flush=True)
    for key in ("val_auc", "test_auc", "acc", "ece", "ext_auc"):
        values = np.array([r[key] for r in rows])
        print(f"{key}: mean {values.mean():.3f}, sd {values.std(ddof=1):.3f}, range {values.min():.3f}-{values.max():.3f}")
    auc, ci = bootstrap_auc(y_test, np.mean(test_p, axis=0))
    print(f"average of the {len(rows)} runs' P(malignant): val AUC {roc_auc_score(y_val, np.mean(val_p, axis=0)):.3f}, "
          f"test AUC {auc:.3f} ({ci[0]:.3f}-{ci[1]:.3f}), ISIC 2017 val AUC "
          f"{roc_auc_score(y_ext, np.mean(ext_p, axis=0)):.3f}")
    if args.ensemble_run:
        others = {m: v for m, v in read_predictions(Path(args.ensemble_run)).items() if m != args.model}
        mean_others = np.mean([v["test"][2] for v in others.values()], axis=0)
        for row, pt in zip(rows, test_p):
            mean = (mean_others * len(others) + pt) / (len(others) + 1)
            print(f"ensemble {'+'.join(others)} + seed {row['seed']}: test AUC {roc_auc_score(y_test, mean):.3f}")


if __name__ == "__main__":
    main()
