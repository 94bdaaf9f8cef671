"""Models > Versions: every promoted version of each model, the clinic's flag lines and the models adapted to the
clinic; restore an earlier one, export or import an adapted set as one file."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from melanoma_desktop.core.site_models import SiteModelsRefused
from melanoma_desktop.core.wording import local_time_text
from melanoma_desktop.ui.screen_fit import fit_to_screen


class VersionsDialog(QDialog):
    sig_restored = Signal(str, str)  # name, version
    sig_site_rule_restored = Signal(object)  # the clinic flag line made active again (None: the shipped one)

    def __init__(self, registry, parent=None, adaptation=None):
        """``adaptation``: the window's AdaptationController (the adapted sets' section is shown with it)."""
        super().__init__(parent)
        self.registry, self.adaptation = registry, adaptation
        self.setWindowTitle("Model versions")
        fit_to_screen(self, 900, 640)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Model versions put in use on this computer (a model never replaced is the shipped one)."))
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["model", "version", "created", "active"])
        layout.addWidget(self.table, 1)
        self.restore_button = QPushButton("Make the selected version active")
        self.restore_button.clicked.connect(self.restore_selected)
        layout.addWidget(self.restore_button)
        layout.addWidget(QLabel("The clinic's flag lines (Models > Local performance makes them; each applies to new "
                                "cases read by the model versions it was made for):"))
        self.rules_table = QTableWidget(0, 5)
        self.rules_table.setHorizontalHeaderLabels(["flag line", "made", "confirmed cases", "expected (caught / "
                                                    "cleared)", "in use"])
        layout.addWidget(self.rules_table, 1)
        self.use_rule_button = QPushButton("Use the selected flag line for new cases")
        self.use_rule_button.clicked.connect(self.use_selected_rule)
        self.shipped_rule_button = QPushButton("Use the shipped flag line for new cases")
        self.shipped_rule_button.clicked.connect(lambda: self.use_rule(None))
        layout.addWidget(self.use_rule_button)
        layout.addWidget(self.shipped_rule_button)
        self.sets_table = QTableWidget(0, 5)
        if adaptation is not None:
            layout.addWidget(self._adapted_section(), 1)
        self.refresh()

    def _adapted_section(self):
        box = QGroupBox("Models adapted to this clinic (Models > Adapt to this clinic makes them)")
        column = QVBoxLayout(box)
        self.sets_table.setColumnCount(5)
        self.sets_table.setHorizontalHeaderLabels(["in use", "made", "confirmed cases", "ranking before → after",
                                                   "adapted set"])
        self.sets_table.horizontalHeader().setStretchLastSection(True)
        self.sets_table.setMinimumHeight(140)
        column.addWidget(self.sets_table, 1)
        row = QHBoxLayout()
        for text, slot in (("Use the selected adapted models for new cases", self.use_selected_set),
                           ("Use the installed models as they are", lambda: self.use_set(None)),
                           ("Export…", self._export_set_dialog), ("Import…", self._import_set_dialog)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            row.addWidget(button)
        column.addLayout(row)
        return box

    def _refresh_sets(self) -> None:
        if self.adaptation is None:
            return
        sets, active = self.adaptation.sets(), self.adaptation.active()
        self.sets_table.setRowCount(len(sets))
        for r, site in enumerate(sets):
            e = site.evidence or {}
            ranking = (f"{e['active']['auc']:.2f} → {e['adapted']['auc']:.2f}" if e.get("active") else "")
            cells = ("✓" if active is not None and active.version == site.version else "",
                     local_time_text(site.created_at), f"{site.cases['melanomas']} melanomas, {site.cases['benign']} benign",
                     ranking, site.version)
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setToolTip("adapted from " + ", ".join(site.base_members.values()))
                self.sets_table.setItem(r, c, item)
        self.sets_table.resizeColumnsToContents()

    def _selected_set(self) -> str | None:
        row = self.sets_table.currentRow()
        return self.sets_table.item(row, 4).text() if row >= 0 else None

    def use_selected_set(self) -> None:
        version = self._selected_set()
        if version:
            self.use_set(version)

    def use_set(self, version: str | None) -> None:
        self.adaptation.use(version)
        self.refresh()

    def _export_set_dialog(self) -> None:
        version = self._selected_set()
        if version is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the adapted models", f"{version}.json", "JSON (*.json)")
        if path:
            self.adaptation.export(version, path)

    def _import_set_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import adapted models", "", "JSON (*.json)")
        if not path:
            return
        try:
            self.adaptation.import_file(path)
        except SiteModelsRefused as exc:
            QMessageBox.warning(self, "Not imported", str(exc))
        self.refresh()

    def refresh(self) -> None:
        versions = self.registry.versions()
        self.table.setRowCount(len(versions))
        for r, v in enumerate(versions):
            for c, value in enumerate((v.name, v.version, local_time_text(v.created_at), "✓" if v.active else "")):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        rules, active = self.registry.site_rules(), self.registry.active_site_rule()
        active_version = active.site_version if active is not None else None
        self.rules_table.setRowCount(len(rules))
        for r, rule in enumerate(rules):
            info = rule.site_rule
            e = info.expected
            cells = (f"at {rule.threshold:.0%}", local_time_text(info.created_at),
                     f"{info.melanomas} melanomas, {info.benign} benign",
                     f"{e.sensitivity:.0%} / {e.specificity:.0%}" if e is not None else "—",
                     "✓" if active_version == info.version else "")
            for c, value in enumerate(cells):
                item = QTableWidgetItem(value)
                item.setData(Qt.UserRole, info.version)  # the id stays for the engineering detail: its tooltip
                item.setToolTip(info.version)
                self.rules_table.setItem(r, c, item)
        self.rules_table.resizeColumnsToContents()
        self._refresh_sets()

    def use_selected_rule(self) -> None:
        row = self.rules_table.currentRow()
        if row >= 0:
            self.use_rule(self.rules_table.item(row, 0).data(Qt.UserRole))

    def use_rule(self, version: str | None) -> None:
        self.registry.activate_site_rule(version)
        self.refresh()
        self.sig_site_rule_restored.emit(self.registry.active_site_rule())

    def restore_selected(self) -> None:
        row = self.table.currentRow()
        if row < 0:
            return
        name, version = self.table.item(row, 0).text(), self.table.item(row, 1).text()
        self.registry.restore(name, version)
        self.refresh()
        self.sig_restored.emit(name, version)
