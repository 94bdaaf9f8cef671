"""``melanoma-desktop adapt``: adapt the models to the clinic's confirmed cases without a window, with the
same core as Models > Adapt to this clinic.

    melanoma-desktop adapt --labels LABELS.csv [--target-sensitivity 0.95] [--install] [--out SET.json] PATH...

``LABELS.csv``: ``image,label[,source][,date][,lesion_id][,patient_id]``; cases of one lesion (or, without
it, one patient) are kept on one side of every cross-validation split. The images are read by the installed
models (nothing is saved to the case database). Prints the evidence as JSON (the active models and the adapted
ones on the same cases, with intervals and the paired differences). ``--install`` keeps the adapted set and
makes it active in the user's data folder, where ``triage`` and the window use it for new cases; it is refused
(exit 3) when the adapted combination is worse than the active one.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.cli import EXIT_NO_MODELS, add_data_dir_option, load_for_cli
from melanoma_desktop.clinic_cli import _confirmed_records
from melanoma_desktop.core.adaptation_job import adapt_to_clinic
from melanoma_desktop.core.adaptation_words import evidence_sentences
from melanoma_desktop.core.confirmed import ConfirmedLabelsError
from melanoma_desktop.core.site_models import SiteModelsRefused

EXIT_REFUSED = 3


def add_adapt_parser(sub) -> None:
    parser = sub.add_parser("adapt", help="adapt the models to your confirmed cases, with the evidence, as JSON")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--labels", required=True, help="CSV: image,label[,source][,date][,lesion_id][,patient_id]")
    parser.add_argument("--models", help="folder of model bundles (default: the shipped ones)")
    parser.add_argument("--backbones", help="folder with ImageNet backbone weights")
    parser.add_argument("--target-sensitivity", type=float, default=0.95,
                        help="share of melanomas the adapted flag line must catch (default 0.95)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the cross-validation splits (default 0)")
    parser.add_argument("--install", action="store_true",
                        help="make the adapted models active (in the user's data folder) when they are not worse")
    parser.add_argument("--out", metavar="SET.json", help="also write the adapted model set to this file (to share)")
    add_data_dir_option(parser)


def _groups(labels_path) -> dict:
    """File name -> lesion (or patient) from the labels file's optional columns."""
    with open(labels_path, newline="", encoding="utf-8-sig") as handle:
        rows = [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(handle)]
    return {row.get("image", ""): row.get("lesion_id") or row.get("patient_id") or "" for row in rows}


def run_adapt(args: argparse.Namespace) -> int:
    models, registry = load_for_cli(args)
    if not models.loaded:
        print(f"error: {models.empty_reason or 'no model could be loaded'}", file=sys.stderr)
        return EXIT_NO_MODELS
    try:
        records = _confirmed_records(args, models)
        groups = _groups(args.labels)
    except (ConfirmedLabelsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    for record in records:
        lesion = groups.get(record.file_name) or groups.get(record.sha256)
        if lesion:
            record.patient_id, record.lesion_label = lesion, ""

    def progress(event):
        if event.fraction is not None:
            print(f"{event.fraction:4.0%} {event.text}", file=sys.stderr, flush=True)

    try:
        outcome = adapt_to_clinic(records, models, target=args.target_sensitivity, seed=args.seed, on_progress=progress)
    except SiteModelsRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    print(json.dumps({"disclaimer": DISCLAIMER, "adapted_from": dict(outcome.site_models.base_members),
                      **outcome.to_json()}, indent=2))
    for line in evidence_sentences(outcome.evidence):
        print(line, file=sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(outcome.site_models.to_dict(), handle)
    if args.install:
        if not outcome.offered:
            print("not installed: the adapted models did not do at least as well as the active ones on your "
                  "confirmed cases", file=sys.stderr)
            return EXIT_REFUSED
        registry.keep_site_models(outcome.site_models)
        registry.activate_site_models(outcome.site_models.version)
        print(f"installed: the models adapted to this clinic ({outcome.site_models.version}) read new cases "
              f"({registry.root})", file=sys.stderr)
    return 0
