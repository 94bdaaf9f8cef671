"""How images reach the window (drop, paste, File > Open) and what the window remembers between sessions: plain
functions the window calls from its own event handlers. Every path ends in the window's ``sig_images_dropped``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QUrl
from PySide6.QtGui import QGuiApplication

from melanoma_desktop.core.dicom import DICOM_EXTENSIONS
from melanoma_desktop.core.storage.timestamps import now_iso
from trainer.api import IMAGE_EXTENSIONS


def image_file_filter() -> str:
    """The open dialogs' filter, from the decoders' own extension lists."""
    return "Images and DICOM (" + " ".join(f"*{ext}" for ext in (*IMAGE_EXTENSIONS, *DICOM_EXTENSIONS)) + ")"


def paths_from_urls(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile()]


def paths_from_clipboard(pasted_dir: Path) -> list[str]:
    """The clipboard's image files, or its image saved as a PNG in ``pasted_dir``; [] when it holds neither."""
    mime = QGuiApplication.clipboard().mimeData()
    paths = paths_from_urls(mime.urls()) if mime.hasUrls() else []
    if not paths and mime.hasImage():
        pasted_dir.mkdir(parents=True, exist_ok=True)
        path = pasted_dir / f"pasted-{now_iso().replace(':', '')}.png"
        QGuiApplication.clipboard().image().save(str(path), "PNG")
        paths = [str(path)]
    return paths


# -- remembered between sessions: window geometry, splitter, filter, hidden columns ---------------
def _settings(data_dir: Path) -> QSettings:
    """Beside the case database (the user's data folder, or --data-dir), so each installation keeps its own."""
    return QSettings(str(data_dir / "window.ini"), QSettings.IniFormat)


def restore_layout(window, data_dir: Path) -> None:
    settings = _settings(data_dir)
    if settings.value("main/geometry") is not None:
        window.restoreGeometry(settings.value("main/geometry"))
    if settings.value("main/splitter") is not None:
        window.splitter.restoreState(settings.value("main/splitter"))
    window.worklist_panel.set_filter(str(settings.value("main/filter", "all")))
    hidden = str(settings.value("main/hidden_columns", "Lesion|Added"))  # by heading; a 1280 window's default
    window.worklist.hide_columns(hidden.split("|"))


def save_layout(window, data_dir: Path) -> None:
    settings = _settings(data_dir)
    settings.setValue("main/geometry", window.saveGeometry())
    settings.setValue("main/splitter", window.splitter.saveState())
    settings.setValue("main/filter", window.current_filter())
    settings.setValue("main/hidden_columns", "|".join(window.worklist.hidden_columns()))
