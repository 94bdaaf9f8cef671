"""Wizard page 3: training in a background job, with live learning curves, progress, ETA and log."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QVBoxLayout, QWizardPage

from melanoma_desktop.ui.batch_bar import format_eta
from melanoma_desktop.ui.live_curves import LiveCurves
from melanoma_desktop.ui.worker import Job


def epoch_words(event) -> str:
    """'cnn, epoch 1 of 2: accuracy 61 % on training images, 50 % on validation images' (loss left to the curves)."""
    logs = event.logs or {}
    parts = [f"accuracy {logs['accuracy']:.0%} on training images" if "accuracy" in logs else "",
             f"{logs['val_accuracy']:.0%} on validation images" if "val_accuracy" in logs else ""]
    detail = ", ".join(p for p in parts if p)
    return f"{event.model}, epoch {event.epoch} of {event.epochs}" + (f": {detail}" if detail else "")


class TrainPage(QWizardPage):
    sig_training_finished = Signal(str)  # "finished" | "cancelled" | "failed"

    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.job = None
        self.result = None
        self.histories: dict[str, dict[str, list[float]]] = {}
        self.setTitle("3. Train")
        self.setSubTitle("The active models are not touched until you choose to promote new ones.")
        layout = QVBoxLayout(self)
        self.curves = LiveCurves()
        layout.addWidget(self.curves, 2)
        row = QHBoxLayout()
        self.stage_label = QLabel("")
        self.progress = QProgressBar()
        self.cancel_button = QPushButton("Cancel training")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.stage_label)
        row.addWidget(self.progress, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        layout.addWidget(self.log, 1)

    @property
    def running(self) -> bool:
        return self.job is not None

    def initializePage(self) -> None:
        if self.running:
            return
        self.result, self.histories = None, {}
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = self.wiz.runs_dir / f"run-{stamp}"
        config = self.wiz.setup_page.config(str(self.wiz.data_page.report.root), str(out)).validate()
        self.log.clear()
        self.log.appendPlainText(f"Output: {out}")
        self.cancel_button.setEnabled(True)
        # The same run_training as the command line, in a child process (core.training_job, trainer/worker.py).
        train = self.wiz.train_function
        job = Job("Training", lambda should_stop, on_progress: train(config, should_stop, on_progress))
        job.signals.sig_progress.connect(self._on_progress)
        job.signals.sig_finished.connect(self._on_finished)
        job.signals.sig_cancelled.connect(lambda: self._on_stopped("cancelled", "Training cancelled; nothing changed."))
        job.signals.sig_failed.connect(lambda message, _tb: self._on_stopped("failed", f"Training failed: {message}"))
        self.job = job
        self.completeChanged.emit()
        self.wiz.runner.submit(job)

    def cancel(self) -> None:
        if self.job is not None:
            self.cancel_button.setEnabled(False)
            self.stage_label.setText("Cancelling (within one batch)…")
            self.job.cancel()

    def _on_progress(self, event) -> None:
        if event.stage in ("train", "features", "data") and event.steps:
            done = event.step + ((event.epoch or 1) - 1) * event.steps if event.stage == "train" else event.step
            total = event.steps * (event.epochs or 1) if event.stage == "train" else event.steps
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            what = f"{event.model or 'data'}: {event.stage}"
            if event.epoch:
                what += f", epoch {event.epoch}/{event.epochs}"
            self.stage_label.setText(f"{what} — {format_eta(event.eta_s)}")
        if event.stage == "epoch":
            history = self.histories.setdefault(event.model, {})
            for key, value in event.logs.items():
                history.setdefault(key, []).append(value)
            self._redraw()
        if event.stage == "epoch":  # in words: the trainer's keys (val_loss, ...) stay in the run's history CSV
            self.log.appendPlainText(epoch_words(event))
        elif event.stage in ("stage", "model_done", "log", "done"):
            self.log.appendPlainText(event.message)

    def _redraw(self) -> None:
        self.curves.set_histories(self.histories)

    def _on_finished(self, result) -> None:
        self.job = None
        self.result = result
        self.cancel_button.setEnabled(False)
        self.stage_label.setText("Training finished.")
        self.progress.setValue(self.progress.maximum())
        self.log.appendPlainText(f"The new models were saved in {result.out}")
        self.completeChanged.emit()
        self.sig_training_finished.emit("finished")

    def _on_stopped(self, outcome: str, text: str) -> None:
        self.job = None
        self.stage_label.setText(text)
        self.log.appendPlainText(text)
        self.cancel_button.setEnabled(False)
        self.completeChanged.emit()
        self.sig_training_finished.emit(outcome)

    def isComplete(self) -> bool:
        return self.result is not None and not self.running
