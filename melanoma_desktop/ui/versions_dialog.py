"""Models > Versions: every promoted version of each model; restore an earlier one."""

from __future__ import annotations

from PySide6.QtCore import Signal

from melanoma_desktop.core.wording import local_time_text
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout


class VersionsDialog(QDialog):
    sig_restored = Signal(str, str)  # name, version
    sig_site_rule_restored = Signal(object)  # the clinic flag line made active again (None: the shipped one)

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
            e = info.get("expected", {})
            cells = (info["version"], local_time_text(info.get("created_at", "")), f"{info['cases']['melanomas']} melanomas, "
                     f"{info['cases']['benign']} benign", f"{e.get('sensitivity', 0):.0%} / {e.get('specificity', 0):.0%}",
                     "✓" if active_version == info["version"] else "")
            for c, value in enumerate(cells):
                self.rules_table.setItem(r, c, QTableWidgetItem(value))
        self.rules_table.resizeColumnsToContents()

    def use_selected_rule(self) -> None:
        row = self.rules_table.currentRow()
        if row >= 0:
            self.use_rule(self.rules_table.item(row, 0).text())

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
