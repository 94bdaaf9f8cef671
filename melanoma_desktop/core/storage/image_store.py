"""The clinic image store: when several workstations share one database, each triaged image is copied (never
moved) into a folder they all mount, named by its content's SHA-256, so that any workstation can open any case's
image. The same image triaged twice is stored once; a copy is written under a temporary name and renamed, so a
half-copied file is never seen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from melanoma_desktop.core.dicom import FRAME_MARK, split_frame  # "FILE#frame=K": a frame of a multi-frame file


class ImageStoreError(OSError):
    """The clinic image store cannot be written (not mounted, full, or not permitted)."""


def stored_path(store: Path, sha256: str, suffix: str) -> Path:
    return Path(store) / sha256[:2] / f"{sha256}{suffix.lower()}"


def store_image(store: str | Path, source: str, sha256: str) -> str:
    """Copy ``source`` into the store (once per content) and return the path the case should keep (with its
    frame suffix, when it names a frame of a multi-frame file)."""
    file_part, frame = split_frame(source)
    target = stored_path(Path(store), sha256, Path(file_part).suffix)
    if not target.is_file():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
            shutil.copyfile(file_part, partial)
            os.chmod(partial, 0o640)  # the clinic's group (every workstation's account) may read it
            os.replace(partial, target)
        except OSError as exc:
            raise ImageStoreError(f"cannot copy {file_part} into the clinic image store {store}: {exc}; check that "
                                  "the store is mounted and writable") from None
    return str(target) + (f"{FRAME_MARK}{frame}" if frame is not None else "")


def remove_copies(case_path: str, pasted_dir: str | Path | None, store: str | Path | None) -> None:
    """After a case is deleted: its image's copy in the app's ``pasted_dir`` or in the clinic image ``store``
    (the caller passes the store only when no other case keeps that copy); the clinic's own files are never
    touched."""
    path = Path(split_frame(case_path)[0])
    if pasted_dir is not None and path.resolve().parent == Path(pasted_dir).resolve() and path.is_file():
        path.unlink()
    if store is not None and Path(store).resolve() in path.resolve().parents and path.is_file():
        path.unlink()
