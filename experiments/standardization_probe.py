"""Does standardizing a clinic's features by its own (unlabelled) statistics help the shipped heads? Measured on
stored embeddings (experiments/embed_folder.py): the clinic's and a public source's.

    python experiments/standardization_probe.py runs/embeddings/derm7pt.npz runs/embeddings/ham_test_1000.npz

Variants, each through the shipped heads and the shipped combination rule, scored on every case of the clinic
(AUC of the combined risk and of each model): the embeddings as they are; z-scored by the clinic's mean and
standard deviation and put back on the public source's (``rescaled``); only re-centred on the public source's
mean (``recentred``). The statistics use no label.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("clinic")
    parser.add_argument("public")
    args = parser.parse_args()

    from adaptation_probe import load

    from melanoma_desktop.core.adaptation import auc
    from melanoma_desktop.core.classifier import load_models
    from trainer.bundle.calibration import calibrate_p_positive
    from trainer.bundle.cards import read_ensemble
    from trainer.shipped import shipped_models_dir

    _, y, _, emb, p, versions = load(args.clinic)
    _, _, _, pub, _, _ = load(args.public)
    models = load_models()
    heads = {name: head for name, (_, head) in models.heads().items()}
    rule = read_ensemble(shipped_models_dir())
    variants = {
        "as they are": lambda e, s: e,
        "rescaled": lambda e, s: (e - e.mean(0)) / np.maximum(e.std(0), 1e-6) * s.std(0) + s.mean(0),
        "recentred": lambda e, s: e - e.mean(0) + s.mean(0),
    }
    for label, change in variants.items():
        per_model = {n: heads[n].p_positive(change(emb[n], pub[n])) for n in emb}
        risk = calibrate_p_positive(np.asarray(rule.combine(per_model)), rule.calibration)
        print(f"{label:12s} combined AUC {auc(y, risk):.3f}; " + ", ".join(f"{n} {auc(y, v):.3f}" for n, v in per_model.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
