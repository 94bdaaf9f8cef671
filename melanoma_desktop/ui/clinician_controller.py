"""Who is using the app: asks at start when the clinic keeps a list of clinicians, switches on request,
keeps the clinic's settings, and shows the name in the status bar (core.clinicians records it)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMessageBox

from melanoma_desktop.core.clinicians import (
    ClinicianError,
    ClinicSettings,
    current_clinician,
    load_clinic_settings,
    save_clinic_settings,
    set_current_clinician,
)
from melanoma_desktop.ui.clinician_dialogs import ClinicSettingsDialog, WhoIsUsingDialog
from melanoma_desktop.ui.database_dialog import DatabaseDialog, DatabaseSettingsController


class ClinicianController(QObject):
    sig_clinician_changed = Signal(str)

    def __init__(self, data_dir: str | Path, window):
        super().__init__(window)
        self.data_dir, self.window = Path(data_dir), window
        try:
            self.settings = load_clinic_settings(self.data_dir)
        except ClinicianError as exc:  # a damaged file: said once, and nobody is locked out
            self.settings = ClinicSettings()
            window.statusBar().showMessage(str(exc), 15000)
        self.status_label = QLabel("")
        self.status_label.setObjectName("clinician_status")
        window.statusBar().addPermanentWidget(self.status_label)
        self._show_name()

    def build_menu(self, menu_bar) -> None:
        menu = menu_bar.addMenu("&Settings")
        self.switch_action = QAction("Switch clinician…", self.window)
        self.switch_action.triggered.connect(self.ask_who)
        menu.addAction(self.switch_action)
        clinic = QAction("Clinic and clinicians…", self.window)
        clinic.triggered.connect(self.edit_settings)
        menu.addAction(clinic)
        self.switch_action.setEnabled(self.settings.asks_at_start)
        database = QAction("Database…", self.window)  # this computer's own, or the clinic's shared one
        database.triggered.connect(self.edit_database)
        menu.addAction(database)

    def edit_database(self):
        controller = self.window.controller
        where = controller.db.where + (f"; images copied to {controller.image_store}" if controller.image_store
                                       else "")
        dialog = DatabaseDialog(DatabaseSettingsController(self.data_dir, controller.runner, where, self), self.window)
        dialog.show()
        return dialog

    def ask_at_start(self):
        """With a list of clinicians: ask who is using the app (a dialog, returned), the patients' data hidden
        until someone is chosen (cancelled: the window closes); without a list: nothing."""
        if not self.settings.asks_at_start:
            return None
        central = self.window.centralWidget()
        central.hide()
        dialog = self.ask_who()
        dialog.accepted.connect(central.show)
        dialog.rejected.connect(self.window.close)
        return dialog

    def ask_who(self):
        dialog = WhoIsUsingDialog(self.settings, current_clinician(), self.window)
        dialog.accepted.connect(lambda: self.use(dialog.chosen))
        dialog.show()
        return dialog

    def use(self, name: str | None) -> None:
        set_current_clinician(name)
        self._show_name()
        self.sig_clinician_changed.emit(current_clinician())

    def edit_settings(self):
        dialog = ClinicSettingsDialog(self.settings, self.window)
        dialog.accepted.connect(lambda: self.save(dialog.result_settings()))
        dialog.show()
        return dialog

    def save(self, settings: ClinicSettings) -> None:
        try:
            save_clinic_settings(self.data_dir, settings)
        except OSError as exc:
            QMessageBox.warning(self.window, "Clinic settings", f"Could not save the clinic's settings: {exc}")
            return
        self.settings = settings
        self.switch_action.setEnabled(settings.asks_at_start)
        if current_clinician() not in [c.name for c in settings.clinicians]:
            set_current_clinician(None)  # removed from the list, or no list: the computer's user
        self._show_name()

    def _show_name(self) -> None:
        name = current_clinician()
        where = f" · {self.settings.clinic_name}" if self.settings.clinic_name else ""
        self.status_label.setText(f"Clinician: {name}{where}")
