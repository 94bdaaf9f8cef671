"""Entry point: ``melanoma-desktop`` opens the window; ``melanoma-desktop triage ...`` works headless."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

from melanoma_desktop.adapt_cli import add_adapt_parser
from melanoma_desktop.cli import add_triage_parser
from melanoma_desktop.clinic_cli import add_clinic_parsers
from melanoma_desktop.core.classifier import load_models
from melanoma_desktop.core.private_files import restrict_new_files_to_owner, tighten_tree
from melanoma_desktop.core.selftest import run_self_test
from melanoma_desktop.paths import user_data_dir
from melanoma_desktop.storage_cli import add_storage_parsers
from trainer.quiet import quiet_tensorflow


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="melanoma-desktop", description="Melanoma triage desktop (research software).")
    parser.add_argument("--models", help="folder of model bundles")
    parser.add_argument("--backbones", help="folder with ImageNet backbone weights")
    parser.add_argument("--data-dir", help="where the case database and settings live (default: the user's data folder)")
    parser.add_argument("--database", metavar="URL",
                        help="the case database: a SQLite file, or postgresql://user@host/dbname for a database "
                             "several workstations share (default: $MELANOMA_DATABASE_URL, else Settings > Database)")
    parser.add_argument("--self-test", action="store_true",
                        help="load every model, check its backbone and its answers on the probe images "
                             "against the values recorded when it was exported, print one line per check, exit")
    sub = parser.add_subparsers(dest="command")
    add_triage_parser(sub)
    add_clinic_parsers(sub)
    add_adapt_parser(sub)
    add_storage_parsers(sub)
    return parser


def main(argv=None) -> int:
    multiprocessing.freeze_support()
    _frozen_app_guards()
    quiet_tensorflow()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train-worker"]:  # the wizard's training child (also inside the packaged app)
        from trainer.worker import main as worker_main

        return worker_main(argv[1])
    args = build_parser().parse_args(argv)
    _keep_patient_data_private(args)
    if args.self_test or args.command in ("triage", "evaluate", "calibrate", "adapt"):  # TensorFlow now, quietly
        from trainer.quiet import import_tensorflow_quietly

        import_tensorflow_quietly()
    if args.self_test:
        return _self_test(args)
    if args.command == "triage":
        from melanoma_desktop.cli import run_triage

        return run_triage(args)
    if args.command == "history":
        from melanoma_desktop.cli import run_history

        return run_history(args)
    if args.command in ("evaluate", "calibrate"):
        from melanoma_desktop.clinic_cli import run_clinic_command

        return run_clinic_command(args)
    if args.command in ("backup", "restore"):
        from melanoma_desktop.storage_cli import run_storage_command

        return run_storage_command(args)
    if args.command == "adapt":
        from melanoma_desktop.adapt_cli import run_adapt

        return run_adapt(args)

    from melanoma_desktop.ui.app import run_app  # here: the headless commands load no Qt widgets

    return run_app(args)


def _keep_patient_data_private(args) -> None:
    """Everything this process writes (the case database, pasted images, exports, reports) is the OS user's
    alone, and a user data folder an earlier release left readable to others is tightened (core/private_files)."""
    restrict_new_files_to_owner()
    changed = tighten_tree(user_data_dir(getattr(args, "data_dir", None)))
    if changed:
        print(f"note: {len(changed)} file(s) and folder(s) of the user data folder were readable by other "
              "accounts; they are now the owner's alone", file=sys.stderr)


def _frozen_app_guards() -> None:
    """A windowed frozen build may have no console streams, and its folder may be read-only."""
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")
    if getattr(sys, "frozen", False) and "MPLCONFIGDIR" not in os.environ:
        import tempfile

        os.environ["MPLCONFIGDIR"] = os.path.join(tempfile.gettempdir(), "melanoma-triage-matplotlib")


def _self_test(args) -> int:
    try:
        models = load_models(args.models, args.backbones)
        return run_self_test(models, out=lambda line: print(line, flush=True))
    except Exception as exc:  # the self-test reports every failure as a reason, never a traceback
        print(f"SELF-TEST FAILED: {type(exc).__name__}: {exc}", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
