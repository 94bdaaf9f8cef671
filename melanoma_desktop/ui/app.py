"""Starting the desktop app: window first, models in the background."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from melanoma_desktop.core.classifier import default_models_dir, load_models
from melanoma_desktop.core.private_files import make_private_dir
from melanoma_desktop.core.registry import ModelRegistry
from melanoma_desktop.core.storage.location import storage_for
from melanoma_desktop.paths import registry_root, user_data_dir
from trainer.api import icons_dir, import_tensorflow_quietly


def run_app(args) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MelanomaTriage")
    app.setOrganizationName("MelanomaTriage")


    app.setWindowIcon(QIcon(str(icons_dir() / "app.png")))
    data_dir = user_data_dir(getattr(args, "data_dir", None))
    make_private_dir(data_dir)  # created 0700 (main() has tightened what an earlier release left open)
    os.environ.setdefault("MPLCONFIGDIR", str(data_dir / "matplotlib"))

    from melanoma_desktop.ui.main_window import MainWindow

    models_dir, backbones = getattr(args, "models", None), getattr(args, "backbones", None)
    registry = ModelRegistry(registry_root(data_dir))

    def factory(on_progress):
        import_tensorflow_quietly()  # in the loading thread, after the window is up
        if models_dir:  # an explicit folder is used as it is
            return load_models(models_dir, backbones, on_progress=on_progress, site_rule=registry.active_site_rule(),
                               site_models=registry.active_site_models())
        return load_models(default_models_dir(), backbones, on_progress=on_progress,
                           bundle_dirs=registry.active_bundle_dirs(fallback=default_models_dir()),
                           ensemble_files=registry.ensemble_files(), site_rule=registry.active_site_rule(),
                           site_models=registry.active_site_models())


    storage = storage_for(data_dir, getattr(args, "database", None))  # --database, $MELANOMA_DATABASE_URL, Settings
    window = MainWindow(data_dir / "cases.sqlite3", factory, registry=registry, backbones=backbones, storage=storage)
    window.show()
    window.clinicians.ask_at_start()  # with a list of the clinic's clinicians: who is using the app
    _report_startup_timing(window)
    # Start importing TensorFlow only once the window is on screen: the import holds the GIL for
    # seconds and would otherwise delay the first paint.
    QTimer.singleShot(100, window.start_loading_models)
    return app.exec()


def _report_startup_timing(window) -> None:
    """With $MELANOMA_STARTUP_T0 (a time.time() taken before launch), print when the window is
    on screen and when the models are ready, then quit: used by scripts/benchmark_app.py."""
    t0 = os.environ.get("MELANOMA_STARTUP_T0")
    if not t0:
        return


    def shown():
        print(f"timing window_visible_s {time.time() - float(t0):.3f}", flush=True)

    def ready(_infos):
        print(f"timing models_ready_s {time.time() - float(t0):.3f}", flush=True)
        QTimer.singleShot(0, QApplication.quit)

    QTimer.singleShot(0, shown)
    window.sig_models_ready.connect(ready)
