"""Case > Lesion over time: the visits of one lesion in date order, any two side by side with linked zoom
and pan, the combined risk over time with the flag line, and a marker where the risk crossed the flag
line or rose by more than 10 points since the previous visit (``core.patients.lesion_changes``)."""

from __future__ import annotations

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtWidgets import QComboBox, QDialog, QGridLayout, QLabel, QVBoxLayout

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.patients import lesion_changes
from melanoma_desktop.ui.viewer import ImageViewer, pixmap_from_rgb


def draw_risk_over_time(fig: Figure, visits: list[dict], marks: list[str], flag_line: float | None) -> Figure:
    ax = fig.subplots()
    points = [(i, v["risk"]) for i, v in enumerate(visits) if v["risk"] is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color="#b3261e")
    for i, mark in enumerate(marks):
        if mark:
            ax.annotate("▲ " + mark, (i, visits[i]["risk"]), textcoords="offset points", xytext=(4, 6), fontsize=7)
    if flag_line is not None:
        ax.axhline(flag_line, color="#000", linewidth=1, linestyle="--", label="flag line")
        ax.legend(fontsize=7, loc="upper left")
    ax.set_xticks(range(len(visits)), [v["date"] for v in visits], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("melanoma risk score", fontsize=8)
    ax.set_title("The lesion over time", fontsize=9)
    fig.tight_layout()
    return fig


class LesionView(QDialog):
    def __init__(self, db, patient_id: str, lesion: str, parent=None):
        super().__init__(parent)
        history = db.history(patient_id) or {"lesions": []}
        entry = next((e for e in history["lesions"] if e["lesion"] == lesion), {"visits": [], "body_site": ""})
        self.visits = entry["visits"]
        self.marks = lesion_changes(self.visits)
        self.db = db
        self.setWindowTitle(f"{patient_id} — {lesion}")
        self.resize(1200, 780)
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
        flag_line = next((db.get(v["case_id"]).consensus.flag_line for v in self.visits if v["assessable"]), None)
        self.figure = draw_risk_over_time(Figure(figsize=(8, 2.4)), self.visits, self.marks, flag_line)
        self.canvas = FigureCanvasQTAgg(self.figure)
        layout.addWidget(self.canvas, 1)
        if len(self.visits) >= 2:  # the last two visits, the newest on the right
            self.pickers[0].setCurrentIndex(len(self.visits) - 2)
            self.pickers[1].setCurrentIndex(len(self.visits) - 1)
        for column in range(2):
            self._show(column)

    def _show(self, column: int) -> None:
        from melanoma_desktop.core.triage import original_image
        from trainer.errors import ImageDecodeError

        index = self.pickers[column].currentData()
        if index is None:
            return
        visit = self.visits[index]
        try:
            self.viewers[column].set_pixmap(pixmap_from_rgb(original_image(visit["path"], 2048)))
        except (OSError, ImageDecodeError):
            self.viewers[column].set_pixmap(None)
        mark = self.marks[index]
        self.captions[column].setText(f"{visit['date']}: " + ("cannot assess" if not visit["assessable"] else
                                      f"risk {visit['risk']:.0%}" + (", FLAGGED" if visit["flagged"] else ""))
                                      + (f" — ▲ {mark}" if mark else ""))

    def _link(self, a: ImageViewer, b: ImageViewer) -> None:
        """Zoom and pan one side, the other follows."""
        def follow(source, target):
            def sync(*_):
                if getattr(target, "_syncing", False):
                    return
                target._syncing = True
                target.setTransform(source.transform())
                target.horizontalScrollBar().setValue(source.horizontalScrollBar().value())
                target.verticalScrollBar().setValue(source.verticalScrollBar().value())
                target._fit = source._fit
                target._syncing = False
            source.sig_zoom_changed.connect(sync)
            source.horizontalScrollBar().valueChanged.connect(sync)
            source.verticalScrollBar().valueChanged.connect(sync)
        follow(a, b)
        follow(b, a)

    def visible_visits(self) -> list[int]:
        return [p.currentData() for p in self.pickers]


def lesion_of(record) -> tuple[str, str] | None:
    return (record.patient_id, record.lesion_label) if record is not None and record.patient_id else None

