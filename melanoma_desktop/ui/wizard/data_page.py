"""Wizard page 1: choose a data folder and see what it holds."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from melanoma_desktop.ui.worker import Job
from trainer.api import inspect_dataset

_LAYOUT_WORDS = {"class_folders": "a benign and a malignant folder", "labels_csv": "a labels.csv list"}


def layout_words(layout: str) -> str:
    """How the folder is laid out, in plain words (the trainer's names: class_folders, labels_csv)."""
    return _LAYOUT_WORDS.get(layout, layout.replace("_", " "))


class DataPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.report = None
        self.extra_report = None
        self.setTitle("1. Data")
        self.setSubTitle("Choose a folder of labelled images: benign/ and malignant/ folders, a labels.csv, "
                         "or HAM10000 metadata.")
        layout = QVBoxLayout(self)
        row, self.path_edit, self.inspect_button = self._folder_row("data folder", "Data folder", self.inspect)
        layout.addLayout(row)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.RichText)
        layout.addWidget(self.summary)
        self.examples = QGridLayout()
        layout.addLayout(self.examples)
        layout.addWidget(self._extra_data_box())
        layout.addWidget(QLabel("Unreadable files (skipped):"))
        self.unreadable_list = QListWidget()
        self.unreadable_list.setMaximumHeight(110)
        layout.addWidget(self.unreadable_list)
        layout.addStretch(1)

    def _extra_data_box(self) -> QGroupBox:
        box = QGroupBox("Extra training images (optional)")
        column = QVBoxLayout(box)
        note = QLabel("A second folder, e.g. a public dataset beside your clinic's images. Its images are added to "
                      "training only: validation, thresholds and test results still come from the folder above, so "
                      "they describe your own images.")
        note.setWordWrap(True)
        column.addWidget(note)
        row, self.extra_edit, _ = self._folder_row(
            "extra data folder (leave empty for none)", "Extra training data folder", self.inspect_extra)
        self.extra_edit.textChanged.connect(self._on_extra_changed)
        column.addLayout(row)
        split_row = QHBoxLayout()
        split_row.addWidget(QLabel("Images to add"))
        self.extra_split = QComboBox()  # filled from the folder's labels.csv source_split column, if it has one
        self.extra_split.setEnabled(False)
        split_row.addWidget(self.extra_split, 1)
        column.addLayout(split_row)
        self.extra_summary = QLabel("")
        self.extra_summary.setWordWrap(True)
        self.extra_summary.setTextFormat(Qt.RichText)
        column.addWidget(self.extra_summary)
        return box

    def _folder_row(self, placeholder: str, dialog_title: str, inspect) -> tuple[QHBoxLayout, QLineEdit, QPushButton]:
        """A folder field with Browse… (which inspects what it picks) and Inspect buttons."""
        row = QHBoxLayout()
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)
        browse = QPushButton("Browse…")
        inspect_button = QPushButton("Inspect")
        inspect_button.clicked.connect(inspect)

        def pick():
            folder = QFileDialog.getExistingDirectory(self, dialog_title)
            if folder:
                edit.setText(folder)
                inspect()

        browse.clicked.connect(pick)
        row.addWidget(edit, 1)
        row.addWidget(browse)
        row.addWidget(inspect_button)
        return row, edit, inspect_button

    def _on_extra_changed(self, *_):
        self.extra_report = None
        self.extra_summary.setText("")
        self.extra_split.clear()
        self.extra_split.setEnabled(False)
        self.completeChanged.emit()

    def inspect_extra(self) -> Job | None:
        path = self.extra_edit.text().strip()
        self._on_extra_changed()
        if not path:
            return None
        self.extra_summary.setText("Inspecting… (every image is decoded once)")
        job = Job("Inspecting extra data", lambda should_stop, on_progress: inspect_dataset(path, None, should_stop))
        job.signals.sig_finished.connect(self._on_extra_report)
        job.signals.sig_failed.connect(lambda message, _tb: self.extra_summary.setText(
            f"<b>Cannot use this folder:</b> {message}"))
        return self.wiz.runner.submit(job, heavy=False)

    def _on_extra_report(self, report) -> None:
        self.extra_report = report
        counts = ", ".join(f"{k}: {v}" for k, v in report.counts.items())
        unreadable = f"; {len(report.unreadable)} unreadable file(s) will be skipped" if report.unreadable else ""
        self.extra_summary.setText(f"<b>{report.root}</b> ({layout_words(report.layout)}) — {counts} in the folder{unreadable}; "
                                   "the images chosen above are added to training only")
        self.extra_split.clear()
        self.extra_split.addItem(f"all ({counts})", None)
        for name, part in sorted(report.source_splits.items()):
            self.extra_split.addItem(f"only source_split '{name}' ({', '.join(f'{k}: {v}' for k, v in part.items())})",
                                     name)
        self.extra_split.setEnabled(bool(report.source_splits))
        self.completeChanged.emit()

    def extra_data(self) -> list[dict]:
        """TrainConfig.extra_data for the inspected extra folder (none when the field is empty)."""
        if self.extra_report is None:
            return []
        return [{"data": str(self.extra_report.root), "source_split": self.extra_split.currentData()}]

    def inspect(self) -> Job:
        path = self.path_edit.text().strip()
        self.report = None
        self.completeChanged.emit()
        self.summary.setText("Inspecting… (every image is decoded once)")

        def body(should_stop, on_progress):
            return inspect_dataset(path, lambda done, total: on_progress((done, total)), should_stop)

        job = Job("Inspecting data", body)
        job.signals.sig_progress.connect(lambda p: self.summary.setText(f"Inspecting… {p[0]}/{p[1]} images"))
        job.signals.sig_finished.connect(self._on_report)
        job.signals.sig_failed.connect(lambda message, _tb: self.summary.setText(f"<b>Cannot use this folder:</b> "
                                                                                 f"{message}"))
        return self.wiz.runner.submit(job, heavy=False)

    def _on_report(self, report) -> None:
        self.report = report
        counts = ", ".join(f"{k}: {v}" for k, v in report.counts.items())
        lines = [f"<b>{report.root}</b> ({layout_words(report.layout)}) — {counts}; {report.n_lesions} lesions"]
        lines += [f"<span style='color:#b3261e'>✖ {e}</span>" for e in report.errors]
        lines += [f"<span style='color:#8a5a00'>⚠ {w}</span>" for w in report.warnings]
        self.summary.setText("<br>".join(lines))
        self.unreadable_list.clear()
        self.unreadable_list.addItems([f"{p}: {r}" for p, r in report.unreadable] or ["(none: every image decoded)"])
        while self.examples.count():
            item = self.examples.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for row, (label, paths) in enumerate(report.examples.items()):
            self.examples.addWidget(QLabel(label), row, 0)
            for col, path in enumerate(paths, start=1):
                thumb = QLabel()
                thumb.setPixmap(QPixmap(path).scaled(72, 72, Qt.KeepAspectRatio, Qt.SmoothTransformation))
                thumb.setToolTip(path)
                self.examples.addWidget(thumb, row, col)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        extra_ready = not self.extra_edit.text().strip() or self.extra_report is not None
        return self.report is not None and self.report.trainable and extra_ready
