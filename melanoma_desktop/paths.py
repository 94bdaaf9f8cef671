"""Where the user's state lives: ``--data-dir``, else ``$MELANOMA_HOME``, else the per-user application
data folder (Qt's AppDataLocation, e.g. ``~/.local/share/MelanomaTriage/MelanomaTriage`` on Linux).
The case database, window settings, promoted models and the clinic's flag lines are kept there."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MELANOMA_HOME"
APP_NAME = "MelanomaTriage"


def user_data_dir(explicit: str | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    from PySide6.QtCore import QCoreApplication, QStandardPaths  # only here: the folder otherwise needs no Qt

    if not QCoreApplication.organizationName():  # the headless commands: the same folder the window uses
        QCoreApplication.setOrganizationName(APP_NAME)
        QCoreApplication.setApplicationName(APP_NAME)
    return Path(QStandardPaths.writableLocation(QStandardPaths.AppDataLocation))


def registry_root(data_dir: Path) -> Path:
    return data_dir / "models"
