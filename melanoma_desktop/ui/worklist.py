"""The worklist: one row per case, highest combined risk first, sortable, searchable, filtered.

Columns fit a 1280-pixel window: the image with its file name, the combined risk, the flag, the
models-disagree marker, the patient, lesion and visit, the clinician's review (and the confirmed
diagnosis) and the date; right-click a heading to hide or show the last five. Per-model numbers are in each row's
tooltip. A flagged row is tinted; an image that cannot be assessed is grey and carries no risk.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView

from melanoma_desktop.core.records import TriageRecord
from melanoma_desktop.core.risk_scale import line_words
from melanoma_desktop.core.wording import local_time_text
from melanoma_desktop.core.worklist_query import WorklistQuery

FLAG_COLOUR = QColor("#fde2e1")
CANNOT_ASSESS_COLOUR = QColor("#eeeeee")
DISAGREE_MARK = QColor("#ffe08a")


def per_model_tooltip(record: TriageRecord) -> str:
    lines = [record.path]
    if not record.assessable:
        lines.append(f"Cannot assess: {record.reason}.")
    elif record.assess_anyway and not record.quality_passed:
        lines.append(f"Assessed anyway (the clinician's choice), although {record.reason}.")
    c = record.consensus
    if record.patient_id:
        lines.append(f"Patient {record.patient_id}, lesion {record.lesion_label}, visit {record.visit_date}"
                     + (f": ▲ {record.change} since the previous visit" if record.change else ""))
    if record.assessable and c.flag_line is not None:
        lines.append(f"Combined risk {record.risk:.0%}, flag line {c.flag_line:.0%}.")
    if record.first_read_with is not None:
        lines.append(f"Shown with the flag line in use; first read with {line_words(record.first_read_with)}.")
    elif record.other_models:
        lines.append("† Read by other model versions: shown as it was read (Case > Re-read).")
    for p in record.predictions:
        side = "above" if p.label == "malignant" else "below"
        lines.append(f"{p.name}: {p.p_malignant:.0%}, {side} its own flag line ({p.threshold:.0%})")
    return "\n".join(lines)


class WorklistModel(QAbstractTableModel):
    """Rows are TriageRecords read back from the database, kept in worklist order."""

    IMAGE, RISK, FLAG, DISAGREE, PATIENT, LESION, VISIT, REVIEW, ADDED = range(9)
    HEADERS = ("Image", "Risk", "Flag", "⚠", "Patient", "Lesion", "Visit", "Review", "Added")
    HIDEABLE = (PATIENT, LESION, VISIT, REVIEW, ADDED)  # right-click the header to show or hide them
    SORTS = {IMAGE: "image", RISK: "risk", FLAG: "flag", DISAGREE: "disagreement", PATIENT: "patient",
             LESION: "patient", VISIT: "patient", REVIEW: "review", ADDED: "added"}  # core.database_worklist
    _HEADER_TIPS = {
        RISK: "The combined melanoma risk of the three models (calibrated). Images that cannot be assessed "
              "have none.",
        FLAG: "Flagged: the combined risk is at or above the flag line.",
        DISAGREE: "⚠ = the models read the image differently: one clearly above its own flag line, another clearly "
                  "below. The combined risk is less certain; look at the details. Not a sign of melanoma in itself.",
        PATIENT: "The patient the case is filed under (ID and name). Right-click a heading to hide a column.",
        LESION: "The patient's lesion, with its side and body site.",
        VISIT: "The visit's date: when the picture was taken, else when it was added.",
        REVIEW: "Your assessment, ✓ once you have reviewed the case, and 'Dx': the confirmed diagnosis when known.",
        ADDED: "When the case was added (your local time).",
    }

    PAGE = 100  # rows read at a time
    KEPT_PAGES = 40  # pages kept in memory (the rows around what is on screen); the rest are read again if needed
    THUMBNAILS_KEPT = 400

    def __init__(self, model_names: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.model_names = list(model_names or [])
        self.source = None  # ui.triage_controller.TriageController: asks the database
        self.query = WorklistQuery()
        self._count = 0
        self.summary = {"shown": 0, "flagged": 0, "cannot_assess": 0, "total": 0}  # the counts under the query
        self._pages: OrderedDict[int, list[TriageRecord]] = OrderedDict()
        self._pixmaps: OrderedDict[int, QPixmap | None] = OrderedDict()

    def headers(self) -> list[str]:
        return list(self.HEADERS)

    def set_model_names(self, names: list[str]) -> None:  # the columns no longer depend on them
        self.model_names = list(names)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.HEADERS[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return self._HEADER_TIPS.get(section)
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        record = self.record_at(index.row())
        if record is None:
            return None
        col = index.column()
        if role == Qt.DisplayRole:
            return self._display_text(record, col)
        if role == Qt.DecorationRole and col == self.IMAGE:
            return self._thumbnail(index.row(), record.id)
        if role == Qt.BackgroundRole:
            if col == self.DISAGREE and record.disagreement:
                return QBrush(DISAGREE_MARK)  # the marker stands out on an unflagged row too
            if not record.assessable:
                return QBrush(CANNOT_ASSESS_COLOUR)
            if record.flagged:
                return QBrush(FLAG_COLOUR)
        if role == Qt.ForegroundRole and col == self.FLAG and record.flagged:
            return QBrush(QColor("#b3261e"))
        if role == Qt.ToolTipRole:
            return per_model_tooltip(record)
        if role == Qt.UserRole:
            return record.id
        return None

    def _display_text(self, record: TriageRecord, col: int) -> str | None:
        if col == self.IMAGE:
            return record.file_name
        if col == self.RISK:  # † : read by other model versions than the flag line in use was made for
            return ("—" if record.risk is None else f"{record.risk:.0%}") + (" †" if record.other_models else "")
        if col == self.FLAG:
            return "▲ flagged" if record.flagged else ("" if record.assessable else "cannot assess")
        if col == self.DISAGREE:
            return "⚠" if record.disagreement else ""
        if col == self.PATIENT:
            return " · ".join(x for x in (record.patient_id or "", record.patient_name) if x)
        if col == self.LESION:
            if not record.patient_id:
                return ""
            return record.lesion_label + (f" ({record.body_site})" if record.body_site else "")
        if col == self.VISIT:
            return record.visit_date if record.patient_id else ""
        if col == self.REVIEW:
            words = record.clinician_label or ""
            words = f"{words} ✓".strip() if record.reviewed else words
            return f"{words} · Dx {record.confirmed_label}".strip(" ·") if record.confirmed_label else words
        if col == self.ADDED:
            return local_time_text(record.created_at)
        return None

    # -- what is shown: the query, asked of the database a page at a time ----------------------------
    def set_source(self, source) -> None:
        self.source = source
        self.reload()

    def set_query(self, query: WorklistQuery) -> None:
        self.query = query
        self.reload()

    def set_filter(self, filter_name: str) -> None:
        self.set_query(dataclasses.replace(self.query, filter_name=filter_name))

    def set_search(self, text: str) -> None:
        self.set_query(dataclasses.replace(self.query, search=text.strip()))

    def set_group_by_patient(self, on: bool) -> None:
        """Cases of one patient together, lesion by lesion, in visit order; cases of no patient after them."""
        self.set_query(dataclasses.replace(self.query, group_by_patient=on))

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """A click on a column heading: the database sorts (records.worklist_order for the risk column)."""
        self.set_query(dataclasses.replace(self.query, sort=self.SORTS.get(column, "risk"),
                                           descending=order == Qt.DescendingOrder))

    def reload(self) -> None:
        self.beginResetModel()
        self._pages.clear()
        self._pixmaps.clear()
        self._count = self._ask_summary()
        self.endResetModel()

    def _ask_summary(self) -> int:
        """The query's counts, one query (the panel shows them: it asks nothing more)."""
        if self.source is not None:
            self.summary = self.source.worklist_summary(self.query)
        return self.summary["shown"]

    def refresh(self, changed_ids=()) -> None:
        """After cases were added, changed or deleted: the count follows, rows are added or taken at the end and
        every row is read again when next shown (only the pages on screen are). No reset: the selection and the
        scroll position stay."""
        for case_id in changed_ids:
            self._pixmaps.pop(case_id, None)
        new = self._ask_summary()
        if new > self._count:
            self.beginInsertRows(QModelIndex(), self._count, new - 1)
            self._count = new
            self.endInsertRows()
        elif new < self._count:
            self.beginRemoveRows(QModelIndex(), new, self._count - 1)
            self._count = new
            self.endRemoveRows()
        self._pages.clear()
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, self.columnCount() - 1))

    def record_at(self, row: int) -> TriageRecord | None:
        if not 0 <= row < self._count or self.source is None:
            return None
        page = row // self.PAGE
        if page not in self._pages:
            self._pages[page] = self.source.worklist_page(self.query, page * self.PAGE, self.PAGE)
            while len(self._pages) > self.KEPT_PAGES:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(page)
        rows = self._pages[page]
        offset = row - page * self.PAGE
        return rows[offset] if offset < len(rows) else None

    def _thumbnail(self, row: int, case_id: int):
        """The row's thumbnail, read with those of the rows near it (the ones on screen), never all of them."""
        if case_id not in self._pixmaps:
            near = [r.id for r in (self.record_at(i) for i in range(max(0, row - 10), min(self._count, row + 20)))
                    if r is not None]
            wanted = [i for i in near if i not in self._pixmaps]
            found = self.source.worklist_thumbnails(wanted)
            for wanted_id in wanted:
                pixmap = None
                if found.get(wanted_id):
                    pixmap = QPixmap()
                    pixmap.loadFromData(found[wanted_id], "PNG")
                    pixmap = pixmap.scaled(48, 48, Qt.KeepAspectRatio, Qt.SmoothTransformation)
                self._pixmaps[wanted_id] = pixmap
            while len(self._pixmaps) > self.THUMBNAILS_KEPT:
                self._pixmaps.popitem(last=False)
        return self._pixmaps.get(case_id)

    @property
    def records(self) -> list[TriageRecord]:
        """Every row's record, in order (reads every page: for a short list, or a test)."""
        return [self.record_at(row) for row in range(self._count)]

    # -- rows ---------------------------------------------------------------------------------
    def upsert(self, record: TriageRecord) -> int:
        """A case added or moved (its risk, flag or review changed): the worklist follows; returns its row."""
        self.refresh([record.id])
        return self.row_of(record.id)

    def remove(self, case_id: int) -> None:
        self.refresh([case_id])

    def replace(self, record: TriageRecord) -> None:
        """A case changed without moving (note, review): its row shows the saved record."""
        for page, rows in self._pages.items():
            for offset, kept in enumerate(rows):
                if kept.id == record.id:
                    rows[offset] = record
                    row = page * self.PAGE + offset
                    self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))
                    return

    def row_of(self, case_id: int, near: int = -1) -> int:
        """The case's row: looked up in the pages read, then in the pages around row ``near`` (where it was before
        a refresh: a case rarely moves far), else asked of the database (-1: not in this list)."""
        if self.source is None or case_id is None:
            return -1
        for attempt in range(2):
            for page, rows in self._pages.items():
                for offset, kept in enumerate(rows):
                    if kept.id == case_id:
                        return page * self.PAGE + offset
            if attempt or near < 0:
                break
            for row in {max(0, near - self.PAGE), near, min(self._count - 1, near + self.PAGE)}:
                self.record_at(row)  # reads that row's page, if not read yet
        return self.source.worklist_position(self.query, case_id)


class WorklistView(QTableView):
    sig_case_selected = Signal(object)  # case id or None
    sig_columns_changed = Signal(list)  # the hidden columns' headings

    def __init__(self, model: WorklistModel, parent=None):
        super().__init__(parent)
        self.source = model
        self.setModel(model)
        self.setSortingEnabled(True)
        self.sortByColumn(WorklistModel.RISK, Qt.AscendingOrder)  # ascending worklist order: highest risk first
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(52)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.ElideLeft)  # a long file name keeps its end, where names differ (…0003582.jpg)
        header = self.horizontalHeader()
        # Fixed, interactive widths (ResizeToContents re-measures every row on every insert); the file name
        # takes what is left, so nothing needs sideways scrolling.
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setSectionResizeMode(WorklistModel.IMAGE, QHeaderView.Stretch)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        self._size_columns()
        header.setContextMenuPolicy(Qt.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setIconSize(self.iconSize().expandedTo(self.iconSize().__class__(48, 48)))
        self.setAccessibleName("Worklist")
        self.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        model.modelReset.connect(lambda: self.sig_case_selected.emit(None))

    def _size_columns(self) -> None:
        metrics = self.fontMetrics()
        samples = {WorklistModel.RISK: "100% †", WorklistModel.FLAG: "cannot assess",
                   WorklistModel.DISAGREE: "⚠", WorklistModel.PATIENT: "P-0012 · A. Name",
                   WorklistModel.LESION: "left scapula", WorklistModel.VISIT: "2026-12-01",
                   WorklistModel.REVIEW: "suspicious ✓", WorklistModel.ADDED: "2026-12-01 09:15"}
        for column, sample in samples.items():
            self.horizontalHeader().resizeSection(column, metrics.horizontalAdvance(sample) + 18)

    def set_column_shown(self, column: int, shown: bool) -> None:
        if column in WorklistModel.HIDEABLE:
            self.setColumnHidden(column, not shown)
            self.sig_columns_changed.emit(self.hidden_columns())

    def hidden_columns(self) -> list[str]:
        """The headings of the hidden columns (kept in the settings by heading, not by position)."""
        return [WorklistModel.HEADERS[c] for c in WorklistModel.HIDEABLE if self.isColumnHidden(c)]

    def hide_columns(self, headings) -> None:
        for column in WorklistModel.HIDEABLE:
            self.setColumnHidden(column, WorklistModel.HEADERS[column] in set(headings or ()))

    def _header_menu(self, pos) -> None:
        menu = QMenu(self)
        for column in WorklistModel.HIDEABLE:
            action = menu.addAction(WorklistModel.HEADERS[column])
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.toggled.connect(lambda on, c=column: self.set_column_shown(c, on))
        menu.popup(self.horizontalHeader().mapToGlobal(pos))

    def _on_current_row_changed(self, current, _previous):
        self.sig_case_selected.emit(current.data(Qt.UserRole) if current.isValid() else None)

    def select_case(self, case_id: int) -> bool:
        row = self.source.row_of(case_id, near=self.currentIndex().row())
        if row >= 0:
            self.selectRow(row)
            self.scrollTo(self.source.index(row, 0))
        return row >= 0

    def clear_highlight(self) -> None:
        """No row current or selected, without saying a case was chosen (the case on screen stays)."""
        selection = self.selectionModel()
        selection.blockSignals(True)
        self.setCurrentIndex(self.source.index(-1, -1))
        selection.clearSelection()
        selection.blockSignals(False)
        self.viewport().update()

    def current_case_id(self):
        index = self.currentIndex()
        return index.data(Qt.UserRole) if index.isValid() else None

    def visible_case_ids(self) -> list[int]:
        """The ids of every row of the list (for a short list, or a test: reads every page)."""
        return [r.id for r in self.source.records]
