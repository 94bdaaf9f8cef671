"""Models > Retrain…: first the choice (adapt to the clinic, or train new models), then data, setup, train,
results. Runs the same trainer code as the command line."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QWizard

from melanoma_desktop.ui.screen_fit import fit_to_screen
from melanoma_desktop.ui.wizard.choice_page import ChoicePage
from melanoma_desktop.ui.wizard.data_page import DataPage
from melanoma_desktop.ui.wizard.results_page import ResultsPage
from melanoma_desktop.ui.wizard.setup_page import SetupPage
from melanoma_desktop.ui.wizard.train_page import TrainPage
from trainer.api import TrainerError


class RetrainWizard(QWizard):
    sig_promoted = Signal(list)  # ModelVersion list
    sig_adapt_requested = Signal()  # the first choice: adapt the models to the clinic instead (the window opens it)

    def __init__(self, runner, registry, runs_dir: Path, active_dirs: dict[str, str], backbones: str | None = None,
                 cache_dir: str | None = None, parent=None, train_function=None):
        """``train_function(config, should_stop, on_progress) -> RunResult`` trains one run (default: the
        trainer in a child process, core.training_job.train_in_child; the tests pass a fake)."""
        super().__init__(parent)
        if train_function is None:
            from melanoma_desktop.core.training_job import train_in_child as train_function
        self.train_function = train_function
        self.setWindowTitle("Retrain the models")
        fit_to_screen(self, 1000, 760)
        self.runner = runner
        self.registry = registry
        self.runs_dir = Path(runs_dir)
        self.active_dirs = active_dirs
        self.backbones = backbones
        self.cache_dir = cache_dir
        self.choice_page = ChoicePage(self)
        self.data_page = DataPage(self)
        self.setup_page = SetupPage(self)
        self.train_page = TrainPage(self)
        self.results_page = ResultsPage(self)
        for page in (self.choice_page, self.data_page, self.setup_page, self.train_page, self.results_page):
            self.addPage(page)
        self.setButtonText(QWizard.FinishButton, "Promote ticked models")

    def request_adaptation(self) -> None:
        self.sig_adapt_requested.emit()
        super().reject()

    def backbones_for_compare(self):
        return self.setup_page.backbones.text().strip() or self.backbones

    def accept(self) -> None:
        promoted = []
        result = self.train_page.result
        if result is not None:
            for name in self.results_page.chosen():
                promoted.append(self.registry.promote(result.bundles[name]))
            if promoted:  # used while exactly its members are active (e.g. all three promoted)
                try:
                    self.registry.keep_ensemble(result.out)
                except (TrainerError, OSError) as exc:  # the models are promoted all the same
                    QMessageBox.warning(self, "Ensemble not kept", "The models were promoted, but the run's "
                                        f"ensemble rule could not be kept, so no ensemble threshold applies: {exc}")
        self.sig_promoted.emit(promoted)
        super().accept()

    def _confirm_stop(self) -> bool:
        if not self.train_page.running:
            return True
        answer = QMessageBox.question(self, "Training is running",
                                      "Stop the training? The active models stay as they are.")
        if answer != QMessageBox.Yes:
            return False
        self.train_page.cancel()
        return True

    def reject(self) -> None:
        if self._confirm_stop():
            super().reject()

    def closeEvent(self, event) -> None:
        if self._confirm_stop():
            event.accept()
        else:
            event.ignore()
