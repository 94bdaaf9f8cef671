"""Adapting the shipped models to a clinic, measured on stored embeddings (experiments/embed_folder.py) in seconds:
the same core as ``melanoma-desktop adapt`` (core.adaptation), without reading images again.

    python experiments/adaptation_probe.py runs/embeddings/derm7pt.npz [--seeds 5] [--sizes 50,100,200,0]

For each seed the clinic's cases are split in two lesion-grouped halves stratified by diagnosis
(experiments/simulated_clinic.halves): the adapters, member weights, calibration and flag line are fitted on half A
(``--sizes``: on that many of A's cases, 0 = all), then half B is read by the shipped models and by the adapted
ones. Prints per seed and the mean: the combined AUC on B, shipped and adapted, the paired difference with its
bootstrap interval, and sensitivity / specificity on B at the adapted flag line. ``--json OUT`` keeps it all.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def load(path: str):
    data = np.load(path)
    names = sorted({k.split("/")[0] for k in data.files if "/" in k})
    emb = {n: data[f"{n}/embedding"].astype(np.float32) for n in names}
    p = {n: data[f"{n}/p"].astype(np.float64) for n in names}
    versions = {n: str(data[f"{n}/version"]) for n in names}
    return data["image"], data["label"].astype(bool), data["group"], emb, p, versions


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("embeddings")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--sizes", default="0", help="cases of half A to adapt on, comma-separated (0 = all)")
    parser.add_argument("--target-sensitivity", type=float, default=0.95)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--replay", help="embeddings (.npz) of public-source cases fitted alongside each adapter")
    args = parser.parse_args()

    from simulated_clinic import halves

    from melanoma_desktop.core.adaptation import adapter_predictions, auc, compare, fit_adaptation
    from trainer.bundle.adapter import _logit
    from trainer.bundle.calibration import calibrate_p_positive
    from trainer.bundle.cards import read_ensemble
    from trainer.shipped import shipped_models_dir

    images, y, groups, emb, p, versions = load(args.embeddings)
    replay = None
    if args.replay:
        _, ry, _, remb, rp, rversions = load(args.replay)
        assert rversions == versions, "the replay set was read by other model versions"
        replay = {n: (_logit(rp[n]), remb[n], ry) for n in remb}
    shipped = read_ensemble(shipped_models_dir())
    assert dict(shipped.members) == versions, (dict(shipped.members), versions)
    names = list(emb)
    z = {n: _logit(p[n]) for n in names}
    shipped_risk = calibrate_p_positive(np.asarray(shipped.combine(p)), shipped.calibration)
    rows = [{"image": i, "label": "malignant" if m else "benign", "lesion_id": g} for i, m, g in zip(images, y, groups)]
    index = {r["image"]: k for k, r in enumerate(rows)}
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        for seed in range(args.seeds):
            a_rows, b_rows = halves(rows, seed)
            a = np.array([index[r["image"]] for r in a_rows])
            b = np.array([index[r["image"]] for r in b_rows])
            if size and size < len(a):  # a lesion-grouped, stratified subset of A
                rng = np.random.default_rng(1000 + seed)
                a = np.sort(rng.permutation(a)[:size])
            fit = fit_adaptation({n: emb[n][a] for n in names}, {n: z[n][a] for n in names}, y[a], groups[a],
                                 args.target_sensitivity, seed=seed, replay=replay)
            p_b = adapter_predictions(fit.adapters, {n: emb[n][b] for n in names}, {n: z[n][b] for n in names})
            risk_b = fit.combination.risk(p_b)
            flagged_b = risk_b >= fit.combination.threshold
            yb = y[b]
            evidence = compare(yb, groups[b],
                               {"risk": shipped_risk[b], "flagged": shipped_risk[b] >= shipped.threshold,
                                "flag_line": shipped.threshold, "models": {n: p[n][b] for n in names}},
                               {"risk": risk_b, "flagged": flagged_b, "flag_line": fit.combination.threshold,
                                "models": p_b}, seed=seed)
            at90 = _specificity_at(yb, risk_b, 0.90)
            row = {"seed": seed, "size_A": int(len(a)), "melanomas_A": int(y[a].sum()),
                   "B": {"n": int(len(b)), "melanomas": int(yb.sum())},
                   "shipped_auc": evidence["active"]["auc"], "adapted_auc": evidence["adapted"]["auc"],
                   "difference": evidence["difference"]["auc"], "difference_ci": evidence["difference"]["auc_ci"],
                   "sensitivity": evidence["adapted"]["sensitivity"], "specificity": evidence["adapted"]["specificity"],
                   "shipped_sensitivity": evidence["active"]["sensitivity"],
                   "shipped_specificity": evidence["active"]["specificity"],
                   "specificity_at_90": at90, "shipped_specificity_at_90": _specificity_at(yb, shipped_risk[b], 0.90),
                   "models": {n: [evidence["active"]["models"][n]["auc"], evidence["adapted"]["models"][n]["auc"]]
                              for n in names},
                   "weights": fit.combination.weights, "penalties": fit.penalties,
                   "oof_auc_A": auc(y[a], fit.oof_risk)}
            results.append(row)
            print(f"size {row['size_A']:4d} seed {seed}: AUC on B {row['shipped_auc']:.3f} -> {row['adapted_auc']:.3f} "
                  f"({row['difference']:+.3f}, {row['difference_ci'][0]:+.3f} to {row['difference_ci'][1]:+.3f}); "
                  f"at the adapted line sens {row['sensitivity']:.1%} spec {row['specificity']:.1%}; spec at 90% sens "
                  f"{row['shipped_specificity_at_90']:.1%} -> {at90:.1%}; models "
                  + ", ".join(f"{n} {v[0]:.3f}->{v[1]:.3f}" for n, v in row["models"].items())
                  + f"; weights {row['weights']}, penalties {row['penalties']}", flush=True)
        same = results[-args.seeds:]  # this size's seeds
        mean = {k: float(np.mean([r[k] for r in same])) for k in ("shipped_auc", "adapted_auc", "difference",
                                                                   "sensitivity", "specificity", "specificity_at_90",
                                                                   "shipped_specificity_at_90")}
        print(f"mean over {len(same)} seeds (A size {size or 'all'}): " + json.dumps({k: round(v, 3) for k, v in mean.items()}))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _specificity_at(y, score, sensitivity):
    from trainer.bundle.calibration import threshold_for_sensitivity

    line = threshold_for_sensitivity(score, y, sensitivity)
    return float((score[~y] < line).mean())


if __name__ == "__main__":
    sys.exit(main())
