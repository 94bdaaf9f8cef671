"""``melanoma-desktop triage``: classify files and folders without a window, one JSON line per image."""

from __future__ import annotations

import argparse
import json
import sys

from melanoma_desktop import DISCLAIMER

EXIT_UNREADABLE = 2
EXIT_NO_MODELS = 1


def add_triage_parser(sub) -> None:
    triage = sub.add_parser("triage", help="classify images without a window")
    triage.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    triage.add_argument("--models", help="folder of model bundles (default: the shipped ones, or $MELANOMA_MODELS)")
    triage.add_argument("--backbones", help="folder with ImageNet backbone weights (else $MELANOMA_BACKBONES, Keras)")
    triage.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    triage.add_argument("--report", metavar="OUT.pdf", help="also write a batch PDF report of the classified images")


def run_triage(args: argparse.Namespace) -> int:
    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.triage import expand_paths, triage_paths

    models = load_models(args.models, args.backbones)
    for info in models.model_infos():
        if not info.available:
            print(f"warning: model {info.name} unavailable: {info.reason}", file=sys.stderr)
    if not models.loaded:
        print(f"error: {models.empty_reason or 'no model could be loaded (see the warnings above)'}", file=sys.stderr)
        return EXIT_NO_MODELS
    files, problems = expand_paths(args.paths)
    failed = len(problems)
    for path, reason in problems:
        print(f"error: {path}: {reason}", file=sys.stderr)
    if not args.json:
        print(f"# {DISCLAIMER}")
    records = []
    for item in triage_paths(files, models):
        if item.error:
            failed += 1
            print(f"error: {item.error[0]}: {item.error[1]}", file=sys.stderr)
            continue
        record = item.record
        records.append(record)
        if args.json:
            print(json.dumps(record.to_json()), flush=True)
        else:
            c = record.consensus
            per_model = "  ".join(f"{p.name}={p.p_malignant:.3f}{'*' if p.label == 'malignant' else ''}"
                                  for p in record.predictions)
            ensemble = f" (ensemble={c.ensemble_p_malignant:.3f}: {c.ensemble_label})" if c.ensemble_label else ""
            print(f"{record.path}\tmean={c.mean_p_malignant:.3f}\t{c.label}{ensemble}\t{per_model}", flush=True)
    if args.report:
        from melanoma_desktop.core.report import write_batch_pdf

        records.sort(key=lambda r: -r.consensus.mean_p_malignant)
        write_batch_pdf(args.report, records, models.model_infos(), title="Triage report")
        print(f"report written to {args.report}", file=sys.stderr)
    return EXIT_UNREADABLE if failed else 0
