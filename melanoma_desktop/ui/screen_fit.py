"""Windows sized to the screen they open on: the preferred size, or less where the available area (the screen
less the taskbar) is smaller, so that a dialog's buttons are never below the bottom edge at 1280 x 800."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication

FRAME_PX, TITLE_PX = 16, 48  # left for the window frame and the title bar inside the available area


def available_area(widget):
    """The QRect a window on ``widget``'s screen may use (None without a screen)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else None


def fit_to_screen(widget, width: int, height: int) -> tuple[int, int]:
    """Resize ``widget`` to (width, height) or to what its screen's available area allows; returns the size."""
    area = available_area(widget)
    if area is not None:
        width, height = min(width, area.width() - FRAME_PX), min(height, area.height() - TITLE_PX)
    widget.resize(width, height)
    return width, height
