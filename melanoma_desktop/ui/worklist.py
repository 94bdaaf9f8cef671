"""The worklist: one row per case, most suspicious first, with filters."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from melanoma_desktop.core.records import Consensus, TriageRecord

FLAG_COLOUR = QColor("#fde2e1")
DISAGREE_COLOUR = QColor("#fff1c2")


class WorklistModel(QAbstractTableModel):
    """Rows are TriageRecords read back from the database; columns depend on the installed models."""

    def __init__(self, model_names: list[str] | None = None, parent=None):
        super().__init__(parent)
        self.model_names = list(model_names or [])
        self.records: list[TriageRecord] = []
        self._pixmaps: dict[int, QPixmap] = {}
        # data() runs for every cell and role on each paint: each record's consensus (with the ensemble's
        # calibration) is computed once, like its thumbnail
        self._consensus: dict[int, Consensus] = {}

    # -- columns ------------------------------------------------------------------------------
    # The risk summary sits next to the image, where it is seen without scrolling; the date goes last.
    _ENSEMBLE_COLUMN, _CONSENSUS_COLUMN, _FIRST_MODEL_COLUMN = 1, 2, 3
    _HEADER_TIPS = {
        _ENSEMBLE_COLUMN: "The ensemble's P(malignant): the models' mean, calibrated on validation data; "
                          "▲ above its threshold (chosen on validation data for 95 % sensitivity). 'mean' where "
                          "no ensemble rule covers the case's models: then the plain mean, with no threshold of "
                          "its own.",
        _CONSENSUS_COLUMN: "How many models put the case above their own threshold.",
    }

    def headers(self) -> list[str]:
        return ["Image", "P(mal) ensemble", "Consensus", *[f"P(mal) {n}" for n in self.model_names], "Quality",
                "Reviewed", "Added"]

    def set_model_names(self, names: list[str]) -> None:
        self.beginResetModel()
        self.model_names = list(names)
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.headers())

    def headerData(self, section, orientation, role=Qt.DisplayRole):
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.headers()[section]
        if orientation == Qt.Horizontal and role == Qt.ToolTipRole:
            return self._HEADER_TIPS.get(section)
        return None

    def data(self, index, role=Qt.DisplayRole):
        if not index.isValid():
            return None
        record = self.records[index.row()]
        col = index.column()
        consensus = self._consensus_of(record)
        if role == Qt.DisplayRole:
            return self._display_text(record, consensus, col)
        if role == Qt.DecorationRole and col == 0 and record.thumbnail_png:
            if record.id not in self._pixmaps:
                pixmap = QPixmap()
                pixmap.loadFromData(record.thumbnail_png, "PNG")
                self._pixmaps[record.id] = pixmap.scaled(48, 48, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            return self._pixmaps[record.id]
        if role == Qt.BackgroundRole:
            if consensus.disagreement:
                return QBrush(DISAGREE_COLOUR)
            if consensus.flagged:
                return QBrush(FLAG_COLOUR)
        if role == Qt.ToolTipRole:
            return f"{record.path}\nSHA-256 {record.sha256[:16]}…"
        if role == Qt.UserRole:
            return record.id
        return None

    def _display_text(self, record: TriageRecord, consensus: Consensus, col: int) -> str | None:
        n_models = len(self.model_names)
        if col == 0:
            return record.file_name
        if col == self._ENSEMBLE_COLUMN:
            if consensus.ensemble_p_malignant is None:
                return f"mean {consensus.mean_p_malignant:.2f}"
            above = " ▲" if consensus.ensemble_label == "malignant" else ""
            return f"{consensus.ensemble_p_malignant:.2f}{above}"
        if col == self._CONSENSUS_COLUMN:
            return f"{consensus.label} ({consensus.n_malignant}/{consensus.n_models})"
        if self._FIRST_MODEL_COLUMN <= col < self._FIRST_MODEL_COLUMN + n_models:
            name = self.model_names[col - self._FIRST_MODEL_COLUMN]
            pred = next((p for p in record.predictions if p.name == name), None)
            return "—" if pred is None else f"{pred.p_malignant:.2f}{' ▲' if pred.label == 'malignant' else ''}"
        after_models = col - self._FIRST_MODEL_COLUMN - n_models
        if after_models == 0:
            return "ok" if record.quality_label == "ok" else "⚠ " + record.quality_label
        if after_models == 1:
            return "✓" if record.reviewed else ""
        if after_models == 2:
            return record.created_at.replace("T", " ")[5:16]
        return None

    # -- rows ---------------------------------------------------------------------------------
    def set_records(self, records: list[TriageRecord]) -> None:
        self.beginResetModel()
        self.records = list(records)
        self._pixmaps.clear()
        self._consensus.clear()
        self.endResetModel()

    def _consensus_of(self, record: TriageRecord) -> Consensus:
        if record.id is None:  # not saved: nothing to key it by
            return record.consensus
        if record.id not in self._consensus:
            self._consensus[record.id] = record.consensus
        return self._consensus[record.id]

    def upsert(self, record: TriageRecord) -> int:
        """Insert or replace ``record`` keeping the risk order; returns its row."""
        for row, existing in enumerate(self.records):
            if existing.id == record.id:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self.records[row]
                self.endRemoveRows()
                break
        self._pixmaps.pop(record.id, None)
        self._consensus.pop(record.id, None)
        key = self._consensus_of(record).mean_p_malignant
        row = 0
        while row < len(self.records) and self._consensus_of(self.records[row]).mean_p_malignant >= key:
            row += 1
        self.beginInsertRows(QModelIndex(), row, row)
        self.records.insert(row, record)
        self.endInsertRows()
        return row

    def row_of(self, case_id: int) -> int:
        return next((i for i, r in enumerate(self.records) if r.id == case_id), -1)


class WorklistView(QTableView):
    sig_case_selected = Signal(object)  # case id or None

    def __init__(self, model: WorklistModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.setSelectionMode(QAbstractItemView.SingleSelection)
        self.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(52)
        self.setWordWrap(False)
        header = self.horizontalHeader()
        # Fixed, interactive widths: ResizeToContents re-measures every row on every insert, which
        # stalls the GUI during a batch of hundreds of images.
        header.setSectionResizeMode(QHeaderView.Interactive)
        header.setStretchLastSection(True)
        model.modelReset.connect(self._size_columns)
        self._size_columns()
        self.setIconSize(self.iconSize().expandedTo(self.iconSize().__class__(48, 48)))
        self.setAlternatingRowColors(False)
        self.setAccessibleName("Worklist")
        self.selectionModel().currentRowChanged.connect(self._on_current_row_changed)
        model.modelReset.connect(lambda: self.sig_case_selected.emit(None))

    def _size_columns(self) -> None:
        """Widths from the header texts (fixed ones for file name and consensus); the user can drag them."""
        header = self.horizontalHeader()
        metrics = self.fontMetrics()
        for column, title in enumerate(self.model().headers()):
            width = {0: 200, WorklistModel._CONSENSUS_COLUMN: 150}.get(column, metrics.horizontalAdvance(title) + 24)
            header.resizeSection(column, max(width, 70))

    def _on_current_row_changed(self, current, _previous):
        self.sig_case_selected.emit(current.data(Qt.UserRole) if current.isValid() else None)

    def select_case(self, case_id: int) -> None:
        row = self.model().row_of(case_id)
        if row >= 0:
            self.selectRow(row)

    def current_case_id(self):
        index = self.currentIndex()
        return index.data(Qt.UserRole) if index.isValid() else None
