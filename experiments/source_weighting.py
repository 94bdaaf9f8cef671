"""Member weights chosen on the mean of per-source validation AUCs instead of the pooled one (docs/results.md).

    python experiments/source_weighting.py --run runs/shipped-rule --sources derm7pt,ham10000

``--run``: a folder written by experiments/refit_shipped_rule.py (the shipped models' calibrated P(malignant) on
a multi-source run's validation and test parts, and its split.csv with the source of every image). Each
source in ``--sources`` counts equally in the choice (a pooled AUC lets the largest source decide and mixes
the sources' score scales); sources with few melanomas in their validation part are better left out.
Prints the weights on a 0.1 grid with the highest mean validation AUC (ties to the weights nearest equal),
and the test-part AUC of every source under those weights, equal weights and a few others.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--sources", required=True, help="comma-separated sources that choose the weights")
    args = parser.parse_args(argv)

    from sklearn.metrics import roc_auc_score

    from trainer.bundle.combine import combine
    from trainer.training.rundir import RunDir

    run = RunDir(args.run)
    preds, source = run.predictions(), run.sources()
    names = sorted(preds)

    def by_source(part: str) -> dict[str, tuple[dict, np.ndarray]]:
        paths, labels, _ = preds[names[0]][part]
        out = {}
        for src in sorted({source[p] for p in paths}):
            keep = np.array([source[p] == src for p in paths])
            out[src] = ({n: preds[n][part][2][keep] for n in names}, labels[keep])
        return out

    val, test = by_source("val"), by_source("test")
    chosen = [s for s in args.sources.split(",") if s]
    for src in chosen:
        print(f"validation {src}: {int(val[src][1].sum())} melanomas / {int((val[src][1] == 0).sum())} others")

    def aucs(parts, weights, sources):
        return {s: roc_auc_score(parts[s][1], combine(parts[s][0], weights)) for s in sources
                if len(set(parts[s][1])) == 2}

    grid = [dict(zip(names, w)) for w in itertools.product(np.round(np.arange(0, 1.01, 0.1), 1), repeat=len(names))
            if abs(sum(w) - 1) < 1e-6]
    best = max(grid, key=lambda w: (np.mean(list(aucs(val, w, chosen).values())),
                                    -np.std(list(w.values()))))
    equal = {n: 1 / len(names) for n in names}
    others = {f"without {n}": {m: (0.0 if m == n else 1 / (len(names) - 1)) for m in names} for n in names}
    for label, weights in {"chosen": best, "equal": equal, **others}.items():
        shown = ", ".join(f"{n} {w:.2f}" for n, w in weights.items())
        scores = ", ".join(f"{s} {v:.3f}" for s, v in aucs(test, weights, sorted(test)).items())
        print(f"{label:>18} ({shown}): validation mean {np.mean(list(aucs(val, weights, chosen).values())):.3f}; "
              f"test {scores}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
