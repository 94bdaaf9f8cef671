"""Windows sized to the screen they open on: the preferred size, or less where the available area (the screen
less the taskbar) is smaller, so that a dialog's buttons are never below the bottom edge at 1280 x 800."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

MARGIN = 0.92  # of the available area, for the title bar and the window frame


def fit_to_screen(widget, width: int, height: int) -> tuple[int, int]:
    """Resize ``widget`` to (width, height) or to what its screen's available area allows; returns the size."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        width, height = min(width, int(area.width() * MARGIN)), min(height, int(area.height() * MARGIN))
    widget.resize(width, height)
    return width, height
