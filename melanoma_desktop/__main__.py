"""Entry point: ``melanoma-desktop`` opens the window; ``melanoma-desktop triage ...`` works headless."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys


def build_parser() -> argparse.ArgumentParser:
    from melanoma_desktop.cli import add_triage_parser

    parser = argparse.ArgumentParser(prog="melanoma-desktop", description="Melanoma triage desktop (research software).")
    parser.add_argument("--models", help="folder of model bundles")
    parser.add_argument("--backbones", help="folder with ImageNet backbone weights")
    parser.add_argument("--data-dir", help="where the case database and settings live (default: the user's data folder)")
    sub = parser.add_subparsers(dest="command")
    add_triage_parser(sub)
    return parser


def main(argv=None) -> int:
    multiprocessing.freeze_support()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if args.command == "triage":
        from melanoma_desktop.cli import run_triage

        return run_triage(args)
    from melanoma_desktop.ui.app import run_app

    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
