"""Who is using the app (asked at start when the clinic keeps a list), and the clinic's settings: its name
on reports and its list of clinicians, each with an optional PIN (core.clinicians)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
)

from melanoma_desktop.core.clinicians import Clinician, ClinicianError, ClinicSettings


def _error_label() -> QLabel:
    label = QLabel("")
    label.setStyleSheet("color: #b3261e;")
    label.setWordWrap(True)
    return label


class WhoIsUsingDialog(QDialog):
    """Choose yourself from the clinic's list (and give your PIN when you have one)."""

    def __init__(self, settings: ClinicSettings, current: str = "", parent=None):
        super().__init__(parent)
        self.settings, self.chosen = settings, ""
        self.setWindowTitle("Who is using the app?")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Your assessments, reviews and notes are recorded under your name."))
        form = QFormLayout()
        self.names = QComboBox()
        self.names.addItems([c.name for c in settings.clinicians])
        if current in [c.name for c in settings.clinicians]:
            self.names.setCurrentText(current)
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.Password)
        form.addRow("Clinician", self.names)
        form.addRow("PIN", self.pin)
        layout.addLayout(form)
        self.error = _error_label()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.names.currentTextChanged.connect(self._on_name)
        self._on_name(self.names.currentText())

    def _on_name(self, name: str) -> None:
        clinician = self.settings.find(name)
        self.pin.setEnabled(bool(clinician and clinician.has_pin))
        self.pin.setPlaceholderText("" if clinician and clinician.has_pin else "no PIN set")

    def apply(self) -> bool:
        clinician = self.settings.find(self.names.currentText())
        if clinician is None:
            self.error.setText("Choose a name from the clinic's list.")
            return False
        if not clinician.pin_matches(self.pin.text()):
            self.pin.clear()
            self.error.setText(f"That is not {clinician.name}'s PIN.")
            return False
        self.chosen = clinician.name
        self.accept()
        return True


class ClinicSettingsDialog(QDialog):
    """The clinic's name (printed on reports) and its clinicians. Without any, nobody is asked at start and
    the computer's user is recorded."""

    def __init__(self, settings: ClinicSettings, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.setWindowTitle("Clinic and clinicians")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.clinic_name = QLineEdit(settings.clinic_name)
        self.clinic_name.setPlaceholderText("printed at the top of case and follow-up reports")
        form.addRow("Clinic name", self.clinic_name)
        layout.addLayout(form)
        layout.addWidget(QLabel("Clinicians (with a list, the app asks at start who is using it; without one it "
                                "asks nothing and records this computer's user):"))
        self.clinician_list = QListWidget()
        layout.addWidget(self.clinician_list)
        row = QHBoxLayout()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("name, e.g. Dr A. Smith")
        self.new_pin = QLineEdit()
        self.new_pin.setEchoMode(QLineEdit.Password)
        self.new_pin.setPlaceholderText("PIN (optional, 4+ digits)")
        self.add_button = QPushButton("Add / set PIN")
        self.remove_button = QPushButton("Remove")
        for widget in (self.new_name, self.new_pin, self.add_button, self.remove_button):
            row.addWidget(widget)
        layout.addLayout(row)
        self.error = _error_label()
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.add_button.clicked.connect(self.add_clinician)
        self.remove_button.clicked.connect(self.remove_selected)
        self._fill()

    def _fill(self) -> None:
        self.clinician_list.clear()
        for c in self.settings.clinicians:
            self.clinician_list.addItem(f"{c.name}{'  (PIN)' if c.has_pin else ''}")

    def add_clinician(self) -> bool:
        try:
            clinician = Clinician(self.new_name.text().strip()).with_pin(self.new_pin.text())
            self.settings = self.settings.with_clinician(clinician)
        except ClinicianError as exc:
            self.error.setText(str(exc))
            return False
        self.error.setText("")
        self.new_name.clear()
        self.new_pin.clear()
        self._fill()
        return True

    def remove_selected(self) -> None:
        row = self.clinician_list.currentRow()
        if 0 <= row < len(self.settings.clinicians):
            self.settings = self.settings.without(self.settings.clinicians[row].name)
            self._fill()

    def result_settings(self) -> ClinicSettings:
        return ClinicSettings(self.clinic_name.text().strip(), list(self.settings.clinicians))
