"""File > Import confirmed diagnoses: what the file would change, shown before anything is written
(core.confirmed_import), with the conflicting rows listed and kept unless the clinician chooses to replace
them. Written as one import that File > Undo last import puts back."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from melanoma_desktop.ui.screen_fit import fit_to_screen


def _n(count: int, one: str, many: str) -> str:
    """'1 case gets' / '3 cases get'."""
    return f"{count} {one if count == 1 else many}"


class ImportPreviewDialog(QDialog):
    def __init__(self, plan, parent=None):
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Import confirmed diagnoses")
        layout = QVBoxLayout(self)
        intro = QLabel(f"<b>{_n(len(plan.new), 'case gets', 'cases get')}</b> a confirmed diagnosis from this file. "
                       f"{_n(len(plan.unchanged), 'already has', 'already have')} the same one. "
                       f"{_n(len(plan.conflicting), 'has', 'have')} a different one"
                       f"{': listed below' if plan.conflicting else ''}. "
                       f"{_n(len(plan.unmatched), 'row matches', 'rows match')} no case"
                       + (f"; {_n(len(plan.ambiguous), 'name matches', 'names match')} several cases and "
                          "are left out (give their SHA-256)" if plan.ambiguous else "") + ".")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        sources = ", ".join(f"{n} {s}" for s, n in sorted(plan.sources.items())) or "none"
        self.sources_label = QLabel(f"Sources, as the file gives them: {sources}. A row without a source is "
                                    "recorded without one.")
        self.sources_label.setWordWrap(True)
        layout.addWidget(self.sources_label)
        self.table = QTableWidget(len(plan.conflicting), 6)
        self.table.setHorizontalHeaderLabels(["Image", "Patient", "Visit", "Recorded now", "In the file",
                                              "Source in the file"])
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        for row, change in enumerate(plan.conflicting):
            for column, text in enumerate((change.file_name, change.patient, change.visit, change.current_label or "",
                                           change.row.label, change.row.source or "not given")):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.table.resizeColumnsToContents()
        self.table.setVisible(bool(plan.conflicting))
        layout.addWidget(self.table, 1)
        conflicts = _n(len(plan.conflicting), "conflicting diagnosis", "conflicting diagnoses")
        self.replace_box = QCheckBox(f"Replace {conflicts} with the file's")
        self.replace_box.setVisible(bool(plan.conflicting))
        layout.addWidget(self.replace_box)
        note = QLabel("The import can be undone as one step (File > Undo last import of confirmed diagnoses).")
        note.setStyleSheet("color: #555;")
        layout.addWidget(note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Cancel)
        self.import_button = self.buttons.addButton("Import", QDialogButtonBox.AcceptRole)
        self.import_button.setEnabled(bool(plan.new or plan.conflicting))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        fit_to_screen(self, 760, 460 if plan.conflicting else 240)

    def replace_conflicting(self) -> bool:
        return self.replace_box.isChecked()
