"""A simulated clinic: a source the shipped models never trained on, split in two halves.

    python scripts/simulated_clinic.py --data ../shared/data/derm7pt --out runs/simulated-clinic

Half A (lesions grouped, stratified by diagnosis, seeded) plays the clinic's confirmed cases:
``melanoma-desktop calibrate --labels A.csv --install`` fits and installs the clinic's flag line in a
fresh data folder. Half B plays the clinic's next patients: ``melanoma-desktop triage --json`` reads
them with that line installed; the shipped line's flags on the same images come from the same JSON
(each model's probability through the shipped ensemble rule). Prints sensitivity and specificity on B
at both lines with 95 % intervals, as JSON and as a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def halves(rows: list[dict], seed: int) -> tuple[list[dict], list[dict]]:
    """Lesions (``lesion_id``, else the image) split in two, stratified by label: no lesion on both sides."""
    rng = np.random.default_rng(seed)
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row.get("lesion_id") or row["image"], []).append(row)
    a, b = [], []
    for label in ("malignant", "benign"):
        keys = sorted(k for k, g in groups.items() if g[0]["label"] == label)
        rng.shuffle(keys)
        for i, key in enumerate(keys):
            (a if i % 2 == 0 else b).extend(groups[key])
    return a, b


def _folder(rows: list[dict], images: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for row in rows:
        os.symlink((images / row["image"]).resolve(), target / row["image"])
    return target


def _labels(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label"])
        writer.writerows((r["image"], r["label"]) for r in rows)
    return path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="a labels.csv folder the shipped models never trained on")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target-sensitivity", type=float, default=0.95)
    args = parser.parse_args()

    from trainer.training.calibration import calibrate_p_positive
    from trainer.bundle.cards import read_ensemble
    from trainer.evaluation.metrics import wilson
    from trainer.shipped import shipped_models_dir

    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
    half_a, half_b = halves(rows, args.seed)
    work = Path(tempfile.mkdtemp())
    folder_a, folder_b = _folder(half_a, data / "images", work / "A"), _folder(half_b, data / "images", work / "B")
    labels_a = _labels(half_a, out / "labels_A.csv")
    home = work / "home"
    cli = [sys.executable, "-m", "melanoma_desktop"]
    fitted = subprocess.run(cli + ["calibrate", "--labels", str(labels_a), "--install", "--data-dir", str(home),
                                   "--target-sensitivity", str(args.target_sensitivity), str(folder_a)],
                            capture_output=True, text=True)
    if fitted.returncode != 0:
        print(fitted.stderr, file=sys.stderr)
        return fitted.returncode
    rule = json.loads(fitted.stdout)
    (out / "site_rule.json").write_text(json.dumps(rule, indent=2))
    triaged = subprocess.run(cli + ["triage", "--json", "--data-dir", str(home), str(folder_b)],
                             capture_output=True, text=True)
    lines = [json.loads(line) for line in triaged.stdout.splitlines() if line.startswith("{")]
    truth = {r["image"]: r["label"] == "malignant" for r in half_b}
    shipped = read_ensemble(shipped_models_dir())
    results = {}
    for name in ("shipped flag line", "clinic's flag line"):
        caught = melanomas = cleared = benign = unassessed = 0
        for line in lines:
            if not line["assessable"]:
                unassessed += 1
                continue
            mel = truth[Path(line["path"]).name]
            if name == "shipped flag line":
                mean = float(np.mean([m["p_malignant"] for m in line["models"]]))
                flagged = calibrate_p_positive(mean, shipped.calibration)[0] >= shipped.threshold
            else:
                assert line["rule"] == "clinic flag line", line["rule"]
                flagged = line["flagged"]
            melanomas += mel
            benign += not mel
            caught += bool(mel and flagged)
            cleared += bool(not mel and not flagged)
        results[name] = {"melanomas": melanomas, "benign": benign, "not assessable": unassessed,
                         "sensitivity": caught / melanomas, "sensitivity_ci": wilson(caught, melanomas),
                         "specificity": cleared / benign, "specificity_ci": wilson(cleared, benign),
                         "caught": caught, "cleared": cleared}
    summary = {"data": data.name, "seed": args.seed, "half_A": {"images": len(half_a),
               "melanomas": sum(r["label"] == "malignant" for r in half_a)},
               "half_B": {"images": len(half_b), "melanomas": sum(r["label"] == "malignant" for r in half_b)},
               "rule": rule["site_rule"], "threshold": rule["threshold"], "on_half_B": results}
    (out / "results.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print("\n| flag line | sensitivity on B (95 % CI) | specificity on B (95 % CI) |\n|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['sensitivity']:.1%} ({r['sensitivity_ci'][0]:.1%}–{r['sensitivity_ci'][1]:.1%}); "
              f"{r['caught']}/{r['melanomas']} | {r['specificity']:.1%} ({r['specificity_ci'][0]:.1%}–"
              f"{r['specificity_ci'][1]:.1%}); {r['cleared']}/{r['benign']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
