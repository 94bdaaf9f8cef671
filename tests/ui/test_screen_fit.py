"""Every window and dialog sizes to the screen it opens on: with 1280 x 720 available (a 1280 x 800 screen less a
taskbar), none opens larger than that area and none needs more than it (its minimum size)."""

import pytest
from PySide6.QtCore import QRect

from melanoma_desktop.ui import screen_fit

AREA = QRect(0, 0, 1280, 720)


@pytest.fixture
def small_screen(monkeypatch):
    monkeypatch.setattr(screen_fit, "available_area", lambda widget: AREA)


def _fits(widget):
    size, minimum = widget.size(), widget.minimumSizeHint()
    assert size.width() <= AREA.width() and size.height() <= AREA.height(), (type(widget).__name__, size)
    assert minimum.width() <= AREA.width() and minimum.height() <= AREA.height(), (type(widget).__name__, minimum)


def test_the_windows_fit_a_1280_by_720_area(qtbot, tmp_path, small_screen, tiny_bundles):
    from melanoma_desktop.core.registry import ModelRegistry
    from melanoma_desktop.ui.main_window import MainWindow

    from fakes import FakeClassifier

    registry = ModelRegistry(tmp_path / "registry")
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: FakeClassifier(), registry=registry)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    _fits(window)
    for dialog in (window.clinic.show_adapt_dialog(), window.clinic.show_versions(), window.clinic.show_local_performance(),
                   window.clinic.show_retrain_wizard()):
        qtbot.addWidget(dialog)
        _fits(dialog)
    from melanoma_desktop.ui.metrics_panel import MetricsPanel

    models_dir = tiny_bundles[0]
    panel = MetricsPanel([str(models_dir / "cnn"), str(models_dir / "mobilenetv2")], window)
    qtbot.addWidget(panel)
    _fits(panel)
