"""``melanoma-desktop backup FILE`` and ``restore FILE``: the case database of this computer, copied out and back
while the app may be running (core/storage/backup.py)."""

from __future__ import annotations

import argparse
import sys

from melanoma_desktop.cli import add_data_dir_option, database_of
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.storage.backup import backup, restore
from melanoma_desktop.core.storage.engine import DatabaseError

EXIT_REFUSED = 2


def add_storage_parsers(sub) -> None:
    backup_command = sub.add_parser("backup", help="copy the case database to FILE (consistent while the app runs)")
    backup_command.add_argument("file", help="the backup file to write (must not exist)")
    restore_command = sub.add_parser("restore", help="replace the case database with the backup FILE (the current "
                                                     "one is kept beside it)")
    restore_command.add_argument("file", help="a backup written by 'backup'")
    for parser in (backup_command, restore_command):
        add_data_dir_option(parser)


def run_storage_command(args: argparse.Namespace) -> int:
    target = database_of(args)
    try:
        if args.command == "backup":
            written = backup(target, args.file)
            print(f"backed up {target} to {written}")
            return 0
        kept, version = restore(target, args.file)
        with CaseDatabase(target) as db:  # an older backup is upgraded now; the audit says what happened
            db.audit("database restored from a backup", f"schema {version}, {db.count()} case(s)")
            count = db.count()
        print(f"restored {count} case(s) from {args.file}" + (f"; the database before is kept in {kept}" if kept else ""))
        return 0
    except DatabaseError as exc:
        print(f"melanoma-desktop {args.command}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
