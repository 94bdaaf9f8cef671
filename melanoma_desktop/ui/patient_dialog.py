"""Case > Patient details: create a patient, or edit one's name, birth date and sex (the selected case's
patient, or any other chosen by ID). Saved to the case database, audited by ID and the fields changed."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout

from melanoma_desktop.core.patients import Identity
from melanoma_desktop.ui.patient_fields import PatientFields


class PatientDialog(QDialog):
    def __init__(self, records, patient_id: str = "", parent=None):
        super().__init__(parent)
        self.records = records  # ui.patient_controller: never the database itself
        self.setWindowTitle("Patient details")
        layout = QVBoxLayout(self)
        self.status = QLabel("")
        layout.addWidget(self.status)
        form = QFormLayout()
        self.patient = QComboBox()
        self.patient.setEditable(True)
        self.patient.addItems(records.recent_patients())
        self.fields = PatientFields()
        form.addRow("Patient ID", self.patient)
        self.fields.add_rows(form)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.patient.currentTextChanged.connect(self._on_patient)
        self.patient.setEditText(patient_id)
        self._on_patient(patient_id)

    def _on_patient(self, patient_id: str) -> None:
        details = self.records.patient_details(patient_id.strip()) if patient_id.strip() else None
        self.fields.show_patient(details)
        self.status.setText("A new patient: the ID is your clinic's own; the name stays on this computer."
                            if details is None else "Editing this patient's details (every case of theirs shows "
                                                    "them).")

    def apply(self) -> bool:
        try:
            name, birth_date, sex = self.fields.values()
            self.records.save_patient(Identity(self.patient.currentText().strip(), name=name, birth_date=birth_date,
                                          sex=sex))
        except ValueError as exc:
            self.error.setText(str(exc))
            return False
        self.accept()
        return True
