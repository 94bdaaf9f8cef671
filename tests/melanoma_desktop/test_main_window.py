"""The main window with a fake classifier: drops, panels, disagreement, cancel, history, errors."""

import pytest
from PySide6.QtCore import Qt

from fakes import FakeClassifier, grey_image
from qt_helpers import drop, make_window
from melanoma_desktop import DISCLAIMER
from melanoma_desktop.ui.main_window import MainWindow


def test_drop_files_and_a_folder_fills_the_worklist_by_risk(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    folder = tmp_path / "folder"
    folder.mkdir()
    files = [grey_image(tmp_path / "light.png", 230), grey_image(folder / "dark.png", 20),
             grey_image(folder / "mid.png", 120)]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000) as blocker:
        drop(window, [files[0], folder])
    assert blocker.args == ["finished"]
    names = [r.file_name for r in window.worklist_model.records]
    assert names == ["dark.png", "mid.png", "light.png"]  # most suspicious first
    assert window.disclaimer_label.text().endswith(DISCLAIMER) and window.disclaimer_label.isVisible()


def test_three_panels_and_disagreement_is_highlighted(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    assert list(window.case_view.panels) == ["cnn", "vgg16", "mobilenetv2"]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "mid.png", 110)])  # darkness 0.57: 2 of 3 say malignant
    window.worklist.selectRow(0)
    view = window.case_view
    assert view.panels["cnn"].class_label.text() == "malignant"
    assert view.panels["mobilenetv2"].class_label.text() == "benign"
    assert view.panels["vgg16"].bars["malignant"].value() == pytest.approx(569, abs=3)
    assert "0.70" in view.panels["mobilenetv2"].threshold_label.text()
    assert view.consensus_label.property("disagreement") is True
    assert "disagree" in view.consensus_label.text()
    row_colour = window.worklist_model.data(window.worklist_model.index(0, 0), Qt.BackgroundRole).color()
    assert row_colour.name() == "#fff1c2"
    window.filter_box.setCurrentText("disagreement")
    assert window.worklist_model.rowCount() == 1


def test_the_case_view_leads_with_the_calibrated_ensemble_probability(qtbot, tmp_path):
    classifier = FakeClassifier()
    classifier.ensemble = {"members": {i.name: i.version for i in classifier.model_infos()}, "threshold": 0.5,
                           "calibration": {"method": "logistic", "slope": 1.0, "intercept": -1.0}}
    window = make_window(qtbot, tmp_path, classifier)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "mid.png", 110)])
    window.worklist.selectRow(0)
    record = window.worklist_model.records[0]
    c = record.consensus
    assert c.ensemble_p_malignant < c.mean_p_malignant  # the intercept moved it down
    text = window.case_view.consensus_label.text()
    assert text.startswith("⚠ The models disagree. Ensemble P(malignant) "
                           f"{c.ensemble_p_malignant:.1%}, {'above' if c.ensemble_label == 'malignant' else 'below'}")
    assert f"the models' mean, {c.mean_p_malignant:.1%}" in text and "2 of 3 models above their own threshold" in text
    # the worklist shows the same number next to the image, before the models' own columns
    model = window.worklist_model
    assert model.headers()[:3] == ["Image", "P(mal) ensemble", "Consensus"]
    above = " ▲" if c.ensemble_label == "malignant" else ""
    assert model.data(model.index(0, 1)) == f"{c.ensemble_p_malignant:.2f}{above}"
    assert model.data(model.index(0, 2)) == "models disagree (2/3)"
    assert "calibrated on validation data" in model.headerData(1, Qt.Horizontal, Qt.ToolTipRole)


def test_the_worklist_says_mean_where_no_ensemble_rule_covers_the_models(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)  # the fake classifier has no ensemble rule
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "mid.png", 110)])
    model, record = window.worklist_model, window.worklist_model.records[0]
    assert model.data(model.index(0, 1)) == f"mean {record.consensus.mean_p_malignant:.2f}"
    headers = model.headers()
    assert headers[3:6] == ["P(mal) cnn", "P(mal) vgg16", "P(mal) mobilenetv2"]
    cells = {h: model.data(model.index(0, i)) for i, h in enumerate(headers)}
    assert cells["P(mal) cnn"].endswith("▲") and not cells["P(mal) mobilenetv2"].endswith("▲")
    assert cells["Quality"] == record.quality_label.replace("low confidence", "⚠ low confidence") and \
        cells["Reviewed"] == "" and cells["Added"] == record.created_at.replace("T", " ")[5:16]


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


def test_restart_shows_saved_history(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "a.png", 50), grey_image(tmp_path / "b.png", 200)])
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


def test_keyboard_review_and_clinician_label(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "a.png", 60), grey_image(tmp_path / "b.png", 90)])
    window.worklist.setFocus()
    window.worklist.selectRow(0)
    qtbot.keyClick(window.worklist, Qt.Key_Down)
    assert window.worklist.current_case_id() == window.worklist_model.records[1].id
    qtbot.keyClick(window.worklist, Qt.Key_R)
    assert window.db.get(window.worklist_model.records[1].id).reviewed
    window.case_view.label_box.setCurrentIndex(2)
    window.case_view.label_box.activated.emit(2)
    assert window.db.get(window.worklist_model.records[1].id).clinician_label == "malignant"
    window.filter_box.setCurrentText("unreviewed")
    assert [r.file_name for r in window.worklist_model.records] == ["a.png"]


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
    assert "--backbones" in window.case_view.panels["vgg16"].threshold_label.text()
    assert window.case_view.panels["vgg16"].class_label.text() == "unavailable"
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "a.png", 60)])
    assert len(window.db.list()[0].predictions) == 2


def test_about_box_lists_models_and_disclaimer(qtbot, tmp_path):
    from melanoma_desktop.ui.dialogs import about_html

    window = make_window(qtbot, tmp_path)
    text = about_html(window.model_infos())
    assert DISCLAIMER in text and "cnn-fake-1" in text and "80.0%" in text


def test_heatmaps_are_computed_off_thread_cached_and_toggled(qtbot, tmp_path):
    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "a.png", 60, size=224)])
    with qtbot.waitSignal(window.sig_heatmaps_shown, timeout=10000):
        window.worklist.selectRow(0)
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


def test_about_box_and_metrics_panel_name_extra_training_data():
    from pathlib import Path

    from melanoma_desktop.core.records import ModelInfo
    from melanoma_desktop.ui.dialogs import about_html
    from melanoma_desktop.ui.metrics_panel import summary_rows
    from trainer.reports import BundleReport

    training = {"data": "/data/ham10000", "protocol": "extended",
                "counts": {"train": {"benign": 7333, "malignant": 835}, "val": {"benign": 1007, "malignant": 81}},
                "extra_data": [{"data": "/data/isic2017", "source_split": "train", "benign": 1626, "malignant": 374}]}
    text = about_html([ModelInfo("vgg16", "VGG16", version="v1", training=training)])
    assert "trained on ham10000 + isic2017 (train) 2000 images, protocol extended" in text
    rows = dict(summary_rows(BundleReport(Path("."), {"training": training}, {})))
    assert rows["Extra training data"] == "/data/isic2017 (train): 1626 benign / 374 malignant, training split only"
    assert rows["Split (benign/malignant)"].startswith("train 7333/835")
    # a card with an entry of another shape under counts (as one early extra-data run wrote) still shows
    odd = dict(training, counts={**training["counts"], "extra": [{"benign": 1}]})
    assert "train 7333/835" in dict(summary_rows(BundleReport(Path("."), {"training": odd}, {})))["Split (benign/malignant)"]
    assert "train 8168" in about_html([ModelInfo("vgg16", "VGG16", version="v1", training=odd)])


def test_metrics_panel_says_how_each_card_is_calibrated():
    from pathlib import Path

    from melanoma_desktop.ui.metrics_panel import summary_rows
    from trainer.reports import BundleReport

    logistic = {"method": "logistic", "slope": 0.73, "intercept": 0.66, "positive_index": 1}
    metrics = {"calibration": dict(logistic, ece_test_before=0.131, ece_test_after=0.053)}
    rows = dict(summary_rows(BundleReport(Path("."), {"calibration": logistic}, metrics)))
    assert rows["Calibration"] == "logistic (slope 0.73, intercept +0.66)"
    assert rows["Test ECE before → after"] == "0.131 → 0.053"
    older = dict(summary_rows(BundleReport(Path("."), {"calibration": {"method": "temperature", "temperature": 1.4}},
                                           {})))
    assert older["Calibration"] == "temperature 1.40"
