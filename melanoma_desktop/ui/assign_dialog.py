"""Case > Assign to patient / lesion: file the selected cases under a patient's lesion, choosing from the
recent patients and that patient's lesions (or typing new ones), with a body site and the visit's date."""

from __future__ import annotations

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDateEdit, QDialog, QDialogButtonBox, QFormLayout, QLabel,
                               QVBoxLayout)

from melanoma_desktop.core.patients import BODY_SITES, Identity


class AssignDialog(QDialog):
    def __init__(self, db, case_ids: list[int], parent=None):
        super().__init__(parent)
        self.db, self.case_ids = db, list(case_ids)
        self.setWindowTitle("Assign to patient / lesion")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(self.case_ids)} case(s). A patient's ID is your clinic's own; names stay on "
                                "this computer."))
        form = QFormLayout()
        self.patient = QComboBox()
        self.patient.setEditable(True)
        self.patient.addItems(db.recent_patients())
        self.patient.setEditText("")
        self.lesion = QComboBox()
        self.lesion.setEditable(True)
        self.body_site = QComboBox()
        self.body_site.addItems(list(BODY_SITES))
        self.body_site.setCurrentIndex(len(BODY_SITES) - 1)
        self.taken = QDateEdit(QDate.currentDate())
        self.taken.setCalendarPopup(True)
        self.taken.setDisplayFormat("yyyy-MM-dd")
        self.use_date = QCheckBox("Visit date")
        self.use_date.setChecked(False)
        self.use_date.setToolTip("Unticked: the date the case was added (or the picture's own date, when known)")
        form.addRow("Patient ID", self.patient)
        form.addRow("Lesion", self.lesion)
        form.addRow("Body site", self.body_site)
        form.addRow(self.use_date, self.taken)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e;")
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.patient.currentTextChanged.connect(self._on_patient)

    def _on_patient(self, patient_id: str) -> None:
        self.lesion.clear()
        history = self.db.history(patient_id.strip()) if patient_id.strip() else None
        self.lesion.addItems([entry["lesion"] for entry in (history or {}).get("lesions", [])])

    def identity(self) -> Identity:
        return Identity(self.patient.currentText().strip(), self.lesion.currentText().strip() or "unspecified",
                        self.body_site.currentText(),
                        self.taken.date().toString("yyyy-MM-dd") if self.use_date.isChecked() else "").checked()

    def apply(self) -> bool:
        try:
            identity = self.identity()
        except ValueError as exc:
            self.error.setText(str(exc))
            return False
        for case_id in self.case_ids:
            self.db.assign(case_id, identity)
        self.accept()
        return True
