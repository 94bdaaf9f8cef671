"""Progress of the running job: a bar, done/total, ETA and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


def format_eta(seconds) -> str:
    if seconds is None:
        return "estimating…"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s left" if seconds >= 60 else f"{seconds} s left"


class BatchBar(QWidget):
    sig_cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setMinimumWidth(200)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, text: str, total: int) -> None:
        self.label.setText(text)
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(0)
        self.cancel_button.setEnabled(True)
        self.show()

    def update_progress(self, done: int, total: int, eta_s, unit: str = "") -> None:
        """``done`` of ``total``; with ``unit`` (e.g. "pages") and no time estimate, the count alone."""
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(done)
        if unit and eta_s is None:
            self.bar.setFormat(f"{done} of {total} {unit}")
        else:
            self.bar.setFormat(f"{done} of {total}{' ' + unit if unit else ''} — {format_eta(eta_s)}")

    def set_text(self, text: str) -> None:
        """The label, unless Cancel was pressed (then it keeps saying so)."""
        if self.cancel_button.isEnabled():
            self.label.setText(text)

    def _on_cancel_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Cancelling…")
        self.sig_cancel_requested.emit()

    def finish(self) -> None:
        self.hide()
