"""Long work never runs on the GUI thread, and the event loop goes on while it runs; the triage path needs
no network.

Responsiveness is asserted by structure, not by wall clock (a 100 ms limit fails on a loaded 2-core
machine): the heavy calls (decoding, the models, the PDF, the training) are recorded with the thread
they ran on, and a GUI-thread timer must tick while the work is under way.
"""

import socket
import threading

import pytest
from PySide6.QtCore import QTimer

from fakes import FakeClassifier, grey_image
from qt_helpers import drop, make_window


class ThreadLog:
    """Wraps ``module.name`` so that every call records the thread it ran on."""

    def __init__(self, monkeypatch, module, name):
        self.threads = []
        original = getattr(module, name)

        def recorded(*args, **kwargs):
            self.threads.append(threading.get_ident())
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, recorded)

    def all_off_the_gui_thread(self) -> bool:
        return bool(self.threads) and threading.main_thread().ident not in self.threads


class EventLoopTicks:
    """A 10 ms timer on the GUI thread, counting its ticks while ``busy()`` says the work is running."""

    def __init__(self, busy):
        self.busy, self.ticks_while_busy = busy, 0
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        self.ticks_while_busy += bool(self.busy())

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


def test_a_batch_of_200_is_decoded_and_classified_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    import melanoma_desktop.core.triage as triage

    classifier = FakeClassifier(delay_s=0.005)
    predictions = ThreadLog(monkeypatch, classifier, "predict")
    decoding = ThreadLog(monkeypatch, triage, "load_rgb")
    window = make_window(qtbot, tmp_path, classifier)
    files = [grey_image(tmp_path / f"{i:03d}.png", i, 224) for i in range(200)]
    groups = []
    window.controller.sig_records_saved.connect(groups.append)
    with EventLoopTicks(lambda: window.controller._batch_job is not None) as loop:
        with qtbot.waitSignal(window.sig_batch_finished, timeout=120000):
            drop(window, files)
    assert window.db.count() == 200
    assert predictions.all_off_the_gui_thread() and decoding.all_off_the_gui_thread()
    assert loop.ticks_while_busy > 0  # the event loop ran while the batch did
    assert sum(len(g) for g in groups) == 200 and len(groups) < 200  # saved records reach the window in groups


def test_the_batch_report_is_written_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    import melanoma_desktop.core.report as report

    from fakes import skin_image

    window = make_window(qtbot, tmp_path, FakeClassifier())
    files = [skin_image(tmp_path / f"{i:03d}.png", 0.3 + i / 100, 224) for i in range(20)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=120000):
        drop(window, files)
    pages = ThreadLog(monkeypatch, report, "draw_case_page")
    with EventLoopTicks(lambda: window.reports.report_job is not None) as loop:
        with qtbot.waitSignal(window.reports.sig_report_finished, timeout=300000) as blocker:
            window.reports.start_batch_report(str(tmp_path / "batch.pdf"))
    assert blocker.args == ["finished"] and (tmp_path / "batch.pdf").stat().st_size > 0
    assert pages.all_off_the_gui_thread() and loop.ticks_while_busy > 0


def test_training_runs_off_the_gui_thread_and_its_progress_reaches_the_window(qtbot, tmp_path, random_backbones,
                                                                             tiny_bundles):
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.wizard import RetrainWizard
    from melanoma_desktop.ui.worker import JobRunner

    from fakes import FakeTrainer
    from synthetic import write_labels_csv

    trainer = FakeTrainer(tiny_bundles[0])
    trained_on = []

    def train(config, should_stop, on_progress):
        trained_on.append(threading.get_ident())
        return trainer(config, should_stop, on_progress)

    data = write_labels_csv(tmp_path / "data", n_per_class=10)
    wizard = RetrainWizard(JobRunner(), ModelRegistry(tmp_path / "m"), tmp_path / "runs", {},
                           backbones=str(random_backbones), cache_dir=str(tmp_path / "cache"), train_function=train)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.choice_page.train_button.click()  # past the first choice (adapting to the clinic)
    wizard.data_page.path_edit.setText(str(data))
    wizard.data_page.inspect()
    qtbot.waitUntil(wizard.data_page.isComplete, timeout=30000)
    wizard.next()
    page = wizard.setup_page
    for name, box in page.model_boxes.items():
        box.setChecked(name in ("cnn", "mobilenetv2"))
    page.check()
    qtbot.waitUntil(page.isComplete, timeout=60000)
    with qtbot.waitSignal(wizard.train_page.sig_training_finished, timeout=180000) as blocker:
        wizard.next()
    assert blocker.args == ["finished"]
    assert trained_on and threading.main_thread().ident not in trained_on
    assert set(wizard.train_page.histories) == {"cnn", "mobilenetv2"}  # epochs crossed to the GUI as signals


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_triage_path_runs_with_sockets_blocked(tiny_bundles, tmp_path, no_network, monkeypatch):
    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.database import CaseDatabase
    from melanoma_desktop.core.triage import triage_paths

    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    models_dir, backbones, data = tiny_bundles
    models = load_models(models_dir, backbones)
    assert all(i.available for i in models.model_infos())
    files = sorted((data / "images").glob("*.png"))[:3]
    with CaseDatabase(tmp_path / "c.db") as db:
        items = list(triage_paths(files, models, save=db.save))
    assert len(items) == 3 and all(i.record for i in items)


def test_missing_backbone_is_not_downloaded_by_the_app(tiny_bundles, tmp_path, no_network, monkeypatch):
    from melanoma_desktop.core.classifier import load_models

    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    models_dir, _, _ = tiny_bundles
    models = load_models(models_dir, tmp_path / "nothing here")  # would need a download: refused, not tried
    infos = {i.name: i for i in models.model_infos()}
    assert infos["cnn"].available and not infos["mobilenetv2"].available
    assert "--backbones" in infos["mobilenetv2"].reason
