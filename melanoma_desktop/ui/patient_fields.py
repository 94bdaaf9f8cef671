"""A patient's name, birth date and sex as form rows, shared by Assign to patient / lesion and Patient details."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit

from melanoma_desktop.core.patients import SEXES
from melanoma_desktop.ui.date_field import DateField


class PatientFields:
    def __init__(self):
        self.name = QLineEdit()
        self.name.setPlaceholderText("optional; kept on this computer only")
        self.birth_date = DateField()
        self.sex = QComboBox()
        self.sex.addItems([s or "—" for s in SEXES])

    def add_rows(self, form: QFormLayout) -> None:
        form.addRow("Name", self.name)
        form.addRow("Birth date", self.birth_date)
        form.addRow("Sex", self.sex)

    def show_patient(self, details: dict | None) -> None:
        """A known patient's details, or empty fields for a new one."""
        details = details or {}
        self.name.setText(details.get("name", ""))
        self.birth_date.set_text(details.get("birth_date", ""))
        self.sex.setCurrentIndex(SEXES.index(details.get("sex", "")) if details.get("sex", "") in SEXES else 0)

    def values(self) -> tuple[str, str, str]:
        """(name, birth date, sex) as entered; IdentityError for a birth date that is not a real past date."""
        return (self.name.text().strip(), self.birth_date.checked_text("birth date"),
                SEXES[self.sex.currentIndex()])
