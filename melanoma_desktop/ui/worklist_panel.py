"""The left side of the main window: filter and search above the worklist, the drop hint and the list of
files that could not be read below it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QVBoxLayout, QWidget

from melanoma_desktop.core.records import WORKLIST_FILTERS
from melanoma_desktop.ui.worklist import WorklistModel, WorklistView


class SearchBox(QLineEdit):
    """The worklist's search field. A line edit claims some Ctrl+letter keys for its own editing (Ctrl+E moves
    to the end of the line on Linux); the window's shortcuts on those keys win here instead."""

    WINDOW_KEYS = (QKeySequence("Ctrl+E"),)  # File > Export worklist to CSV

    def event(self, event):
        if event.type() == QEvent.ShortcutOverride and QKeySequence(event.keyCombination()) in self.WINDOW_KEYS:
            event.ignore()  # not overridden: the window's shortcut fires
            return False
        return super().event(event)


class WorklistPanel(QWidget):
    sig_filter_changed = Signal(str)  # a key of WORKLIST_FILTERS

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        self.filter_box = QComboBox()
        for key, (words, _keep) in WORKLIST_FILTERS.items():
            self.filter_box.addItem(words, key)
        self.filter_box.currentIndexChanged.connect(lambda _i: self.sig_filter_changed.emit(self.current_filter()))
        row.addWidget(self.filter_box)
        self.search_box = SearchBox()
        self.search_box.setPlaceholderText("Search file name, patient ID or name, lesion, note, assessment")
        self.search_box.setClearButtonEnabled(True)
        row.addWidget(self.search_box, 1)
        self.group_box = QCheckBox("By patient")
        self.group_box.setToolTip("Group the cases by patient and lesion, in visit order")
        row.addWidget(self.group_box)
        layout.addLayout(row)
        self.count_label = QLabel("")
        self.count_label.setStyleSheet("color: #555;")
        layout.addWidget(self.count_label)
        self.model = WorklistModel()
        self.view = WorklistView(self.model)
        self.search_box.textChanged.connect(self._on_search)
        self.group_box.toggled.connect(self.model.set_group_by_patient)
        layout.addWidget(self.view, 1)
        self.drop_hint = QLabel("Drop dermoscopic images or folders here\n(or File > Open, or paste)")
        self.drop_hint.setAlignment(Qt.AlignCenter)
        self.drop_hint.setStyleSheet("border: 2px dashed #8aa; color: #466; padding: 18px;")
        layout.addWidget(self.drop_hint)
        self.error_list = QListWidget()
        self.error_list.setMaximumHeight(90)
        self.error_list.setToolTip("Files that could not be read")
        self.error_list.hide()
        layout.addWidget(self.error_list)
        self.setMinimumWidth(420)

    def current_filter(self) -> str:
        return self.filter_box.currentData() or "all"

    def set_filter(self, key: str) -> None:
        index = self.filter_box.findData(key)
        if index >= 0:
            self.filter_box.setCurrentIndex(index)

    def _on_search(self, text: str) -> None:
        self.model.set_search(text)  # asked of the database: file name, patient ID or name, lesion, note, ...
        self.update_count()

    def update_count(self, _total=None) -> None:
        """The counts under the filter, as the list last asked the database for them (it holds only the rows on
        screen)."""
        n = self.model.summary
        extra = f" · {n['flagged']} flagged" + (f" · {n['cannot_assess']} cannot be assessed" if n["cannot_assess"]
                                                 else "")
        self.count_label.setText(f"{n['shown']} shown of {n['total']} in history{extra if n['shown'] else ''}")
        self.drop_hint.setVisible(n["total"] == 0)
