"""The window must appear before TensorFlow is imported (it takes 4-9 s here)."""

import subprocess
import sys


def test_opening_the_window_does_not_import_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from melanoma_desktop.ui.main_window import MainWindow\n"
        f"w = MainWindow({str(tmp_path / 'c.db')!r}, lambda p: None)\n"
        "w.show(); app.processEvents()\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
