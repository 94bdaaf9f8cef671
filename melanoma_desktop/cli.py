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
    add_data_dir_option(triage)


def add_data_dir_option(parser) -> None:
    parser.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="the user's data folder, where the clinic's flag line is kept (default: $MELANOMA_HOME, "
                             "else the per-user application data folder)")


def load_for_cli(args: argparse.Namespace):
    """The models as the window loads them for a headless command, with the clinic's active flag line (from the
    user's data folder) when it was made for exactly these model versions."""
    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.paths import registry_root, user_data_dir

    registry = ModelRegistry(registry_root(user_data_dir(getattr(args, "data_dir", None))))
    models = load_models(args.models, args.backbones, site_rule=registry.active_site_rule())
    for info in models.model_infos():
        if not info.available:
            print(f"warning: model {info.name} unavailable: {info.reason}", file=sys.stderr)
    if models.site_rule_note:
        print(f"warning: {models.site_rule_note}", file=sys.stderr)
    return models, registry


def run_triage(args: argparse.Namespace) -> int:
    from melanoma_desktop.core.triage import expand_paths, triage_paths

    models, _registry = load_for_cli(args)
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
            print(_text_line(record), flush=True)
    if args.report:
        from melanoma_desktop.core.report import write_batch_pdf

        from melanoma_desktop.core.records import worklist_order

        records.sort(key=worklist_order)
        write_batch_pdf(args.report, records, models.model_infos(), title="Triage report")
        print(f"report written to {args.report}", file=sys.stderr)
    return EXIT_UNREADABLE if failed else 0


def _text_line(record) -> str:
    """One tab-separated line: path, risk or 'cannot assess', flag, then each model (* above its own line)."""
    if not record.assessable:
        return f"{record.path}\tcannot assess: {record.reason}"
    c = record.consensus
    risk = "no combined risk" if record.risk is None else f"risk={record.risk:.3f} (flag line {c.flag_line:.3f})"
    per_model = "  ".join(f"{p.name}={p.p_malignant:.3f}{'*' if p.label == 'malignant' else ''}"
                          for p in record.predictions)
    marks = ("FLAGGED" if record.flagged else "not flagged") + ("; models disagree" if record.disagreement else "")
    return f"{record.path}\t{risk}\t{marks}\t{per_model}"
