"""Several workstations on one clinic database (SQLite or a real PostgreSQL server): another workstation's
case appears, a concurrent edit is refused with a clear message and the case reloaded, images are copied into the
clinic image store, and Settings > Database keeps no password."""

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.storage.location import Storage, storage_for
from melanoma_desktop.ui.main_window import MainWindow

from fakes import FakeClassifier, skin_image
from qt_helpers import drop
from storage_records import _record


def _window(qtbot, tmp_path, target, store=None):
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: FakeClassifier(), storage=Storage(
        target, store))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    return window


def test_another_workstations_case_appears_and_a_concurrent_edit_is_refused(qtbot, tmp_path, db_target,
                                                                            monkeypatch):
    store = tmp_path / "clinic-images"
    window = _window(qtbot, tmp_path, db_target, store)
    image = skin_image(tmp_path / "mine.png", 0.6)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [image])
    mine = window.worklist_model.records[0]
    assert Path(mine.path).parent.parent == store and Path(mine.path).read_bytes() == image.read_bytes()
    assert image.exists()  # copied, never moved
    with CaseDatabase(db_target) as other:  # a second workstation
        with qtbot.waitSignal(window.controller.sig_cases_changed, timeout=5000):
            other.save(_record("from-room-2", (0.9, 0.9, 0.9)))
        assert window.worklist_model.rowCount() == 2
        assert window.worklist_model.records[0].file_name == "from-room-2.jpg"
        assert "2 shown of 2" in window.worklist_panel.count_label.text()
        window.worklist.select_case(mine.id)
        assert window.case_view.record.id == mine.id
        other.update_review(mine.id, note="seen in room 2")  # while this clinician has the case open
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append((title, text)))
    window.case_view.note_edit.setPlainText("my note")
    window.case_view._save_note()
    assert warnings and warnings[0][0] == "Changed on another workstation"
    assert "your change was not saved" in warnings[0][1] and "not saved:\nmy note" in warnings[0][1]
    assert window.db.get(mine.id).note == "seen in room 2"  # nothing overwritten
    assert window.case_view.note_edit.toPlainText() == "seen in room 2"  # the case as it is now
    window.case_view.note_edit.setPlainText("my note, after reading theirs")
    window.case_view._save_note()
    assert window.db.get(mine.id).note == "my note, after reading theirs" and len(warnings) == 1


def test_settings_database_keeps_no_password_and_tests_the_connection(qtbot, tmp_path, db_target):
    from melanoma_desktop.ui.database_dialog import DatabaseDialog, DatabaseSettingsController

    window = _window(qtbot, tmp_path, tmp_path / "cases.sqlite3")
    dialog = window.clinicians.edit_database()
    qtbot.addWidget(dialog)
    assert isinstance(dialog, DatabaseDialog) and dialog.local_button.isChecked()
    dialog.shared_button.setChecked(True)
    dialog.url_edit.setText("postgresql://clinic:secret@db-server/melanoma")
    dialog.store_edit.setText(str(tmp_path))
    dialog.save()
    assert "contains a password" in dialog.result_label.text() and "secret" not in dialog.result_label.text()
    assert not (tmp_path / "home" / "database.json").exists()
    if isinstance(db_target, Path):
        return  # a shared database is a server; the SQLite run checks the refusals only
    dialog.url_edit.setText(db_target.split("?")[0] + "?" + db_target.split("?")[1])
    dialog.tls_box.setCurrentIndex(dialog.tls_box.findData("prefer"))
    with qtbot.waitSignal(dialog.controller.sig_tested, timeout=20000) as tested:
        dialog.test()
    assert tested.args[0] and "Connected to" in dialog.result_label.text() and "TLS" in dialog.result_label.text()
    controller = DatabaseSettingsController(window.db_path.parent, window.controller.runner, "")
    controller.save(dialog.chosen())
    kept = json.loads((window.db_path.parent / "database.json").read_text())
    assert kept["url"] == db_target and kept["image_store"] == str(tmp_path) and "password" not in json.dumps(kept)
    assert (window.db_path.parent / "database.json").stat().st_mode & 0o077 == 0
    assert storage_for(window.db_path.parent).target.startswith(db_target.split("?")[0])


def test_the_worklist_is_exported_off_the_gui_thread(qtbot, tmp_path, monkeypatch):
    import csv

    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text: pytest.fail(f"{title}: {text}"))
    window = _window(qtbot, tmp_path, tmp_path / "cases.sqlite3")
    with CaseDatabase(tmp_path / "cases.sqlite3") as db:
        for i in range(30):
            db.save(_record(f"x{i}", (i / 30, i / 30, i / 30)))
    window.reload_worklist()
    with qtbot.waitSignal(window.statusBar().messageChanged,
                          timeout=10000, check_params_cb=lambda text: text.startswith("Exported")):
        window.reports.export_csv(str(tmp_path / "worklist.csv"))
    assert len(list(csv.DictReader(open(tmp_path / "worklist.csv")))) == 30
    assert "Exported 30 case(s)" in window.statusBar().currentMessage()


def test_a_note_being_typed_survives_other_workstations_changes(qtbot, tmp_path, db_target):
    window = _window(qtbot, tmp_path, db_target)
    with CaseDatabase(db_target) as other:
        first = other.save(_record("first", (0.5, 0.5, 0.5)))
        with qtbot.waitSignal(window.controller.sig_cases_changed, timeout=5000):
            pass
        window.worklist.select_case(first.id)
        window.case_view.note_edit.setPlainText("half-typed")  # not saved yet: the clinician is still typing
        with qtbot.waitSignal(window.controller.sig_cases_changed, timeout=5000):
            other.save(_record("higher", (0.9, 0.9, 0.9)))  # lands above: the clinician's row moves down
        assert window.case_view.note_edit.toPlainText() == "half-typed" and window.db.get(first.id).note == ""
        assert window.worklist.current_case_id() == first.id and window.worklist.currentIndex().row() == 1
        window.case_view._save_note()
        assert window.db.get(first.id).note == "half-typed"  # saved once, by the clinician, not refused
        with qtbot.waitSignal(window.controller.sig_cases_changed, timeout=5000):
            other.update_review(first.id, clinician_label="suspicious")  # nothing being typed: shown at once
        assert window.case_view.record.clinician_label == "suspicious"


def test_deleting_a_case_removes_its_copy_in_the_image_store(qtbot, tmp_path):
    store = tmp_path / "clinic-images"
    window = _window(qtbot, tmp_path, tmp_path / "shared.sqlite3", store)
    images = [skin_image(tmp_path / "a.png", 0.6), skin_image(tmp_path / "b.png", 0.4)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, images)
    copies = {r.id: Path(r.path) for r in window.worklist_model.records}
    assert all(p.is_file() and store in p.parents for p in copies.values())
    gone, kept = list(copies)
    with qtbot.waitSignal(window.cases.sig_case_deleted, timeout=10000):
        window.cases.delete_case(gone)
    assert not copies[gone].exists() and copies[kept].exists() and all(i.exists() for i in images)
