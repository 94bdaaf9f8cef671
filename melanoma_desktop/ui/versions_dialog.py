"""Models > Versions: every promoted version of each model; restore an earlier one."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout


class VersionsDialog(QDialog):
    sig_restored = Signal(str, str)  # name, version

    def __init__(self, registry, parent=None):
        super().__init__(parent)
        self.registry = registry
        self.setWindowTitle("Model versions")
        self.resize(760, 380)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Promoted versions in {registry.root} (models never promoted use the shipped ones)."))
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["model", "version", "created", "active"])
        layout.addWidget(self.table, 1)
        self.restore_button = QPushButton("Make the selected version active")
        self.restore_button.clicked.connect(self.restore_selected)
        layout.addWidget(self.restore_button)
        self.refresh()

    def refresh(self) -> None:
        versions = self.registry.versions()
        self.table.setRowCount(len(versions))
        for r, v in enumerate(versions):
            for c, value in enumerate((v.name, v.version, v.created_at, "✓" if v.active else "")):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()

    def restore_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        name, version = self.table.item(row, 0).text(), self.table.item(row, 1).text()
        self.registry.restore(name, version)
        self.refresh()
        self.sig_restored.emit(name, version)
