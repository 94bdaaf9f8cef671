"""Case > Assign to patient / lesion: file the selected cases under a patient's lesion, choosing from the
recent patients and that patient's lesions (or typing new ones), with the patient's details, the lesion's
side and body site (filled in for a known lesion) and the visit's date."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout

from melanoma_desktop.core.patients import BODY_SITES, SIDES, Identity, body_site_text, split_body_site
from melanoma_desktop.ui.date_field import DateField
from melanoma_desktop.ui.patient_fields import PatientFields


class AssignDialog(QDialog):
    def __init__(self, records, case_ids: list[int], parent=None):
        super().__init__(parent)
        self.records, self.case_ids = records, list(case_ids)  # ui.patient_controller
        self._lesion_sites: dict[str, str] = {}
        self.setWindowTitle("Assign to patient / lesion")
        layout = QVBoxLayout(self)
        n = len(self.case_ids)
        layout.addWidget(QLabel(f"{n} case{'' if n == 1 else 's'}. A patient's ID is your clinic's own; names stay "
                                "on this computer."))
        form = QFormLayout()
        self.patient = QComboBox()
        self.patient.setEditable(True)
        self.patient.addItems(records.recent_patients())
        self.patient.setEditText("")
        self.details = PatientFields()
        self.lesion = QComboBox()
        self.lesion.setEditable(True)
        self.side = QComboBox()
        self.side.addItems([s or "—" for s in SIDES])
        self.body_site = QComboBox()
        self.body_site.addItems(list(BODY_SITES))
        self.body_site.setCurrentIndex(len(BODY_SITES) - 1)
        where = QHBoxLayout()
        where.addWidget(self.side)
        where.addWidget(self.body_site, 1)
        self.taken = DateField()
        self.taken.edit.setToolTip("Empty: the date the case was added (or the picture's own date, when known)")
        form.addRow("Patient ID", self.patient)
        self.details.add_rows(form)
        form.addRow("Lesion", self.lesion)
        form.addRow("Side, body site", where)
        form.addRow("Visit date", self.taken)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #b3261e;")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.apply)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.patient.currentTextChanged.connect(self._on_patient)
        self.lesion.currentTextChanged.connect(self._on_lesion)

    def _on_patient(self, patient_id: str) -> None:
        self.lesion.clear()
        history = self.records.history(patient_id.strip()) if patient_id.strip() else None
        lesions = (history or {}).get("lesions", [])
        self._lesion_sites = {entry["lesion"]: entry["body_site"] for entry in lesions}
        self.lesion.addItems([entry["lesion"] for entry in lesions])
        self.details.show_patient(history)

    def _on_lesion(self, lesion: str) -> None:
        """A known lesion brings its side and body site; a new one keeps what was chosen."""
        site = self._lesion_sites.get(lesion.strip())
        if site:
            self.set_body_site(site)

    def show_current(self, identity: dict) -> None:
        """The case's current patient, lesion, body site and visit date (core's identity_of)."""
        self.patient.setCurrentText(identity["patient_id"])
        self.lesion.setCurrentText(identity["lesion"])
        self.set_body_site(identity.get("body_site") or "")
        self.taken.set_text(identity.get("taken") or "")

    def set_body_site(self, text: str) -> None:
        side, site = split_body_site(text)
        self.side.setCurrentIndex(SIDES.index(side))
        if self.body_site.findText(site) < 0:  # a site written before this list (e.g. "trunk, front") stays
            self.body_site.insertItem(self.body_site.count() - 1, site)
        self.body_site.setCurrentText(site)

    def body_site_value(self) -> str:
        return body_site_text(SIDES[self.side.currentIndex()], self.body_site.currentText())

    def identity(self) -> Identity:
        name, birth_date, sex = self.details.values()
        return Identity(self.patient.currentText().strip(), self.lesion.currentText().strip() or "unspecified",
                        self.body_site_value(), self.taken.checked_text("visit date"), name, birth_date, sex).checked()

    def apply(self) -> bool:
        try:
            identity = self.identity()
        except ValueError as exc:
            self.error.setText(str(exc))
            return False
        self.records.save_patient(identity)  # the details as shown: typed, edited or left as they were
        for case_id in self.case_ids:
            self.records.assign(case_id, identity)
        self.accept()
        return True
