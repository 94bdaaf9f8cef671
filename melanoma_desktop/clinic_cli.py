"""``melanoma-desktop evaluate`` and ``calibrate``: the models on the clinic's own confirmed cases, and the
clinic's own flag line, without a window. The same core as Models > Local performance.

    melanoma-desktop evaluate --labels LABELS.csv PATH...
    melanoma-desktop calibrate --labels LABELS.csv [--target-sensitivity 0.95] [--install] PATH...

``LABELS.csv``: ``image,label[,source][,date]`` (``label``: benign, melanoma / malignant, or other malignant),
matched to the images by file name or SHA-256. The images are read by the installed models (nothing is
saved to the case database); ``--install`` makes the fitted line active in the user's data folder, where
``triage`` and the window pick it up.
"""

from __future__ import annotations

import argparse
import json
import sys

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.cli import EXIT_NO_MODELS, add_data_dir_option, load_for_cli
from melanoma_desktop.core.confirmed import ConfirmedLabelsError, match_rows, read_confirmed_csv
from melanoma_desktop.core.local_performance import (
    SiteRuleRefused,
    evaluate_local,
    expected_sentence,
    fit_site_rule,
)
from melanoma_desktop.core.triage import expand_paths, triage_paths

EXIT_REFUSED = 3


def add_clinic_parsers(sub) -> None:
    for name, text in (("evaluate", "the models on your confirmed cases (local performance), as JSON"),
                       ("calibrate", "fit the clinic's flag line from your confirmed cases")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
        parser.add_argument("--labels", required=True, help="CSV: image,label[,source][,date]")
        parser.add_argument("--models", help="folder of model bundles (default: the shipped ones)")
        parser.add_argument("--backbones", help="folder with ImageNet backbone weights")
        parser.add_argument("--target-sensitivity", type=float, default=0.95,
                            help="share of melanomas the flag line must catch (default 0.95)")
        add_data_dir_option(parser)
        if name == "calibrate":
            parser.add_argument("--install", action="store_true",
                                help="make the fitted flag line active (in the user's data folder)")
            parser.add_argument("--out", metavar="RULE.json", help="also write the flag line to this file (to share)")


def _confirmed_records(args, models):
    files, problems = expand_paths(args.paths)
    for path, reason in problems:
        print(f"error: {path}: {reason}", file=sys.stderr)
    records = []
    for item in triage_paths(files, models):
        if item.error:
            print(f"error: {item.error[0]}: {item.error[1]}", file=sys.stderr)
            continue
        item.record.id = len(records) + 1  # in memory only: keys for matching the labels
        records.append(item.record)
    pairs, report = match_rows(read_confirmed_csv(args.labels), records)
    by_id = {r.id: r for r in records}
    for case_id, row in pairs:
        by_id[case_id].confirmed_label, by_id[case_id].confirmed_source = row.label, row.source
    print(report.summary(), file=sys.stderr)
    return records


def run_clinic_command(args: argparse.Namespace) -> int:
    models, registry = load_for_cli(args)
    if not models.loaded:
        print(f"error: {models.empty_reason or 'no model could be loaded'}", file=sys.stderr)
        return EXIT_NO_MODELS
    if not models.ensemble:
        print(f"error: no combined rule for the installed models ({models.ensemble_note or 'no ensemble.json'}); "
              "local performance and a flag line need one", file=sys.stderr)
        return EXIT_NO_MODELS
    try:
        records = _confirmed_records(args, models)
    except ConfirmedLabelsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if args.command == "evaluate":
        result = evaluate_local(records, models.ensemble, args.target_sensitivity).to_json()
        print(json.dumps({"disclaimer": DISCLAIMER, **result}, indent=2))
        print(f"{result['verdict']} {result['warning']}".strip(), file=sys.stderr)
        return 0
    try:
        rule = fit_site_rule(records, models.ensemble, args.target_sensitivity)
    except SiteRuleRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps(rule.to_dict(), indent=2))
    print(expected_sentence(rule), file=sys.stderr)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(rule.to_dict(), handle, indent=2)
    if args.install:
        registry.keep_site_rule(rule)
        registry.activate_site_rule(rule.site_version)
        print(f"installed: the clinic's flag line {rule.site_version} is used for new cases "
              f"({registry.root})", file=sys.stderr)
    return 0
