"""The worklist: one row per case, highest combined risk first, sortable, searchable, filtered.

Columns fit a 1280-pixel window: the image with its file name, the combined risk, the flag, the
models-disagree marker, the patient, lesion and visit, the clinician's review (and the confirmed
diagnosis) and the date; right-click a heading to hide or show the last five. Per-model numbers are in each row's
tooltip. A flagged row is tinted; an image that cannot be assessed is grey and carries no risk.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from melanoma_desktop.core.records import TriageRecord, worklist_order
from melanoma_desktop.core.risk_scale import line_words
from melanoma_desktop.core.wording import local_time_text

FLAG_COLOUR = QColor("#fde2e1")
CANNOT_ASSESS_COLOUR = QColor("#eeeeee")
DISAGREE_MARK = QColor("#ffe08a")
SORT_ROLE = Qt.UserRole + 1


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

    def __init__(self, model_names: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.model_names = list(model_names or [])
        self.records: list[TriageRecord] = []
        self._pixmaps: dict[int, QPixmap] = {}

    def headers(self) -> list[str]:
        return list(self.HEADERS)

    def set_model_names(self, names: list[str]) -> None:  # the columns no longer depend on them
        self.model_names = list(names)

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.records)

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
        record = self.records[index.row()]
        col = index.column()
        if role == Qt.DisplayRole:
            return self._display_text(record, col)
        if role == Qt.DecorationRole and col == self.IMAGE and record.thumbnail_png:
            if record.id not in self._pixmaps:
                pixmap = QPixmap()
                pixmap.loadFromData(record.thumbnail_png, "PNG")
                self._pixmaps[record.id] = pixmap.scaled(48, 48, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            return self._pixmaps[record.id]
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
        if role == SORT_ROLE:
            return self._sort_key(record, col)
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

    @classmethod
    def _sort_key(cls, record: TriageRecord, col: int):
        """What a click on a column header sorts by (ascending); the risk column in worklist order."""
        if col == cls.IMAGE:
            return record.file_name.lower()
        if col in (cls.RISK, cls.FLAG):
            group, neg_risk, flag, _ = worklist_order(record)
            return (group, neg_risk) if col == cls.RISK else (not record.flagged, group, neg_risk)
        if col == cls.DISAGREE:
            return not record.disagreement
        if col == cls.REVIEW:
            return (record.reviewed, record.clinician_label or "")
        if col in (cls.PATIENT, cls.LESION, cls.VISIT):  # cases of no patient after the others
            return (record.patient_id is None, record.patient_id or "", record.lesion_label or "",
                    record.visit_date if record.patient_id else "")
        return record.created_at

    # -- rows ---------------------------------------------------------------------------------
    def set_records(self, records: list[TriageRecord]) -> None:
        self.beginResetModel()
        self.records = list(records)
        self._pixmaps.clear()
        self.endResetModel()

    def upsert(self, record: TriageRecord) -> int:
        """Insert or replace ``record`` keeping the worklist order; returns its row."""
        self.remove(record.id)
        key = worklist_order(record)
        row = 0
        while row < len(self.records) and worklist_order(self.records[row]) <= key:
            row += 1
        self.beginInsertRows(QModelIndex(), row, row)
        self.records.insert(row, record)
        self.endInsertRows()
        return row

    def remove(self, case_id: int) -> None:
        row = self.row_of(case_id)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.records[row]
            self.endRemoveRows()
        self._pixmaps.pop(case_id, None)

    def replace(self, record: TriageRecord) -> None:
        row = self.row_of(record.id)
        if row >= 0:
            self.records[row] = record
            self._pixmaps.pop(record.id, None)
            self.dataChanged.emit(self.index(row, 0), self.index(row, self.columnCount() - 1))

    def row_of(self, case_id: int) -> int:
        return next((i for i, r in enumerate(self.records) if r.id == case_id), -1)


class WorklistFilter(QSortFilterProxyModel):
    """Column sorting and the search box: file name, note or assessment containing the text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.search = ""
        self.group_by_patient = False
        self.setSortRole(SORT_ROLE)

    def set_group_by_patient(self, on: bool) -> None:
        """Cases of one patient together, lesion by lesion, in visit order; cases of no patient after them."""
        self.group_by_patient = on
        self.invalidate()

    def set_search(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10 and newer (invalidateFilter is deprecated there)
            self.beginFilterChange()
            self.search = text.strip().lower()
            self.endFilterChange()
        else:
            self.search = text.strip().lower()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row, source_parent):
        if not self.search:
            return True
        record = self.sourceModel().records[source_row]
        haystack = " ".join((record.file_name, record.note or "", record.clinician_label or "",
                             record.management or "", record.patient_id or "", record.patient_name or "",
                             record.lesion_label or "")).lower()
        return self.search in haystack

    def lessThan(self, left, right):
        if self.group_by_patient:
            records = self.sourceModel().records
            a, b = records[left.row()], records[right.row()]
            key = lambda r: (r.patient_id is None, r.patient_id or "", r.lesion_label or "", r.visit_date)  # noqa: E731
            if key(a) != key(b) or a.patient_id:
                return key(a) < key(b)
        return left.data(SORT_ROLE) < right.data(SORT_ROLE)


class WorklistView(QTableView):
    sig_case_selected = Signal(object)  # case id or None
    sig_columns_changed = Signal(list)  # the hidden columns' headings

    def __init__(self, model: WorklistModel, parent=None):
        super().__init__(parent)
        self.source = model
        self.proxy = WorklistFilter(self)
        self.proxy.setSourceModel(model)
        self.setModel(self.proxy)
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
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        for column in WorklistModel.HIDEABLE:
            action = menu.addAction(WorklistModel.HEADERS[column])
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.toggled.connect(lambda on, c=column: self.set_column_shown(c, on))
        menu.popup(self.horizontalHeader().mapToGlobal(pos))

    def _on_current_row_changed(self, current, _previous):
        self.sig_case_selected.emit(current.data(Qt.UserRole) if current.isValid() else None)

    def proxy_row_of(self, case_id: int) -> int:
        source_row = self.source.row_of(case_id)
        if source_row < 0:
            return -1
        return self.proxy.mapFromSource(self.source.index(source_row, 0)).row()

    def select_case(self, case_id: int) -> bool:
        row = self.proxy_row_of(case_id)
        if row >= 0:
            self.selectRow(row)
            self.scrollTo(self.proxy.index(row, 0))
        return row >= 0

    def current_case_id(self):
        index = self.currentIndex()
        return index.data(Qt.UserRole) if index.isValid() else None

    def visible_case_ids(self) -> list[int]:
        return [self.proxy.index(row, 0).data(Qt.UserRole) for row in range(self.proxy.rowCount())]
