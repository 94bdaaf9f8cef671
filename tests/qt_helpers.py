"""Helpers for pytest-qt tests."""

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from fakes import FakeClassifier


def drop(window, paths):
    """Drag file URLs over the window and drop them (the handlers a real drag reaches)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    assert event.isAccepted()


def make_window(qtbot, tmp_path, classifier=None):
    classifier = classifier or FakeClassifier()
    from melanoma_desktop.ui.main_window import MainWindow

    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: classifier)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    return window


def import_confirmed(window, qtbot, path, **options) -> str:
    """The window's clinic controller imports a CSV of confirmed diagnoses (a job); what it recorded, once done."""
    with qtbot.waitSignal(window.clinic.sig_import_done, timeout=20000) as done:
        window.clinic.import_confirmed(str(path), **options)
    return done.args[0]
