"""Case > Lesion over time: the visits of one lesion in date order, any two side by side with linked zoom
and pan, the combined risk over time with the flag line, and a marker where the risk crossed the flag
line or rose by more than 10 points since the previous visit (``core.patients.lesion_changes``)."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.followup_report import draw_risk_over_time
from melanoma_desktop.core.patients import RISE_MARKER, lesion_changes
from melanoma_desktop.ui.screen_fit import fit_to_screen
from melanoma_desktop.ui.viewer import ImageViewer, pixmap_from_rgb


class LesionView(QDialog):
    sig_image_shown = Signal(int)  # the column whose visit's image is now shown

    def __init__(self, records, patient_id: str, lesion: str, parent=None):
        super().__init__(parent)
        history = records.history(patient_id) or {"lesions": []}
        entry = next((e for e in history["lesions"] if e["lesion"] == lesion), {"visits": [], "body_site": ""})
        self.visits = entry["visits"]
        self.marks = lesion_changes(self.visits, RISE_MARKER)
        self.records = records  # ui.patient_controller: never the database itself
        self.setWindowTitle(f"{patient_id} — {lesion}")
        fit_to_screen(self, 1200, 780)
        layout = QVBoxLayout(self)
        notice = QLabel(f"⚠ {DISCLAIMER}")
        notice.setStyleSheet("background: #fff4ce; padding: 4px;")
        layout.addWidget(notice)
        site = f", {entry['body_site']}" if entry.get("body_site") else ""
        layout.addWidget(QLabel(f"<b>Patient {patient_id}, lesion “{lesion}”{site}</b>: {len(self.visits)} visit(s)"))
        grid = QGridLayout()
        self.pickers, self.viewers, self.captions = [], [], []
        for column in range(2):
            picker = QComboBox()
            for i, v in enumerate(self.visits):
                risk = "cannot assess" if not v["assessable"] else ("—" if v["risk"] is None else f"{v['risk']:.0%}")
                picker.addItem(f"{v['date']} — {risk}{' ▲ ' + self.marks[i] if self.marks[i] else ''}", i)
            viewer = ImageViewer()
            caption = QLabel("")
            grid.addWidget(picker, 0, column)
            grid.addWidget(viewer, 1, column)
            grid.addWidget(caption, 2, column)
            self.pickers.append(picker)
            self.viewers.append(viewer)
            self.captions.append(caption)
            picker.currentIndexChanged.connect(lambda _i, c=column: self._show(c))
        layout.addLayout(grid, 3)
        self._link(*self.viewers)
        self.patient_id, self.lesion = patient_id, lesion
        self.figure = Figure(figsize=(8, 2.4))
        draw_risk_over_time(self.figure, self.visits, self.marks, records.flag_line_of(self.visits))
        self.figure.tight_layout()
        self.canvas = FigureCanvasQTAgg(self.figure)
        layout.addWidget(self.canvas, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("Mark a rise of more than"))
        self.rise = QSpinBox(minimum=1, maximum=50, value=round(RISE_MARKER * 100))
        self.rise.setSuffix(" points")
        self.rise.valueChanged.connect(self.set_rise)
        buttons.addWidget(self.rise)
        self.status = QLabel(f"excised: {entry.get('outcome') or 'yes'}" if entry.get("excised") else "")
        buttons.addWidget(self.status, 1)
        for text, slot in (("Mark excised…", self._mark_excised), ("Follow-up report (PDF)…", self._report_dialog),
                           ("Patient summary (PDF)…", self._summary_dialog),
                           ("Export this patient's data…", self._export_dialog)):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        if len(self.visits) >= 2:  # the last two visits, the newest on the right (each image read once, below)
            for picker, index in zip(self.pickers, (len(self.visits) - 2, len(self.visits) - 1)):
                picker.blockSignals(True)
                picker.setCurrentIndex(index)
                picker.blockSignals(False)
        for column in range(2):
            self._show(column)

    def _show(self, column: int) -> None:
        """The visit picked in ``column``: its caption at once, its image once read off the GUI thread
        (``sig_image_shown``); an image that arrives after another visit was picked is dropped."""
        index = self.pickers[column].currentData()
        if index is None:
            return
        visit = self.visits[index]

        def loaded(rgb) -> None:
            if self.pickers[column].currentData() == index:
                self.viewers[column].set_pixmap(pixmap_from_rgb(rgb) if rgb is not None else None)
                self.sig_image_shown.emit(column)

        self.records.load_image(visit["path"], 2048, loaded)
        mark = self.marks[index]
        self.captions[column].setText(f"{visit['date']}: " + ("cannot assess" if not visit["assessable"] else
                                      f"risk {visit['risk']:.0%}" + (", FLAGGED" if visit["flagged"] else ""))
                                      + (f" — ▲ {mark}" if mark else ""))

    def _link(self, a: ImageViewer, b: ImageViewer) -> None:
        """Zoom and pan one side, the other follows. One flag for the pair: the follower's own changes (its
        transform, its scroll bars) never flow back and undo the side the clinician moved."""
        busy = [False]

        def follow(source, target):
            def sync(*_):
                if busy[0]:
                    return
                busy[0] = True
                try:
                    target._fit = source._fit
                    target.setTransform(source.transform())
                    target.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
                    target.verticalScrollBar().setValue(source.verticalScrollBar().value())
                finally:
                    busy[0] = False
            source.sig_zoom_changed.connect(sync)
            source.horizontalScrollBar().valueChanged.connect(sync)
            source.verticalScrollBar().valueChanged.connect(sync)
        follow(a, b)
        follow(b, a)

    def set_rise(self, points: int) -> None:
        """Mark visits whose risk rose by more than ``points`` since the previous one (or crossed the line)."""
        self.marks = lesion_changes(self.visits, points / 100)
        self.figure.clear()
        draw_risk_over_time(self.figure, self.visits, self.marks, self.records.flag_line_of(self.visits))
        self.figure.tight_layout()
        self.canvas.draw_idle()
        for column in range(2):
            self._show(column)

    def mark_excised(self, outcome: str) -> None:
        self.records.set_excised(self.patient_id, self.lesion, True, outcome)
        self.status.setText(f"excised: {outcome or 'yes'}")

    def _mark_excised(self) -> None:
        outcome, ok = QInputDialog.getText(self, "Lesion excised", "Outcome (e.g. the histology):")
        if ok:
            self.mark_excised(outcome.strip())

    def _report_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Follow-up report", f"{self.patient_id}-{self.lesion}.pdf",
                                              "PDF (*.pdf)")
        if path:
            self.records.write_lesion_pdf(path, self.patient_id, self.lesion)

    def _summary_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Patient summary", f"{self.patient_id}-summary.pdf", "PDF (*.pdf)")
        if path:
            self.records.write_patient_summary_pdf(path, self.patient_id)

    def _export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export this patient's data into")
        if folder:
            written = self.records.export_patient(self.patient_id, folder)
            QMessageBox.information(self, "Exported", f"Written: {written} and the images beside it.")

    def visible_visits(self) -> list[int]:
        return [p.currentData() for p in self.pickers]


def lesion_of(record) -> tuple[str, str] | None:
    return (record.patient_id, record.lesion_label) if record is not None and record.patient_id else None

