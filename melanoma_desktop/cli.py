"""``melanoma-desktop triage``: classify files and folders without a window, one JSON line per image."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.classifier import load_models
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.dicom import is_dicom_name
from melanoma_desktop.core.patients import read_manifest, resolve_identities
from melanoma_desktop.core.registry import ModelRegistry
from melanoma_desktop.core.storage.location import database_target
from melanoma_desktop.core.triage import expand_paths, triage_paths
from melanoma_desktop.paths import registry_root, user_data_dir

EXIT_UNREADABLE = 2
EXIT_NO_MODELS = 1


def add_triage_parser(sub) -> None:
    triage = sub.add_parser("triage", help="classify images without a window")
    triage.add_argument("paths", nargs="*", metavar="PATH",
                        help="image files or folders (optional with --manifest: then the manifest's images)")
    triage.add_argument("--models", help="folder of model bundles (default: the shipped ones, or $MELANOMA_MODELS)")
    triage.add_argument("--backbones", help="folder with ImageNet backbone weights (else $MELANOMA_BACKBONES, Keras)")
    triage.add_argument("--json", action="store_true", help="one JSON object per line on stdout")
    triage.add_argument("--report", metavar="OUT.pdf", help="also write a batch PDF report of the classified images")
    triage.add_argument("--manifest", metavar="M.csv", help="path,patient_id,lesion_id,body_site,taken: who each "
                        "image belongs to; the results are then saved to the case database with their patient, "
                        "lesion and visit date (as they are for DICOM files, whose header says it)")
    add_data_dir_option(triage)
    history = sub.add_parser("history", help="one patient's lesions and visits, from the case database")
    history.add_argument("--patient", required=True, help="the patient ID")
    history.add_argument("--json", action="store_true", help="as JSON (default: one line per visit)")
    add_data_dir_option(history)


def add_data_dir_option(parser) -> None:
    parser.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="the user's data folder, where the clinic's flag line is kept (default: $MELANOMA_HOME, "
                             "else the per-user application data folder)")
    parser.add_argument("--database", default=argparse.SUPPRESS, metavar="URL",
                        help="the case database: a SQLite file or postgresql://user@host/dbname (default: "
                             "$MELANOMA_DATABASE_URL, else Settings > Database, else cases.sqlite3 in the data folder)")


def database_of(args: argparse.Namespace):
    """The case database the command uses (core.storage.location)."""
    return database_target(user_data_dir(getattr(args, "data_dir", None)), getattr(args, "database", None))


def load_for_cli(args: argparse.Namespace):
    """The models as the window loads them for a headless command, with the clinic's active flag line (from the
    user's data folder) when it was made for exactly these model versions."""
    registry = ModelRegistry(registry_root(user_data_dir(getattr(args, "data_dir", None))))
    models = load_models(args.models, args.backbones, site_rule=registry.active_site_rule(),
                         site_models=registry.active_site_models())
    for info in models.model_infos():
        if not info.available:
            print(f"warning: model {info.name} unavailable: {info.reason}", file=sys.stderr)
    for note in (models.site_rule_note, models.site_models_note):
        if note:
            print(f"warning: {note}", file=sys.stderr)
    return models, registry


def run_triage(args: argparse.Namespace) -> int:
    try:
        paths, manifest = triage_inputs(args)
    except ValueError as exc:  # IdentityError is one: the manifest cannot be read
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    models, _registry = load_for_cli(args)
    if not models.loaded:
        print(f"error: {models.empty_reason or 'no model could be loaded (see the warnings above)'}", file=sys.stderr)
        return EXIT_NO_MODELS
    files, problems = expand_paths(paths)
    failed = len(problems)
    db, identities = _identities_and_database(args, files, paths, manifest)
    for path, reason in problems:
        print(f"error: {path}: {reason}", file=sys.stderr)
    if not args.json:
        print(f"# {DISCLAIMER}")
    records = []
    for item in triage_paths(files, models, save=db.save if db else None):
        if item.error:
            failed += 1
            print(f"error: {item.error[0]}: {item.error[1]}", file=sys.stderr)
            continue
        record = item.record
        records.append(record)
        identity = identities.get(Path(record.path))
        if db is not None and identity is not None:
            db.assign(record.id, identity)
        if args.json:
            print(json.dumps(record.to_json()), flush=True)
        else:
            print(_text_line(record), flush=True)
    if args.report:
        from melanoma_desktop.core.records import worklist_order
        from melanoma_desktop.core.report import write_batch_pdf

        records.sort(key=worklist_order)
        write_batch_pdf(args.report, records, models.model_infos(), title="Triage report")
        print(f"report written to {args.report}", file=sys.stderr)
    if db is not None:
        db.close()
    return EXIT_UNREADABLE if failed else 0


class MissingInputError(ValueError):
    """Neither a PATH nor a manifest was given to triage."""


def triage_inputs(args: argparse.Namespace) -> tuple[list[str], dict | None]:
    """The paths to triage and the manifest's identities: the PATHs given, else the images the manifest lists (in
    its order). Raises MissingInputError without either, IdentityError when the manifest cannot be read."""
    manifest = read_manifest(args.manifest) if getattr(args, "manifest", None) else None
    if args.paths:
        return list(args.paths), manifest
    if manifest is None:
        raise MissingInputError("give image files or folders (PATH ...), or --manifest M.csv to triage the images "
                                "it lists")
    if not manifest:
        raise MissingInputError(f"{args.manifest} lists no images: add rows (path,patient_id,...) or give PATHs")
    return [str(p) for p in manifest], manifest


def _identities_and_database(args, files, paths, manifest):
    """With a manifest or DICOM files, who each image belongs to, and the case database the results go to."""
    if manifest is None and not any(is_dicom_name(f) for f in files):
        return None, {}

    identities = {Path(f).resolve(): i for f, i in resolve_identities(
        files, roots=[Path(p) for p in paths if Path(p).is_dir()], manifest=manifest).items()}
    return CaseDatabase(database_of(args)), identities


def run_history(args: argparse.Namespace) -> int:
    with CaseDatabase(database_of(args)) as db:
        history = db.history(args.patient)
    if history is None:
        print(f"error: no patient {args.patient!r} in the case database", file=sys.stderr)
        return EXIT_NO_MODELS
    if args.json:
        print(json.dumps({"disclaimer": DISCLAIMER, **history}, indent=2))
        return 0
    for lesion in history["lesions"]:
        for v in lesion["visits"]:
            risk = "cannot assess" if not v["assessable"] else ("—" if v["risk"] is None else f"{v['risk']:.0%}")
            print(f"{lesion['lesion']}\t{v['date']}\t{risk}\t{'FLAGGED' if v['flagged'] else ''}\t{v['path']}")
    return 0


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
