"""How images reach the window (drop, paste, File > Open) and what the window remembers between sessions
(a MainWindow mixin). Every path ends in ``sig_images_dropped``."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog


def image_file_filter() -> str:
    """The open dialogs' filter, from the decoders' own extension lists."""
    from melanoma_desktop.core.dicom import DICOM_EXTENSIONS
    from trainer.api import IMAGE_EXTENSIONS

    return "Images and DICOM (" + " ".join(f"*{ext}" for ext in (*IMAGE_EXTENSIONS, *DICOM_EXTENSIONS)) + ")"


def paths_from_urls(urls: list[QUrl]) -> list[str]:
    return [url.toLocalFile() for url in urls if url.isLocalFile()]


class InputActions:
    """Expects ``self.sig_images_dropped``, ``self.db_path``, ``self.splitter``, ``self.worklist_panel``,
    ``self.current_filter()`` and a status bar."""

    # -- remembered between sessions: window geometry, splitter, filter ------------------------
    def _settings(self):
        """Beside the case database (the user's data folder, or --data-dir), so each installation keeps its own."""
        from PySide6.QtCore import QSettings

        return QSettings(str(self.db_path.parent / "window.ini"), QSettings.IniFormat)

    def _restore_layout(self) -> None:
        settings = self._settings()
        if settings.value("main/geometry") is not None:
            self.restoreGeometry(settings.value("main/geometry"))
        if settings.value("main/splitter") is not None:
            self.splitter.restoreState(settings.value("main/splitter"))
        self.worklist_panel.set_filter(str(settings.value("main/filter", "all")))
        hidden = str(settings.value("main/hidden_columns", "Lesion|Added"))  # by heading; a 1280 window's default
        self.worklist.hide_columns(hidden.split("|"))

    def _save_layout(self) -> None:
        settings = self._settings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/splitter", self.splitter.saveState())
        settings.setValue("main/filter", self.current_filter())
        settings.setValue("main/hidden_columns", "|".join(self.worklist.hidden_columns()))

    # -- input ----------------------------------------------------------------------------------
    def dragEnterEvent(self, event):
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event):
        paths = paths_from_urls(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.sig_images_dropped.emit(paths)

    def paste_from_clipboard(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        paths = paths_from_urls(mime.urls()) if mime.hasUrls() else []
        if not paths and mime.hasImage():
            image = QGuiApplication.clipboard().image()
            target = self.db_path.parent / "pasted"
            target.mkdir(parents=True, exist_ok=True)
            from melanoma_desktop.core.database import now_iso

            path = target / f"pasted-{now_iso().replace(':', '')}.png"
            image.save(str(path), "PNG")
            paths = [str(path)]
        if paths:
            self.sig_images_dropped.emit(paths)
        else:
            self.statusBar().showMessage("The clipboard holds no image or image file.", 5000)

    def _open_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Open dermoscopic images", "", image_file_filter())
        self.sig_images_dropped.emit(files)

    def _open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if folder:
            self.sig_images_dropped.emit([folder])

