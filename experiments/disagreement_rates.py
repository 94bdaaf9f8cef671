"""How often the models-disagree marker (⚠) is set, and whether it says anything about melanoma, on the output
of ``melanoma-desktop triage --json`` for images with known labels.

    melanoma-desktop triage --json ../shared/data/derm7pt/images > derm7pt.jsonl
    python experiments/disagreement_rates.py --labels ../shared/data/derm7pt/labels.csv derm7pt.jsonl

For each file: cases, share of melanomas, the marker's rate under the old rule (any model on each side of its
own flag line) and the current one (one clearly above and another clearly below, records.DISAGREEMENT_MARGIN),
and the share of melanomas among the marked and the unmarked cases.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

from melanoma_desktop.core.records import DISAGREEMENT_MARGIN


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def rates(triage_jsonl: Path, labels: dict[str, str]) -> dict:
    rows = [json.loads(line) for line in triage_jsonl.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["assessable"] and Path(r["path"]).name in labels]
    melanoma = [labels[Path(r["path"]).name] == "malignant" for r in rows]
    margins = [[_logit(m["p_malignant"]) - _logit(m["threshold"]) for m in r["models"]] for r in rows]
    old = [max(d) >= 0 > min(d) for d in margins]
    new = [max(d) >= DISAGREEMENT_MARGIN and min(d) <= -DISAGREEMENT_MARGIN for d in margins]

    def share(flags, among=None):
        chosen = [m for m, f in zip(melanoma, among or [True] * len(melanoma)) if f] if among is not None else melanoma
        return sum(chosen) / len(chosen) if chosen else float("nan")

    return {"cases": len(rows), "melanomas": share(melanoma), "old_marker": sum(old) / len(rows),
            "marker": sum(new) / len(rows), "melanomas_marked": share(melanoma, new),
            "melanomas_unmarked": share(melanoma, [not f for f in new])}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="append", required=True, help="labels.csv (image,label); repeatable")
    parser.add_argument("triage", nargs="+", type=Path, help="triage --json outputs")
    args = parser.parse_args(argv)
    labels = {}
    for path in args.labels:
        labels.update({r["image"]: r["label"] for r in csv.DictReader(open(path, encoding="utf-8-sig"))})
    print("| file | cases | melanomas | old marker | marker | melanomas among marked | among unmarked |")
    print("|---|---|---|---|---|---|---|")
    for path in args.triage:
        r = rates(path, labels)
        print(f"| {path.name} | {r['cases']} | {r['melanomas']:.0%} | {r['old_marker']:.0%} | {r['marker']:.0%} | "
              f"{r['melanomas_marked']:.0%} | {r['melanomas_unmarked']:.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
