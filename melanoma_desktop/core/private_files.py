"""Patient data readable by its owner only.

The case database holds names, birth dates, notes and diagnoses; on a workstation several people log in
to, none of it may be readable by another account. On Linux and macOS the process creates everything
with the owner's permissions only (umask 077: folders 0700, files 0600), the case database and its WAL
files are created 0600 whatever the umask, and the user data folder is tightened on every start (a folder
made by an earlier release was 0755 with a 0644 database). On Windows the per-user application data folder
is already closed to other accounts by the profile's own access list, and these calls change nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
POSIX = os.name == "posix"


def restrict_new_files_to_owner() -> int | None:
    """From now on this process creates folders 0700 and files 0600 (POSIX). Returns the previous umask."""
    return os.umask(OWNER_ONLY_UMASK) if POSIX else None


def make_private_dir(path: str | Path) -> Path:
    """``path`` (and missing parents) created if needed; ``path`` itself closed to group and others."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    _drop_group_and_other(path)
    return path


def create_private_file(path: str | Path) -> Path:
    """``path`` created empty with mode 0600 if it does not exist; an existing one closed to group and others.
    SQLite gives a database's -wal and -shm files the database file's own permissions, so creating the
    database this way covers them."""
    path = Path(path)
    if POSIX:
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            _drop_group_and_other(path)
    return path


def tighten_tree(root: str | Path) -> list[Path]:
    """Everything under ``root`` (and ``root``) closed to group and others; symbolic links are not followed.
    Returns what was changed, so a start-up can say it."""
    root = Path(root)
    if not POSIX or not root.is_dir():
        return []
    changed = [root] if _drop_group_and_other(root) else []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if not path.is_symlink() and _drop_group_and_other(path):
                changed.append(path)
    return changed


def secure_user_data_dir(path: str | Path) -> list[Path]:
    """The user data folder as it must be before any patient data is written: created private, and what an
    earlier release left readable tightened. Returns the paths that were tightened."""
    make_private_dir(path)
    return tighten_tree(path)


def is_owner_only(path: str | Path) -> bool:
    """True when neither group nor others have any permission on ``path`` (always True off POSIX)."""
    return not POSIX or not (Path(path).stat().st_mode & 0o077)


def _drop_group_and_other(path: Path) -> bool:
    if not POSIX:
        return False
    mode = stat.S_IMODE(path.lstat().st_mode)
    if not mode & 0o077:
        return False
    os.chmod(path, mode & 0o700)
    return True
