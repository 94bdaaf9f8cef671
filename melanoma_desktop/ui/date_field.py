"""A date typed as the clinician writes it (YYYY-MM-DD), with a calendar one click away.

Qt's QDateEdit edits a date section by section: typing "2025-06-10" into it gives 2026-06-10 (the year
section keeps the current year). This field takes the text as typed and checks it on leaving the form
(core.patients.checked_date: a real calendar date, not in the future)."""

from __future__ import annotations

from PySide6.QtCore import QDate, QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import QCalendarWidget, QHBoxLayout, QLineEdit, QMenu, QToolButton, QWidget, QWidgetAction

from melanoma_desktop.core.patients import checked_date


class DateField(QWidget):
    sig_date_changed = Signal(str)

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(text)
        self.edit.setPlaceholderText("YYYY-MM-DD")
        self.edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,4}(-\d{0,2}(-\d{0,2})?)?")))
        self.edit.textChanged.connect(self.sig_date_changed)
        self.calendar_button = QToolButton()
        self.calendar_button.setText("Calendar…")
        self.calendar_button.setPopupMode(QToolButton.InstantPopup)
        self.calendar = QCalendarWidget()
        self.calendar.setMaximumDate(QDate.currentDate())  # a visit or a birth is not in the future
        self.calendar.clicked.connect(self._on_calendar_clicked)
        menu = QMenu(self.calendar_button)
        action = QWidgetAction(menu)
        action.setDefaultWidget(self.calendar)
        menu.addAction(action)
        self.calendar_button.setMenu(menu)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.calendar_button)

    def text(self) -> str:
        return self.edit.text().strip()

    def set_text(self, text: str) -> None:
        self.edit.setText(text or "")

    def checked_text(self, what: str = "date") -> str:
        """The date as typed ("" when empty); IdentityError when it is not a real, past or present date."""
        return checked_date(self.text(), what) if self.text() else ""

    def _on_calendar_clicked(self, date: QDate) -> None:
        self.edit.setText(date.toString("yyyy-MM-dd"))
        self.calendar_button.menu().hide()
