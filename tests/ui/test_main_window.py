"""The main window with a fake classifier: drops, panels, disagreement, cancel, history, errors."""

import hashlib

import pytest
from PySide6.QtCore import Qt

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.ui.main_window import MainWindow
from melanoma_desktop.ui.worklist import WorklistModel

from fakes import FakeClassifier, grey_image, model_card, skin_image
from qt_helpers import drop, make_window


def test_drop_files_and_a_folder_fills_the_worklist_by_risk(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    files = [skin_image(tmp_path / "light.png", 0.3), skin_image(folder / "dark.png", 0.75),
             skin_image(folder / "mid.png", 0.5)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000) as blocker:
        drop(window, [files[0], folder])
    assert blocker.args == ["finished"]
    names = [r.file_name for r in window.worklist_model.records]
    assert names == ["dark.png", "mid.png", "light.png"]  # highest combined risk first
    assert window.worklist.current_case_id() == window.worklist_model.records[0].id  # the top new case is shown
    assert window.disclaimer_label.text().endswith(DISCLAIMER) and window.disclaimer_label.isVisible()


def _cell(window, record_row: int, column: int, role=Qt.DisplayRole):
    model = window.worklist_model
    return model.data(model.index(record_row, column), role)


def test_flag_colour_filter_and_order_follow_the_combined_risk(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    assert list(window.case_view.panels) == ["cnn", "vgg16", "mobilenetv2"]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        # 0.5: cnn (line 0.25) clearly above its own line, MobileNetV2 (0.75) clearly below; combined 0.5 < 0.6.
        # 0.56: cnn and vgg16 above their line, MobileNetV2 below but not clearly: no marker.
        drop(window, [skin_image(tmp_path / "split.png", 0.5), skin_image(tmp_path / "high.png", 0.72),
                      skin_image(tmp_path / "low.png", 0.3), skin_image(tmp_path / "two_of_three.png", 0.56)])
    records = window.worklist_model.records
    assert [r.file_name for r in records] == ["high.png", "two_of_three.png", "split.png", "low.png"]
    mid = records[2]
    assert not mid.flagged and mid.disagreement
    assert mid.consensus.clearly_above == ("cnn",) and mid.consensus.clearly_below == ("mobilenetv2",)
    assert records[1].consensus.n_malignant == 2 and not records[1].disagreement  # on both sides, not clearly
    assert _cell(window, 2, WorklistModel.FLAG) == "" and _cell(window, 2, WorklistModel.DISAGREE) == "⚠"
    assert _cell(window, 1, WorklistModel.DISAGREE) == ""
    assert _cell(window, 2, WorklistModel.IMAGE, Qt.BackgroundRole) is None  # not coloured: not flagged
    assert _cell(window, 0, WorklistModel.FLAG) == "▲ flagged"
    assert _cell(window, 0, WorklistModel.IMAGE, Qt.BackgroundRole).color().name() == "#fde2e1"
    assert _cell(window, 2, WorklistModel.RISK) == f"{mid.risk:.0%}"
    tooltip = _cell(window, 2, WorklistModel.IMAGE, Qt.ToolTipRole)
    assert "cnn: 50%, above its own flag line" in tooltip and "mobilenetv2: 50%, below" in tooltip
    window.worklist_panel.set_filter("flagged")
    assert [r.file_name for r in window.worklist_model.records] == ["high.png"]
    window.worklist_panel.set_filter("disagreement")
    assert [r.file_name for r in window.worklist_model.records] == ["split.png"]
    window.worklist_panel.set_filter("all")
    window.worklist.select_case(mid.id)
    view = window.case_view
    assert view.risk_label.text().startswith("Melanoma risk score 50% — not flagged (flag line 60%")
    assert view.disagree_label.isVisible()
    assert "Fake cnn clearly above its own flag line, Fake mobilenetv2 clearly below" in view.disagree_label.text()
    assert "not a sign of melanoma" in view.disagree_label.text()
    assert view.panels["cnn"].class_label.text() == "50% — above this model's own flag line (25%)"
    assert view.panels["mobilenetv2"].class_label.text() == "50% — below this model's own flag line (75%)"
    assert view.panels["vgg16"].bar.line == pytest.approx(0.5)
    assert "mean" not in view.risk_label.text()  # the raw mean is never shown


def test_images_that_cannot_be_assessed_get_no_risk_until_assessed_anyway(qtbot, tmp_path):
    from fakes import document_photo

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [document_photo(tmp_path / "referral letter.png"), grey_image(tmp_path / "patch.png", 90, 12),
                      skin_image(tmp_path / "lesion.png", 0.4)])
    records = window.worklist_model.records
    assert [r.file_name for r in records][0] == "lesion.png"  # scored cases first
    unassessed = {r.file_name: r for r in records if not r.assessable}
    assert set(unassessed) == {"referral letter.png", "patch.png"}
    assert all(r.risk is None and not r.flagged for r in unassessed.values())
    assert "does not look like skin" in unassessed["referral letter.png"].reason
    assert "too small" in unassessed["patch.png"].reason
    row = window.worklist_model.row_of(unassessed["referral letter.png"].id)
    assert _cell(window, row, WorklistModel.RISK) == "—" and _cell(window, row, WorklistModel.FLAG) == "cannot assess"
    window.worklist_panel.set_filter("cannot_assess")
    assert {r.file_name for r in window.worklist_model.records} == {"referral letter.png", "patch.png"}
    window.worklist_panel.set_filter("all")
    window.worklist.select_case(unassessed["referral letter.png"].id)
    view = window.case_view
    assert view.risk_label.text().startswith("Cannot assess this image: it does not look like skin")
    assert "Assess anyway" not in view.risk_label.text()  # not skin: no clinician's judgement makes it a lesion
    assert not view.assess_anyway_button.isVisible() and view.panels["cnn"].bar.value is None
    with pytest.raises(ValueError, match="cannot be assessed anyway"):
        window.db.update_review(unassessed["referral letter.png"].id, assess_anyway=True)
    window.worklist.select_case(unassessed["patch.png"].id)
    assert not view.assess_anyway_button.isVisible()  # a 12 x 12 patch: too small

    from PIL import Image, ImageFilter

    blurred = tmp_path / "blurred lesion.png"
    Image.open(skin_image(tmp_path / "sharp.png", 0.45, 160)).filter(ImageFilter.GaussianBlur(6)).save(blurred)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [blurred])
    record = window.db.find_by_sha(hashlib.sha256(blurred.read_bytes()).hexdigest())
    assert record.reason == "the image is out of focus"
    window.worklist.select_case(record.id)
    assert view.assess_anyway_button.isVisible()  # borderline quality: the clinician may judge it usable
    view.assess_anyway_button.click()
    again = window.db.get(record.id)
    assert again.assess_anyway and again.assessable and again.risk is not None
    assert window.db.audit_log()[-1][1:] == ("assess anyway", f"case #{again.id}")
    assert view.risk_label.text().startswith("Melanoma risk score")


def test_heatmaps_come_back_after_review_and_label_changes(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "a.png", 0.7, 224)])
    if window.case_view.panels["cnn"].heatmap_label.pixmap().isNull():
        qtbot.waitSignal(window.sig_heatmaps_shown, timeout=10000).wait()
    case_id = window.worklist.current_case_id()
    panel = window.case_view.panels["cnn"]
    assert not panel.heatmap_label.pixmap().isNull()
    window.worklist.setFocus()
    qtbot.keyClick(window.worklist, Qt.Key_R)
    assert window.db.get(case_id).reviewed and not panel.heatmap_label.pixmap().isNull()
    window.case_view.label_box.setCurrentIndex(2)
    window.case_view.label_box.activated.emit(2)
    assert window.db.get(case_id).clinician_label == "suspicious"
    assert not panel.heatmap_label.pixmap().isNull()


def test_deleting_a_case_removes_every_trace(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    image = skin_image(tmp_path / "wrongly added.png", 0.7, 224)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [image, skin_image(tmp_path / "keep.png", 0.4)])
    case_id = next(r.id for r in window.worklist_model.records if r.file_name == "wrongly added.png")
    window.worklist.select_case(case_id)
    if not window.db.get_heatmaps(case_id):
        qtbot.waitSignal(window.sig_heatmaps_shown, timeout=10000).wait()
    sha = window.db.get(case_id).sha256
    with qtbot.waitSignal(window.cases.sig_case_deleted, timeout=10000):
        window.cases.delete_case(case_id)  # a job: the case view lets go of it first
        assert window.case_view.record is None
    assert [r.file_name for r in window.worklist_model.records] == ["keep.png"]
    window.close()
    import sqlite3

    conn = sqlite3.connect(tmp_path / "cases.sqlite3")
    for table, column in (("cases", "id"), ("predictions", "case_id"), ("heatmaps", "case_id")):
        assert conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", (case_id,)).fetchone()[0] == 0
    assert conn.execute("SELECT action, detail FROM audit").fetchall() == [("case deleted", f"case #{case_id}")]
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("cases.sqlite3*"))
    assert sha.encode() not in raw and b"wrongly added" not in raw  # nothing left in free pages or the log
    assert image.is_file()  # the clinic's own file is not touched


def test_cancel_stops_a_batch(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, FakeClassifier(delay_s=0.2))
    files = [grey_image(tmp_path / f"{i:03d}.png", i) for i in range(80)]
    with qtbot.waitSignal(window.sig_case_saved, timeout=10000):
        drop(window, files)
    assert window.batch_bar.isVisible()
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000) as blocker:
        window.batch_bar.cancel_button.click()
    assert blocker.args == ["cancelled"]
    assert 0 < window.db.count() < 80
    assert not window.batch_bar.isVisible()


def test_the_batch_bar_counts_images_not_dropped_items(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, FakeClassifier(delay_s=0.05))
    folder = tmp_path / "visit"
    folder.mkdir()
    for i in range(6):
        grey_image(folder / f"{i}.png", i)
    with qtbot.waitSignal(window.sig_case_saved, timeout=10000):
        drop(window, [folder])  # one dropped item, six images
    assert window.batch_bar.label.text() == "Classifying 6 images…"
    assert " of 6 images" in window.batch_bar.bar.format()
    qtbot.waitUntil(lambda: window.db.count() == 6 and not window.batch_bar.isVisible(), timeout=10000)


def test_restart_shows_saved_history(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "a.png", 0.7), skin_image(tmp_path / "b.png", 0.3)])
    window.worklist.selectRow(0)
    window.case_view.note_edit.setPlainText("biopsy planned")
    window.case_view.set_record(None)  # leaving the case saves the note
    window.close()
    again = make_window(qtbot, tmp_path)
    assert [r.file_name for r in again.worklist_model.records] == ["a.png", "b.png"]
    assert again.db.list()[0].note == "biopsy planned"


def test_unreadable_file_shows_an_error_and_the_batch_goes_on(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    bad = tmp_path / "broken.jpg"
    bad.write_text("not an image")
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [bad, grey_image(tmp_path / "ok.png", 90)])
    assert window.error_list.isVisible() and "broken.jpg" in window.error_list.item(0).text()
    assert [r.file_name for r in window.worklist_model.records] == ["ok.png"]


def test_same_image_dropped_twice_is_one_case(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    image = grey_image(tmp_path / "a.png", 60)
    for _ in range(2):
        with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
            drop(window, [image])
    assert window.db.count() == 1 and window.worklist_model.rowCount() == 1
    assert "1 image(s) were already in the history" in window.statusBar().currentMessage()


def test_keyboard_review_and_clinician_assessment(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "a.png", 0.7), skin_image(tmp_path / "b.png", 0.6)])
    window.worklist.setFocus()
    window.worklist.selectRow(0)
    qtbot.keyClick(window.worklist, Qt.Key_Down)
    assert window.worklist.current_case_id() == window.worklist_model.records[1].id
    qtbot.keyClick(window.worklist, Qt.Key_R)
    assert window.db.get(window.worklist_model.records[1].id).reviewed
    window.case_view.label_box.setCurrentIndex(3)
    window.case_view.label_box.activated.emit(3)
    window.case_view.management_box.setCurrentIndex(4)
    window.case_view.management_box.activated.emit(4)
    case = window.db.get(window.worklist_model.records[1].id)
    assert case.clinician_label == "melanoma" and case.management == "biopsy"
    assert window.worklist_model.data(window.worklist_model.index(1, WorklistModel.REVIEW)) == "melanoma ✓"
    window.worklist_panel.set_filter("unreviewed")
    assert [r.file_name for r in window.worklist_model.records] == ["a.png"]
    window.worklist_panel.search_box.setText("b.p")
    assert window.worklist.visible_case_ids() == []
    window.worklist_panel.set_filter("all")
    assert window.worklist.visible_case_ids() == [case.id]


def test_images_dropped_before_models_are_ready_wait_for_them(qtbot, tmp_path):
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: FakeClassifier())
    qtbot.addWidget(window)
    drop(window, [grey_image(tmp_path / "early.png", 30)])
    assert "waiting" in window.models_status.text()
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        window.start_loading_models()
    assert window.db.count() == 1


def test_no_models_installed_is_said_plainly(qtbot, tmp_path):
    from melanoma_desktop.core.classifier import load_models

    empty = tmp_path / "no_models"
    empty.mkdir()
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: load_models(empty))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    text = window.models_status.text()
    assert "No models are installed" in text and "python -m trainer train" in text


def test_an_unavailable_model_explains_itself_and_others_work(qtbot, tmp_path):
    fake = FakeClassifier(unavailable={"vgg16": "backbone weights not found; pass --backbones"})
    window = make_window(qtbot, tmp_path, fake)
    assert "2 of 3 models ready" in window.models_status.text() and "--backbones" in window.models_status.toolTip()
    assert "--backbones" in window.case_view.panels["vgg16"].detail_label.text()
    assert window.case_view.panels["vgg16"].class_label.text() == "unavailable"
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "a.png", 60)])
    assert len(window.db.list()[0].predictions) == 2


def test_about_box_lists_models_and_disclaimer(qtbot, tmp_path):
    from melanoma_desktop.ui.dialogs import about_details, about_html

    window = make_window(qtbot, tmp_path)
    text = about_html(window.model_infos(), window.classifier.ensemble)
    assert DISCLAIMER in text and "caught 90% of the melanomas at its flag line" in text and "Combined risk" in text
    assert "AUC" not in text and "threshold" not in text  # engineering words stay in the details
    details = about_details(window.model_infos(), window.classifier.ensemble)
    assert "cnn-fake-1" in details and "80.0%" in details and "flag line 0.600" in details


def test_heatmaps_are_computed_off_thread_cached_and_toggled(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_heatmaps_shown, timeout=10000):  # the top new case is shown with them
        drop(window, [skin_image(tmp_path / "a.png", 0.7, size=224)])
    case_id = window.worklist.current_case_id()
    assert set(window.db.get_heatmaps(case_id)) == {"cnn", "vgg16", "mobilenetv2"}
    panel = window.case_view.panels["cnn"]
    assert not panel.heatmap_label.pixmap().isNull()
    before = panel.heatmap_label.pixmap().toImage()
    window.case_view.opacity_slider.setValue(0)
    assert panel.heatmap_label.pixmap().toImage() != before
    window.case_view.heatmap_toggle.setChecked(False)
    assert panel.heatmap_label.pixmap().isNull()
    window.case_view.heatmap_toggle.setChecked(True)
    window.case_view.set_record(None)
    calls = window.classifier.calls
    with qtbot.waitSignal(window.sig_heatmaps_shown, timeout=5000):  # from the cache this time
        window._on_case_selected(case_id)
    assert window.classifier.calls == calls
    assert window.case_view.viewer.has_image() and window.case_view.legend.isVisible()


def test_about_box_and_metrics_panel_name_extra_training_data():
    from pathlib import Path

    from melanoma_desktop.core.metrics_report import summary_rows
    from melanoma_desktop.core.records import ModelInfo
    from melanoma_desktop.ui.dialogs import about_details, about_html
    from trainer.evaluation.reports import BundleReport

    training = {"data": "/data/ham10000", "protocol": "extended",
                "counts": {"train": {"benign": 7333, "malignant": 835}, "val": {"benign": 1007, "malignant": 81}},
                "extra_data": [{"data": "/data/isic2017", "source_split": "train", "benign": 1626, "malignant": 374}]}
    text = about_html([ModelInfo("vgg16", "VGG16", version="v1", training=training)])
    assert "Learned from HAM10000 with ISIC 2017 (train part): 8,168 training images, 835 of them melanomas" in text
    details = about_details([ModelInfo("vgg16", "VGG16", version="v1", training=training)])
    assert "trained on ham10000 + isic2017 (train) 2000 images, protocol extended" in details
    rows = dict(summary_rows(BundleReport(Path("."), model_card(training=training), {})))
    assert rows["Extra training data"] == "isic2017 (train): 1626 benign / 374 malignant, training split only"
    assert rows["Split (benign/malignant)"].startswith("train 7333/835")
    # a card with an entry of another shape under counts (as one early extra-data run wrote) still shows
    odd = dict(training, counts={**training["counts"], "extra": [{"benign": 1}]})
    assert "train 7333/835" in dict(summary_rows(BundleReport(Path("."), model_card(training=odd), {})))["Split (benign/malignant)"]
    assert "train 8168" in about_details([ModelInfo("vgg16", "VGG16", version="v1", training=odd)])


def test_metrics_panel_says_how_each_card_is_calibrated():
    from pathlib import Path

    from melanoma_desktop.core.metrics_report import summary_rows
    from trainer.evaluation.reports import BundleReport

    logistic = {"method": "logistic", "slope": 0.73, "intercept": 0.66, "positive_index": 1}
    metrics = {"calibration": dict(logistic, ece_test_before=0.131, ece_test_after=0.053)}
    rows = dict(summary_rows(BundleReport(Path("."), model_card(calibration=logistic), metrics)))
    assert rows["Calibration"] == "logistic (slope 0.73, intercept +0.66)"
    assert rows["Test ECE before → after"] == "0.131 → 0.053"
    older = dict(summary_rows(BundleReport(Path("."), model_card(calibration={"method": "temperature", "temperature": 1.4}),
                                           {})))
    assert older["Calibration"] == "temperature 1.40"


def test_a_dropped_patient_lesion_folder_files_its_cases_under_that_patient(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    lesion = tmp_path / "export" / "P7" / "mole on arm"
    lesion.mkdir(parents=True)
    skin_image(lesion / "2026-visit.png", 0.5)
    skin_image(tmp_path / "export" / "loose.png", 0.4)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [tmp_path / "export"])
    by_name = {r.file_name: r for r in window.db.list()}
    assert window.db.identity_of(by_name["2026-visit.png"].id)["patient_id"] == "P7"
    assert window.db.identity_of(by_name["loose.png"].id) is None


def test_the_lesion_view_shows_two_visits_side_by_side_the_risk_chart_and_the_change(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    visits = [("2026-01-10", 0.45), ("2026-05-10", 0.50), ("2026-09-10", 0.70)]  # the last crosses the line 0.6
    files = [skin_image(tmp_path / f"visit{i}.png", d) for i, (_date, d) in enumerate(visits)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, files)
    for f, (date, _d) in zip(files, visits):
        case = next(r for r in window.db.list() if r.file_name == f.name)
        window.db.assign(case.id, Identity("P1", "left scapula #2", "back", date))
    window.reload_worklist()
    window.worklist.select_case(next(r.id for r in window.db.list() if r.file_name == "visit2.png"))
    view = window.cases.show_lesion_view()
    qtbot.addWidget(view)
    assert [v["date"] for v in view.visits] == ["2026-01-10", "2026-05-10", "2026-09-10"]
    assert view.visible_visits() == [1, 2]  # the last two
    qtbot.waitUntil(lambda: all(v.has_image() for v in view.viewers), timeout=10000)  # read off the GUI thread
    assert view.marks == ["", "", "crossed the flag line"] and "crossed the flag line" in view.captions[1].text()
    assert view.figure.axes and view.figure.axes[0].lines  # the risk over time, with the flag line
    fitted = view.viewers[0].zoom_factor()
    view.viewers[0].zoom(2.0)
    assert view.viewers[0].zoom_factor() == pytest.approx(2 * fitted)  # the zoom holds: not undone by the link
    assert view.viewers[1].zoom_factor() == pytest.approx(2 * fitted)  # and the other side follows
    view.resize(view.width() - 40, view.height())  # a resize refits only a viewer still in 'fit'
    qtbot.waitUntil(lambda: view.viewers[0].zoom_factor() == pytest.approx(2 * fitted), timeout=2000)
    assert not view.viewers[0]._fit and not view.viewers[1]._fit
    view.viewers[1].zoom(0.8)
    assert view.viewers[0].zoom_factor() == pytest.approx(1.6 * fitted)  # linked both ways
    view.set_rise(4)  # a smaller rise counts now: 0.45 -> 0.50 is 5 points
    assert view.marks == ["", "risk rose by 5 points", "crossed the flag line"]
    window.worklist_panel.search_box.setText("p1")
    assert len(window.worklist.visible_case_ids()) == 3  # search by patient ID
    window.db.assign(window.worklist.visible_case_ids()[0], Identity("P1", "left scapula #2", name="Jane Doe"))
    window.reload_worklist()
    window.worklist_panel.search_box.setText("jane")
    assert len(window.worklist.visible_case_ids()) == 3  # and by the name a DICOM header gave


def test_the_follow_up_report_and_patient_summary_list_the_visits(qtbot, tmp_path):
    from pypdf import PdfReader

    from melanoma_desktop.core.followup_report import write_lesion_pdf, write_patient_summary_pdf
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    files = [skin_image(tmp_path / f"visit{i}.png", d) for i, d in enumerate((0.45, 0.7))]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, files)
    for f, date in zip(files, ("2026-02-01", "2026-08-01")):
        window.db.assign(next(r.id for r in window.db.list() if r.file_name == f.name), Identity("P2", "nape", "", date))
    window.db.update_review(next(r.id for r in window.db.list() if r.file_name == "visit1.png"), note="grew 2 mm")
    write_lesion_pdf(tmp_path / "lesion.pdf", window.db, "P2", "nape")
    text = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(tmp_path / "lesion.pdf").pages)
    assert "Lesion follow-up — ID P2" in text and "Lesion nape; 2 visits" in text
    assert text.index("2026-02-01") < text.index("2026-08-01") and "Reviewed by:" in text and "Signature:" in text
    assert "crossed the flag line" in text and "grew 2 mm" in text and "not a medical device" in text
    write_patient_summary_pdf(tmp_path / "summary.pdf", window.db, "P2")
    summary = " ".join(PdfReader(tmp_path / "summary.pdf").pages[0].extract_text().split())
    assert "Patient summary — ID P2" in summary and "nape" in summary and "2026-08-01" in summary
    window.worklist.select_case(next(r.id for r in window.db.list() if r.file_name == "visit1.png"))
    view = window.cases.show_lesion_view()
    qtbot.addWidget(view)
    view.mark_excised("compound naevus")
    assert window.db.history("P2")["lesions"][0]["outcome"] == "compound naevus"


def test_erasing_a_patient_from_the_window_leaves_the_others(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    files = [skin_image(tmp_path / f"{name}.png", 0.5) for name in ("theirs", "other")]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, files)
    for f, patient in zip(files, ("P8", "P9")):
        window.db.assign(next(r.id for r in window.db.list() if r.file_name == f.name), Identity(patient, "x"))
    with qtbot.waitSignal(window.cases.sig_patient_erased, timeout=10000) as erased:
        window.cases.erase_patient("P8")
    assert erased.args == [1]
    assert [r.file_name for r in window.worklist_model.records] == ["other.png"] and window.db.history("P8") is None


def test_a_case_is_assigned_to_a_patients_lesion_from_the_recent_ones(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    files = [skin_image(tmp_path / f"{n}.png", 0.5) for n in ("first", "second")]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, files)
    first = next(r.id for r in window.db.list() if r.file_name == "first.png")
    window.db.assign(first, Identity("P1", "left scapula #2", "back", "2026-01-01"))
    window.worklist.select_case(next(r.id for r in window.db.list() if r.file_name == "second.png"))
    dialog = window.cases.show_assign_dialog()
    qtbot.addWidget(dialog)
    assert [dialog.patient.itemText(i) for i in range(dialog.patient.count())] == ["P1"]
    dialog.patient.setEditText("")
    assert not dialog.apply() and "patient ID is needed" in dialog.error.text()
    dialog.patient.setCurrentText("P1")
    assert dialog.lesion.itemText(0) == "left scapula #2"
    assert dialog.body_site.currentText() == "back"  # the known lesion's site, filled in
    from PySide6.QtTest import QTest

    dialog.taken.edit.setFocus()
    QTest.keyClicks(dialog.taken.edit, "2999-06-01")
    assert not dialog.apply() and "in the future" in dialog.error.text()
    dialog.taken.edit.clear()
    QTest.keyClicks(dialog.taken.edit, "2025-06-10")  # typed as a clinician types it: kept as typed
    assert dialog.apply()
    visits = window.db.history("P1")["lesions"][0]["visits"]
    assert [v["date"] for v in visits] == ["2025-06-10", "2026-01-01"]


def test_a_patient_is_created_and_edited_in_the_window_and_a_lesion_has_a_side(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "new.png", 0.5)])
    case_id = window.db.list()[0].id
    window.worklist.select_case(case_id)
    dialog = window.cases.show_assign_dialog()
    qtbot.addWidget(dialog)
    dialog.patient.setCurrentText("P7")
    dialog.details.name.setText("Jane Roe")
    dialog.details.birth_date.set_text("1961-02-30")
    assert not dialog.apply() and "not a calendar date" in dialog.error.text()
    dialog.details.birth_date.set_text("1961-02-28")
    dialog.details.sex.setCurrentText("female")
    dialog.lesion.setCurrentText("mole on shoulder")
    dialog.side.setCurrentText("left")
    dialog.body_site.setCurrentText("shoulder")
    assert dialog.apply()
    assert window.db.patient_details("P7") == {"patient_id": "P7", "name": "Jane Roe", "birth_date": "1961-02-28",
                                               "sex": "female"}
    assert window.db.history("P7")["lesions"][0]["body_site"] == "left shoulder"
    details = window.cases.show_patient_dialog()  # the selected case's patient
    qtbot.addWidget(details)
    assert details.patient.currentText() == "P7" and details.fields.name.text() == "Jane Roe"
    details.fields.name.setText("Jane Roe-Smith")
    details.fields.sex.setCurrentIndex(0)  # "—": not recorded
    assert details.apply()
    assert window.db.patient_details("P7")["name"] == "Jane Roe-Smith" and window.db.patient_details("P7")["sex"] == ""
    audit = [(a, d) for _at, a, d in window.db.audit_log()]
    assert ("patient created", "patient P7") in audit and ("patient details edited", "patient P7: name, sex") in audit
    assert not any("Jane" in d for _a, d in audit)  # the audit names the ID and the fields, never their values


def test_images_opened_for_a_patient_are_offered_the_assign_step_after_the_batch(qtbot, tmp_path):
    from melanoma_desktop.ui.assign_dialog import AssignDialog

    window = make_window(qtbot, tmp_path)
    window.cases._assign_after_batch = True  # what File > Open images of one patient's lesion sets
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / f"v{i}.png", 0.5) for i in range(2)])
    dialog = next(d for d in window.findChildren(AssignDialog) if d.isVisible())
    assert len(dialog.case_ids) == 2
    dialog.patient.setCurrentText("P12")
    dialog.lesion.setCurrentText("right forearm")
    assert dialog.apply() and len(window.db.history("P12")["lesions"][0]["visits"]) == 2


def test_the_worklist_groups_cases_by_patient_and_lesion_in_visit_order(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    files = [skin_image(tmp_path / f"{n}.png", d) for n, d in (("a_late", 0.3), ("b_loose", 0.7), ("a_early", 0.6))]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, files)
    by = {r.file_name: r.id for r in window.db.list()}
    window.db.assign(by["a_late.png"], Identity("P1", "nape", taken="2026-09-01"))
    window.db.assign(by["a_early.png"], Identity("P1", "nape", taken="2026-02-01"))
    window.reload_worklist()
    window.worklist_panel.group_box.setChecked(True)
    names = {v: k for k, v in by.items()}
    assert [names[i] for i in window.worklist.visible_case_ids()] == ["a_early.png", "a_late.png", "b_loose.png"]
    window.worklist_panel.group_box.setChecked(False)
    assert names[window.worklist.visible_case_ids()[0]] == "b_loose.png"  # back to the highest risk first


def test_the_selection_stays_where_the_clinician_put_it_while_a_batch_adds_rows(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path, FakeClassifier(delay_s=0.05))
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / f"first{i}.png", 0.3 + 0.1 * i) for i in range(3)])
    chosen = next(r.id for r in window.db.list() if r.file_name == "first0.png")  # the lowest risk: not the top
    window.worklist.select_case(chosen)
    seen = []
    window.sig_case_saved.connect(lambda case_id: seen.append(window.worklist.current_case_id()))
    with qtbot.waitSignal(window.sig_batch_finished, timeout=20000):
        drop(window, [skin_image(tmp_path / f"more{i}.png", 0.7 - 0.02 * i) for i in range(12)])
    assert seen and set(seen) == {chosen}  # rows were added above it; the selection never moved
    assert window.worklist.current_case_id() == chosen  # nor at the end of the batch
    assert window.case_view.record.id == chosen


def test_the_worklist_shows_patient_lesion_and_visit_and_their_columns_can_be_hidden(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "filed.png", 0.6), skin_image(tmp_path / "loose.png", 0.4)])
    filed = next(r.id for r in window.db.list() if r.file_name == "filed.png")
    window.db.assign(filed, Identity("P4", "nape", "midline neck", "2026-03-02", name="Ann Lee"))
    window.db.set_confirmed(filed, "melanoma", "histopathology")
    window.reload_worklist()
    assert _cell(window, 0, WorklistModel.PATIENT) == "P4 · Ann Lee"
    assert _cell(window, 0, WorklistModel.LESION) == "nape (midline neck)"
    assert _cell(window, 0, WorklistModel.VISIT) == "2026-03-02"
    assert _cell(window, 0, WorklistModel.REVIEW) == "Dx melanoma"
    assert _cell(window, 1, WorklistModel.PATIENT) == "" and _cell(window, 1, WorklistModel.VISIT) == ""
    view = window.worklist
    assert view.hidden_columns() == ["Lesion", "Added"]  # the default for a 1280-pixel window
    view.set_column_shown(WorklistModel.LESION, True)
    view.set_column_shown(WorklistModel.PATIENT, False)
    view.set_column_shown(WorklistModel.RISK, False)  # the risk is never hidden
    assert view.hidden_columns() == ["Patient", "Added"] and not view.isColumnHidden(WorklistModel.RISK)
    window.close()
    again = make_window(qtbot, tmp_path)
    assert again.worklist.hidden_columns() == ["Patient", "Added"]  # kept by heading in the settings


def test_ctrl_e_exports_also_from_the_search_box_and_no_empty_box_without_a_case(qtbot, tmp_path, monkeypatch):
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QFileDialog

    window = make_window(qtbot, tmp_path)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a) or ("", ""))
    window.activateWindow()
    search = window.worklist_panel.search_box
    search.setFocus()
    qtbot.waitUntil(search.hasFocus, timeout=5000)
    QTest.keyClick(search, Qt.Key_E, Qt.ControlModifier)
    assert len(asked) == 1  # the export asked where to save: the search box did not swallow the key
    assert not window.case_view.risk_label.isVisible() and window.case_view.risk_label.styleSheet() == ""


@pytest.mark.skipif(__import__("shutil").which("xvfb-run") is None,
                    reason="needs xvfb-run: only X11's key bindings give a line edit Ctrl+E (offscreen has none)")
def test_the_search_box_leaves_ctrl_e_to_the_window_under_x11(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "claim.py"
    script.write_text(
        "from PySide6.QtCore import QEvent, Qt\nfrom PySide6.QtGui import QKeyEvent\n"
        "from PySide6.QtWidgets import QApplication, QLineEdit\napp = QApplication([])\n"
        "from melanoma_desktop.ui.worklist_panel import SearchBox\n"
        "for cls in (QLineEdit, SearchBox):\n"
        "    box = cls()\n    event = QKeyEvent(QEvent.ShortcutOverride, Qt.Key_E, Qt.ControlModifier)\n"
        "    event.setAccepted(False)\n    app.sendEvent(box, event)\n    print(cls.__name__, event.isAccepted())\n")
    out = subprocess.run(["xvfb-run", "-a", sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env={**__import__("os").environ, "QT_QPA_PLATFORM": "xcb"})
    assert "QLineEdit True" in out.stdout, out.stdout + out.stderr  # X11: a plain line edit claims Ctrl+E
    assert "SearchBox False" in out.stdout  # the worklist's search box leaves it to File > Export


def test_heatmaps_keep_the_images_shape_and_one_lies_over_the_image_where_it_zooms(qtbot, tmp_path):
    from PIL import Image

    wide = tmp_path / "wide.png"
    Image.open(skin_image(tmp_path / "sq.png", 0.7, size=300)).crop((0, 0, 300, 150)).save(wide)
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_heatmaps_shown, timeout=10000):
        drop(window, [wide])
    view = window.case_view
    pixmap = view.panels["vgg16"].heatmap_label.pixmap()
    assert abs(pixmap.width() / pixmap.height() - 2.0) < 0.05  # 2:1 as taken, not squeezed square
    assert not view.viewer.overlay_shown() and view.overlay_box.currentText() == "no heatmap"
    qtbot.mouseClick(view.panels["vgg16"].heatmap_label, Qt.LeftButton)  # a click lays it over the image
    assert view.overlay_box.currentData() == "vgg16" and view.viewer.overlay_shown()
    assert [view.overlay_box.itemText(i) for i in range(view.overlay_box.count())] == [
        "no heatmap", "Fake cnn", "Fake vgg16", "Fake mobilenetv2"]
    view.opacity_slider.setValue(30)
    assert abs(view.viewer._overlay.opacity() - 0.3) < 1e-6
    overlay_rect = view.viewer._overlay.mapRectToScene(view.viewer._overlay.boundingRect())
    assert overlay_rect == view.viewer.sceneRect()  # stretched over the whole picture
    view.viewer.zoom(2.0)
    assert view.viewer.overlay_shown()  # it zooms with the picture
    view.heatmap_toggle.setChecked(False)
    assert not view.viewer.overlay_shown()


def test_a_case_is_exported_for_the_patients_record(qtbot, tmp_path):
    from melanoma_desktop.core.patients import Identity
    from melanoma_desktop.core.record_export import read_dicom_pdf

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "a.png", 0.6)])
    case_id = window.db.list()[0].id
    window.db.assign(case_id, Identity("P9", "nape", taken="2026-03-03", name="Ann Lee"))
    out = tmp_path / "record"
    out.mkdir()
    with qtbot.waitSignal(window.reports.sig_record_exported, timeout=20000) as exported:
        window.reports.export_to_record(case_id, str(out))
    dicom, fhir = exported.args[0]
    pdf, ids = read_dicom_pdf(dicom)
    assert pdf.startswith(b"%PDF") and ids["patient_id"] == "P9" and ids["name"] == "Ann Lee"
    assert '"resourceType": "DiagnosticReport"' in fhir.read_text()
    assert window.db.audit_trail()[-1]["action"] == "case exported to the record"
