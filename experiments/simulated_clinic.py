"""A simulated clinic: a source the shipped models never trained on, split in two halves.

    python experiments/simulated_clinic.py --data ../shared/data/derm7pt --out runs/simulated-clinic
    python experiments/simulated_clinic.py --adapt --seeds 5 --data ../shared/data/derm7pt --out runs/adapted-clinic

With ``--adapt``: for each seed, ``melanoma-desktop adapt --install`` on half A (its confirmed cases, lesions
named) in a fresh data folder, then ``triage --json`` of half B with the adapted models; the shipped models'
reading of B comes from one ``triage --json`` with nothing installed. Prints per seed and the mean the combined
AUC on B (shipped, adapted, the paired difference with its 95 % interval over lesions), sensitivity and
specificity at the adapted flag line, and specificity at 90 % sensitivity.

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


def _labels_with_lesions(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "lesion_id"])
        writer.writerows((r["image"], r["label"], r.get("lesion_id") or r["image"]) for r in rows)
    return path


def _triage_json(cli, home: Path, folder: Path) -> dict:
    """File name -> triage --json line."""
    done = subprocess.run(cli + ["triage", "--json", "--data-dir", str(home), str(folder)], capture_output=True, text=True)
    if done.returncode not in (0, 2):
        raise SystemExit(f"triage failed: {done.stderr[-2000:]}")
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return {Path(line["path"]).name: line for line in lines}


def adapted_clinic(args) -> int:
    """--adapt: for each seed, ``adapt --install`` on half A, then ``triage --json`` on half B; the shipped models'
    reading of B comes from one ``triage --json`` of every image with no adaptation installed."""
    from melanoma_desktop.core.adaptation import auc, compare
    from trainer.bundle.calibration import calibrate_p_positive, threshold_for_sensitivity
    from trainer.bundle.cards import read_ensemble
    from trainer.shipped import shipped_models_dir

    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = list(csv.DictReader(open(data / "labels.csv", newline="")))
    cli = [sys.executable, "-m", "melanoma_desktop"]
    work = Path(tempfile.mkdtemp())
    shipped = read_ensemble(shipped_models_dir())
    all_images = _folder(rows, data / "images", work / "all")
    shipped_lines = _triage_json(cli, work / "shipped-home", all_images)
    results = []
    for seed in range(args.seed, args.seed + args.seeds):
        half_a, half_b = halves(rows, seed)
        folder_a = _folder(half_a, data / "images", work / f"A{seed}")
        folder_b = _folder(half_b, data / "images", work / f"B{seed}")
        home = work / f"home{seed}"
        labels_a = _labels_with_lesions(half_a, out / f"labels_A_seed{seed}.csv")
        adapted = subprocess.run(cli + ["adapt", "--labels", str(labels_a), "--install", "--data-dir", str(home),
                                        "--target-sensitivity", str(args.target_sensitivity), "--seed", str(seed),
                                        str(folder_a)], capture_output=True, text=True)
        if adapted.returncode not in (0, 3):
            print(adapted.stderr, file=sys.stderr)
            return adapted.returncode
        evidence_a = json.loads(adapted.stdout)
        (out / f"adapt_seed{seed}.json").write_text(json.dumps(evidence_a, indent=2))
        lines_b = _triage_json(cli, home, folder_b)
        kept = [r for r in half_b if r["image"] in lines_b and lines_b[r["image"]]["assessable"]
                and shipped_lines[r["image"]]["assessable"]]
        y = np.array([r["label"] == "malignant" for r in kept])
        groups = np.array([r.get("lesion_id") or r["image"] for r in kept])
        adapted_lines = [lines_b[r["image"]] for r in kept]
        installed = evidence_a["offered"] and all(line["rule"] == "clinic-adapted models" for line in adapted_lines)
        p_ship = {m["name"]: np.array([next(x["p_malignant"] for x in shipped_lines[r["image"]]["models"]
                                            if x["name"] == m["name"]) for r in kept])
                  for m in shipped_lines[kept[0]["image"]]["models"]}
        risk_ship = calibrate_p_positive(np.asarray(shipped.combine(p_ship)), shipped.calibration)
        p_adapt = {n: np.array([next(x["p_malignant"] for x in line["models"] if x["name"] == n) for line in adapted_lines])
                   for n in p_ship}
        risk_adapt = np.array([line["risk"] for line in adapted_lines], dtype=float)
        flagged_adapt = np.array([line["flagged"] for line in adapted_lines])
        evidence_b = compare(y, groups, {"risk": risk_ship, "flagged": risk_ship >= shipped.threshold,
                                         "flag_line": shipped.threshold, "models": p_ship},
                             {"risk": risk_adapt, "flagged": flagged_adapt,
                              "flag_line": adapted_lines[0]["flag_line"], "models": p_adapt}, seed=seed)

        def spec_at_90(score):
            line = threshold_for_sensitivity(score, y, 0.90)
            return float((score[~y] < line).mean())

        row = {"seed": seed, "installed": installed, "A": evidence_a["cases"], "B": {"images": len(kept),
               "melanomas": int(y.sum())}, "evidence_on_A": {k: evidence_a["evidence"][k] for k in ("active", "adapted",
                                                                                                     "difference")},
               "on_B": evidence_b, "specificity_at_90_shipped": spec_at_90(risk_ship),
               "specificity_at_90_adapted": spec_at_90(risk_adapt),
               "auc_check": [auc(y, risk_ship), auc(y, risk_adapt)]}
        results.append(row)
        d = evidence_b["difference"]
        print(f"seed {seed}: installed {installed}; AUC on B {evidence_b['active']['auc']:.3f} -> "
              f"{evidence_b['adapted']['auc']:.3f} ({d['auc']:+.3f}, {d['auc_ci'][0]:+.3f} to {d['auc_ci'][1]:+.3f}); "
              f"adapted line: sensitivity {evidence_b['adapted']['sensitivity']:.1%}, specificity "
              f"{evidence_b['adapted']['specificity']:.1%}; specificity at 90 % sensitivity "
              f"{row['specificity_at_90_shipped']:.1%} -> {row['specificity_at_90_adapted']:.1%}", flush=True)
    (out / "adapted_results.json").write_text(json.dumps(results, indent=2))
    mean = lambda f: float(np.mean([f(r) for r in results]))  # noqa: E731
    print("\n| seed | combined AUC on B: shipped | adapted | paired difference (95 % CI) | sensitivity at the adapted "
          "line | specificity at the adapted line | specificity at 90 % sensitivity: shipped -> adapted |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        b = r["on_B"]
        d = b["difference"]
        print(f"| {r['seed']} | {b['active']['auc']:.3f} | {b['adapted']['auc']:.3f} | {d['auc']:+.3f} "
              f"({d['auc_ci'][0]:+.3f} to {d['auc_ci'][1]:+.3f}) | {b['adapted']['sensitivity']:.1%} "
              f"({b['adapted']['caught']}/{r['B']['melanomas']}) | {b['adapted']['specificity']:.1%} | "
              f"{r['specificity_at_90_shipped']:.1%} -> {r['specificity_at_90_adapted']:.1%} |")
    print(f"| mean | {mean(lambda r: r['on_B']['active']['auc']):.3f} | {mean(lambda r: r['on_B']['adapted']['auc']):.3f} "
          f"| {mean(lambda r: r['on_B']['difference']['auc']):+.3f} | "
          f"{mean(lambda r: r['on_B']['adapted']['sensitivity']):.1%} | "
          f"{mean(lambda r: r['on_B']['adapted']['specificity']):.1%} | "
          f"{mean(lambda r: r['specificity_at_90_shipped']):.1%} -> {mean(lambda r: r['specificity_at_90_adapted']):.1%} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True, help="a labels.csv folder the shipped models never trained on")
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="with --adapt: this many seeds from --seed")
    parser.add_argument("--target-sensitivity", type=float, default=0.95)
    parser.add_argument("--adapt", action="store_true", help="adapt the models on A (melanoma-desktop adapt) instead "
                        "of fitting only the clinic's flag line")
    args = parser.parse_args()
    if args.adapt:
        return adapted_clinic(args)

    from trainer.bundle.calibration import calibrate_p_positive
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
