"""Models > Local performance with a fake classifier: confirmed diagnoses in, numbers out, the clinic's flag line."""

import numpy as np
from PySide6.QtCore import Qt

from melanoma_desktop.core.local_performance import evaluate_local
from melanoma_desktop.core.registry import ModelRegistry

from fakes import FakeClassifier, skin_image
from qt_helpers import drop, import_confirmed


def _window(qtbot, tmp_path):
    from melanoma_desktop.ui.main_window import MainWindow

    classifier = FakeClassifier()
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: classifier,
                        registry=ModelRegistry(tmp_path / "models"))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    return window


def _clinic(window, qtbot, tmp_path, n_mel=24, n_ben=60, seed=0, mel=0.72, ben=0.62):
    """A clinic whose benign lesions read dark: the shipped line (0.6) flags most of them."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / "clinic"
    folder.mkdir()
    rows = ["image,label,source"]
    mel_level = mel
    for i in range(n_mel + n_ben):
        is_mel = i < n_mel
        darkness = float(np.clip(rng.normal(mel_level if is_mel else ben, 0.015 if is_mel else 0.03), 0.3, 0.75))
        name = f"{'m' if is_mel else 'b'}{i:03d}.png"
        skin_image(folder / name, darkness, 128)
        rows.append(f"{name},{'malignant' if is_mel else 'benign'},histopathology")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    with qtbot.waitSignal(window.sig_batch_finished, timeout=60000):
        drop(window, [folder])
    return tmp_path / "labels.csv"


def test_confirmed_diagnoses_from_a_csv_appear_on_the_cases(qtbot, tmp_path):
    window = _window(qtbot, tmp_path)
    labels = _clinic(window, qtbot, tmp_path, 2, 2)
    summary = import_confirmed(window, qtbot, labels)
    assert summary.startswith("4 new; 0 already recorded; 0 conflicting") and "4 histopathology" in summary
    melanoma = next(r for r in window.db.list() if r.file_name == "m000.png")
    assert melanoma.confirmed_label == "melanoma" and melanoma.confirmed_source == "histopathology"
    window.worklist.select_case(melanoma.id)
    assert window.case_view.confirmed_box.currentText() == "melanoma"
    assert window.case_view.source_box.currentText() == "histopathology"
    window.case_view.confirmed_box.setCurrentIndex(1)  # the clinician corrects it: benign
    window.case_view.source_box.setCurrentIndex(0)  # and gives no source: none is recorded, none is made up
    window.case_view.confirmed_box.activated.emit(1)
    assert window.db.get(melanoma.id).confirmed_label == "benign"
    assert window.db.get(melanoma.id).confirmed_source is None
    assert window.db.get(melanoma.id).clinician_label is None  # the assessment is another thing


def test_an_import_is_previewed_then_undone_as_one_step(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    window = _window(qtbot, tmp_path)
    _clinic(window, qtbot, tmp_path, 2, 2)
    first = next(r for r in window.db.list() if r.file_name == "m000.png")
    window.db.set_confirmed(first.id, "benign", "expert consensus")
    csv = tmp_path / "pathology.csv"
    csv.write_text("image,label\nm000.png,melanoma\nm001.png,melanoma\nb002.png,benign\nnot-here.png,benign\n")
    with qtbot.waitSignal(window.clinic.sig_import_previewed, timeout=10000) as previewed:
        window.clinic.preview_import(str(csv))  # the file is read off the GUI thread, then shown
    dialog = previewed.args[0]
    qtbot.addWidget(dialog)
    assert window.db.get(next(r.id for r in window.db.list() if r.file_name == "m001.png")).confirmed_label is None
    assert "2 cases get</b> a confirmed diagnosis" in dialog.findChildren(type(dialog.sources_label))[0].text()
    assert "1 has a different one" in dialog.findChildren(type(dialog.sources_label))[0].text()
    assert "3 not given" in dialog.sources_label.text()  # the file names no source: none is invented
    assert dialog.table.rowCount() == 1 and dialog.table.item(0, 3).text() == "benign"  # the conflict, listed
    with qtbot.waitSignal(window.clinic.sig_import_done, timeout=10000):
        dialog.import_button.click()  # without ticking "replace": the conflicting one is kept
    records = {r.file_name: r for r in window.db.list()}
    assert records["m001.png"].confirmed_label == "melanoma" and records["m001.png"].confirmed_source is None
    assert records["m000.png"].confirmed_label == "benign"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    with qtbot.waitSignal(window.clinic.sig_import_undone, timeout=10000) as undone:
        window.clinic.undo_last_import()
    assert undone.args == [2]
    assert all(r.confirmed_label is None for r in window.db.list() if r.file_name != "m000.png")
    assert window.clinic.undo_last_import() is None  # nothing left to undo
    assert window.statusBar().currentMessage() == "No import of confirmed diagnoses to undo."


def test_local_performance_shows_the_cores_numbers_and_refuses_too_few_cases(qtbot, tmp_path):
    window = _window(qtbot, tmp_path)
    import_confirmed(window, qtbot, _clinic(window, qtbot, tmp_path, 12, 30))
    dialog = window.clinic.show_local_performance()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sig_computed, timeout=30000):
        pass
    expected = evaluate_local(window.db.list(), window.classifier.ensemble)
    c = expected.combined
    assert dialog.verdict_label.text().startswith(expected.verdict())
    assert dialog.table.item(0, 0).text() == "combined risk" and dialog.table.item(0, 2).text() == "12"
    assert dialog.table.item(0, 3).text() == f"{c.sensitivity:.0%} ({c.sensitivity_ci[0]:.0%}–{c.sensitivity_ci[1]:.0%})"
    assert dialog.missed_list.count() == len(expected.missed)
    with qtbot.waitSignal(dialog.sig_rule_fitted, timeout=30000) as fitted:
        dialog.fit_rule()  # off the GUI thread
    assert fitted.args == [None]
    assert "12 melanomas and 30 benign lesions; a flag line needs at least 20 melanomas and 50" in dialog.rule_status.text()
    assert not dialog.adopt_button.isEnabled()
    assert dialog.table.item(1, 0).text() == "Fake cnn"  # each model by the name the screens use
    assert dialog.table.horizontalScrollBarPolicy() == Qt.ScrollBarAlwaysOff
    header = dialog.table.horizontalHeader()
    assert sum(header.sectionSize(c) for c in range(dialog.table.columnCount())) <= dialog.table.viewport().width()
    dialog.save_pdf(str(tmp_path / "local.pdf"))
    from pypdf import PdfReader

    text = " ".join(PdfReader(tmp_path / "local.pdf").pages[0].extract_text().split())
    for heading in ("score", "cases", "caught (95 % range)", "benign cleared (95 % range)", "ranking (95 % range)"):
        assert heading in text  # the table has its column headings
    assert "Risk against the share of melanomas among your cases" in text and "Signature:" in text
    assert "not a medical device" in text and "Fake cnn" in text


def test_a_new_flag_line_changes_new_cases_only_and_restoring_brings_the_old_one_back(qtbot, tmp_path, monkeypatch):
    window = _window(qtbot, tmp_path)
    import_confirmed(window, qtbot, _clinic(window, qtbot, tmp_path))
    before = {r.id: r.flagged for r in window.db.list()}
    dialog = window.clinic.show_local_performance()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.sig_rule_fitted, timeout=30000) as fitted:
        dialog.fit_rule()
    rule = fitted.args[0]
    assert rule is not None and dialog.adopt_button.isEnabled() and "would have caught about" in dialog.rule_status.text()
    assert "the shipped one" in window.models_status.text() and "the shipped one" in dialog.rule_label.text()
    assert "their records keep the flag line they were read with" in dialog.adopt_question()
    assert "site-" not in dialog.adopt_question() and "melanomas and" in dialog.adopt_question()  # by date, cases
    from PySide6.QtWidgets import QMessageBox

    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kw: asked.append(args[2]) or QMessageBox.No)
    dialog.adopt_button.click()  # the button asks first; "No" changes nothing
    assert asked == [dialog.adopt_question()] and window.registry.active_site_rule() is None
    offered = []

    def answer(parent, title, text, *rest):  # yes to the line, no to re-reading the saved cases (asked after)
        offered.append(title)
        return QMessageBox.Yes if title == "Use the clinic's flag line" else QMessageBox.No

    monkeypatch.setattr(QMessageBox, "question", answer)
    with qtbot.waitSignal(window.controller.sig_worklist_rescaled, timeout=10000):  # shown on the new line
        dialog.adopt_button.click()
    assert offered == ["Use the clinic's flag line", "Saved cases"]  # re-reading the saved ones is offered
    assert window.registry.active_site_rule().site_version == rule.site_version
    # no stale words: the window's line and the dialog name the clinic's line at once, without a restart
    from melanoma_desktop.core.wording import version_words

    assert f"the clinic's own ({version_words(rule.site_version)})" in window.models_status.text()
    assert f"the clinic's own ({version_words(rule.site_version)})" in dialog.rule_label.text()
    assert {r.id: r.flagged for r in window.db.list()} == before  # saved cases keep the rule they were read with
    shown = window.worklist_model.records  # ... and the worklist shows every one on the line now in use
    assert {r.consensus.rule for r in shown} == {"clinic flag line"} and all(r.first_read_with for r in shown)
    assert {r.id: r.flagged for r in shown} != before
    window.worklist.select_case(shown[0].id)
    assert "first read with the shipped flag line" in window.case_view.risk_label.text()

    def new_case(name, darkness):
        with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
            drop(window, [skin_image(tmp_path / name, darkness, 128)])
        return next(r for r in window.db.list() if r.file_name == name)

    clinic_read = new_case("new_a.png", 0.65)  # above the shipped line 0.6, below this clinic's melanomas
    assert clinic_read.consensus.rule == "clinic flag line" and not clinic_read.flagged
    assert clinic_read.to_json()["rule_version"] == rule.site_version
    from melanoma_desktop.ui.versions_dialog import VersionsDialog

    versions = VersionsDialog(window.registry, window)
    qtbot.addWidget(versions)
    versions.sig_site_rule_restored.connect(window.clinic.use_site_rule)
    assert versions.rules_table.rowCount() == 1 and versions.rules_table.item(0, 4).text() == "✓"
    first = versions.rules_table.item(0, 0)  # by its value, date and cases; the id one hover away
    assert first.text() == f"at {rule.threshold:.0%}" and first.data(Qt.UserRole) == rule.site_version
    versions.shipped_rule_button.click()
    shipped_read = new_case("new_b.png", 0.65)
    assert shipped_read.consensus.rule == "ensemble" and shipped_read.flagged  # the shipped line flags it again
    assert window.db.get(clinic_read.id).consensus.rule == "clinic flag line"  # the earlier case keeps its rule
    assert window.db.rereadable_count(window.controller.flag_rule) == 1  # the case read with the clinic's line
    with qtbot.waitSignal(window.controller.sig_reread_done, timeout=10000) as reread:  # off the GUI thread
        window.clinic.reread_cases()
    assert reread.args == [len(window.db.list())]
    assert window.db.get(clinic_read.id).consensus.rule == "ensemble"  # re-read on request only
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kw: QMessageBox.Yes)
    with qtbot.waitSignal(window.controller.sig_reread_done, timeout=10000):
        window.clinic.use_site_rule(rule)  # the clinic's line again, and yes to reading the saved cases with it
    assert {r.consensus.rule for r in window.db.list()} == {"clinic flag line"}  # one risk scale in the worklist
    assert window.db.audit_log()[-1][1] == "cases re-read under a new flag line"
