"""Settings > Database: this computer's own database (the default), or one clinic database on a PostgreSQL
server that several workstations share, with the clinic image store they all mount. No password is asked or
kept here: PostgreSQL's password or service file supplies it (docs/clinic-database.md)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
)

from melanoma_desktop.core.storage.engine import DatabaseError
from melanoma_desktop.core.storage.location import (
    SQLITE_FILE,
    DatabaseSettings,
    connection_report,
    load_settings,
    save_settings,
)
from melanoma_desktop.ui.worker import Job

TLS_WORDS = {"prefer": "Use TLS when the server offers it", "require": "Require TLS",
             "verify-full": "Require TLS and check the server's certificate"}


class DatabaseSettingsController(QObject):
    """What the dialog asks: the settings saved in the data folder, a connection tested off the GUI thread."""

    sig_tested = Signal(bool, str)  # reachable, what was found (or why not)

    def __init__(self, data_dir: Path, runner, in_use, parent=None):
        super().__init__(parent)
        self.data_dir, self.runner, self.in_use = Path(data_dir), runner, in_use

    def settings(self) -> DatabaseSettings:
        try:
            return load_settings(self.data_dir)
        except DatabaseError:
            return DatabaseSettings()

    def save(self, settings: DatabaseSettings) -> None:
        save_settings(self.data_dir, settings)

    def test(self, settings: DatabaseSettings) -> Job:
        def body(should_stop, on_progress):
            target = settings.checked().target() or self.data_dir / SQLITE_FILE
            if settings.image_store and not Path(settings.image_store).is_dir():
                raise DatabaseError(f"the image store {settings.image_store} is not a folder here: mount it first")
            return connection_report(target)

        job = Job("Testing the database", body)
        job.signals.sig_finished.connect(lambda text: self.sig_tested.emit(True, text))
        job.signals.sig_failed.connect(lambda message, _tb: self.sig_tested.emit(False, message))
        return self.runner.submit(job, heavy=False)


class DatabaseDialog(QDialog):
    def __init__(self, controller: DatabaseSettingsController, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.setWindowTitle("Database")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        now = QLabel(f"In use now: {controller.in_use}")
        now.setWordWrap(True)
        layout.addWidget(now)
        self.local_button = QRadioButton("This computer only (the cases stay in this computer's data folder)")
        self.shared_button = QRadioButton("One clinic database that several workstations share (a PostgreSQL server)")
        group = QButtonGroup(self)
        for button in (self.local_button, self.shared_button):
            group.addButton(button)
            layout.addWidget(button)
        form = QFormLayout()
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("postgresql://clinician@db-server/melanoma")
        form.addRow("Server", self.url_edit)
        self.tls_box = QComboBox()
        for mode, words in TLS_WORDS.items():
            self.tls_box.addItem(words, mode)
        form.addRow("TLS", self.tls_box)
        store_row = QHBoxLayout()
        self.store_edit = QLineEdit()
        self.store_edit.setPlaceholderText("a folder every workstation mounts, e.g. /mnt/clinic-images")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_store)
        store_row.addWidget(self.store_edit, 1)
        store_row.addWidget(browse)
        form.addRow("Image store", store_row)
        layout.addLayout(form)
        hint = QLabel("No password is kept here: put it in PostgreSQL's password file (~/.pgpass, readable by you "
                      "alone) or use a service file (postgresql:///?service=clinic). Triaged images are copied into "
                      "the image store, never moved. The app uses the new database after a restart.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        layout.addWidget(hint)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        layout.addWidget(self.result_label)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        self.test_button = buttons.addButton("Test connection", QDialogButtonBox.ActionRole)
        self.test_button.clicked.connect(self.test)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        controller.sig_tested.connect(self._on_tested)
        group.buttonToggled.connect(lambda *_: self._enable())
        current = controller.settings()
        (self.shared_button if current.url else self.local_button).setChecked(True)
        self.url_edit.setText(current.url)
        self.tls_box.setCurrentIndex(max(0, self.tls_box.findData(current.ssl_mode)))
        self.store_edit.setText(current.image_store)
        self._enable()

    def chosen(self) -> DatabaseSettings:
        if self.local_button.isChecked():
            return DatabaseSettings()
        return DatabaseSettings(url=self.url_edit.text().strip(), ssl_mode=self.tls_box.currentData(),
                                image_store=self.store_edit.text().strip())

    def _enable(self) -> None:
        for widget in (self.url_edit, self.tls_box, self.store_edit):
            widget.setEnabled(self.shared_button.isChecked())

    def _choose_store(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Clinic image store", self.store_edit.text())
        if folder:
            self.store_edit.setText(folder)

    def test(self) -> None:
        self.result_label.setText("Testing…")
        self.test_button.setEnabled(False)
        self.controller.test(self.chosen())

    def _on_tested(self, ok: bool, text: str) -> None:
        self.test_button.setEnabled(True)
        self.result_label.setStyleSheet("" if ok else "color: #b3261e;")
        self.result_label.setText(text if ok else f"Not usable: {text}")

    def save(self) -> None:
        try:
            self.controller.save(self.chosen())
        except DatabaseError as exc:
            self.result_label.setStyleSheet("color: #b3261e;")
            self.result_label.setText(f"Not saved: {exc}")
            return
        QMessageBox.information(self, "Database", "Saved. Restart the app to use this database.")
        self.accept()
