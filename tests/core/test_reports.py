import csv

import numpy as np
from pypdf import PdfReader

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.report import write_batch_pdf, write_case_pdf
from melanoma_desktop.core.triage import triage_paths
from trainer.bundle.ensemble_rule import EnsembleRule

from fakes import FakeClassifier, document_photo, grey_image, skin_image


def _text(path):
    return " ".join(" ".join(page.extract_text().split()) for page in PdfReader(path).pages)


def test_case_report_leads_with_the_risk_and_keeps_audit_detail_in_the_footer(tmp_path):
    fake = FakeClassifier()
    record = next(triage_paths([skin_image(tmp_path / "naevus arm ü.png", 0.7, 224)], fake)).record
    record.note, record.clinician_label, record.management = "excise", "suspicious", "excise"
    heatmaps = {n: h for n, (_v, h) in fake.heatmaps(np.full((224, 224, 3), 90, np.uint8)).items()}
    write_case_pdf(tmp_path / "case.pdf", record, fake.model_infos(), heatmaps, patient="P-0042")
    text = _text(tmp_path / "case.pdf")
    assert len(PdfReader(tmp_path / "case.pdf").pages) == 1
    for expected in ("naevus arm ü.png", "not a medical device", f"Melanoma risk score {record.risk:.0%} — FLAGGED (the shipped flag line",
                     "cnn-fake-1", "Management: excise", "Clinician's assessment: suspicious", "P-0042",
                     "Clinician:", "For audit", record.sha256):
        assert expected in text, expected
    assert text.index("Melanoma risk") < text.index("Each model") < text.index("For audit")
    assert "mean" not in text.lower().replace("meanwhile", "")


def test_a_case_filed_under_a_patient_names_the_patient_lesion_visit_and_confirmed_diagnosis(tmp_path):
    """(The Patient field was blank for a filed case; the date of examination is the visit's.)"""
    record = next(triage_paths([skin_image(tmp_path / "visit.png", 0.6, 224)], FakeClassifier())).record
    record.patient_id, record.patient_name, record.lesion_label, record.body_site = "P-7", "Jane Doe", "nape", "neck"
    record.taken_at = "2026-11-30"
    record.confirmed_label, record.confirmed_source, record.confirmed_at = "benign", "histopathology", "2026-12-02"
    write_case_pdf(tmp_path / "case.pdf", record, FakeClassifier().model_infos())
    text = _text(tmp_path / "case.pdf")
    for expected in ("Jane Doe, ID P-7, lesion nape (neck)", "2026-11-30", "Confirmed diagnosis: benign (histopathology)"):
        assert expected in text, expected


def test_case_report_prints_the_original_at_its_aspect_ratio(tmp_path):
    from matplotlib.figure import Figure

    from melanoma_desktop.core.report import A4, draw_case_page

    wide = tmp_path / "wide.png"
    from PIL import Image

    Image.fromarray(np.tile(np.array([200, 150, 130], np.uint8), (300, 900, 1))).save(wide)
    fake = FakeClassifier()
    record = next(triage_paths([wide], fake)).record
    fig = draw_case_page(Figure(figsize=A4), record, fake.model_infos())
    image_axes = next(ax for ax in fig.axes if ax.images)
    shown = image_axes.images[0].get_array()
    assert shown.shape[:2] == (300, 900)  # full resolution, not the 224 x 224 model input


def test_an_image_that_cannot_be_assessed_is_reported_without_a_risk(tmp_path):
    fake = FakeClassifier()
    record = next(triage_paths([document_photo(tmp_path / "letter.png")], fake)).record
    write_case_pdf(tmp_path / "case.pdf", record, fake.model_infos())
    text = _text(tmp_path / "case.pdf")
    assert "Cannot assess this image: it does not look like skin" in text and "Melanoma risk" not in text


def test_case_report_shows_whole_versions_training_data_and_empty_heatmaps(tmp_path):
    from dataclasses import replace

    fake = FakeClassifier()
    record = next(triage_paths([skin_image(tmp_path / "case.png", 0.7, 224)], fake)).record
    long_version = "mobilenetv2-20261126-053348-78294b75"
    record.predictions = [replace(p, version=long_version) if p.name == "mobilenetv2" else p
                          for p in record.predictions]
    training = {"data": "ham10000", "protocol": "extended", "counts": {"train": {"benign": 5, "malignant": 3}},
                "extra_data": [{"data": "isic2017", "source_split": "train", "benign": 2, "malignant": 1}]}
    infos = [replace(i, training=training) if i.name == "vgg16" else i for i in fake.model_infos()]
    heatmaps = {"cnn": np.zeros((224, 224), np.float32), "vgg16": np.full((224, 224), 0.8, np.float32)}
    write_case_pdf(tmp_path / "case.pdf", record, infos, heatmaps)
    text = _text(tmp_path / "case.pdf")
    assert long_version in text
    assert "Fake vgg16 learnt from HAM10000 and ISIC 2017 (8 images)" in text
    assert "Fake cnn: no region raises its risk" in text and "Fake vgg16: where its risk came from" in text
    for engineering in ("Grad-CAM", "224 x 224", "protocol", "Models >", "px as printed", "(train"):
        assert engineering not in text  # a clinician's report: no engineering words
    assert "Reviewed by:" in text and "Signature:" in text


def test_batch_report_lists_every_case_highest_risk_first(tmp_path):
    fake = FakeClassifier()
    fake.ensemble = EnsembleRule.from_dict({"members": {i.name: i.version for i in fake.model_infos()}, "threshold": 0.4,
                                            "calibration": {"method": "temperature", "temperature": 0.5}})
    files = [skin_image(tmp_path / f"case_{i}.png", 0.3 + 0.12 * i, 128) for i in range(4)]
    files.append(grey_image(tmp_path / "tiny.png", 90, 12))
    records = [item.record for item in triage_paths(files, fake)]
    progress = []
    write_batch_pdf(tmp_path / "batch.pdf", records, fake.model_infos(), on_progress=progress.append)
    text = _text(tmp_path / "batch.pdf")
    assert text.index("case_3.png") < text.index("case_0.png") < text.index("tiny.png")
    top = max(records, key=lambda r: r.risk or 0)
    assert f"{top.risk:.0%} FLAGGED" in text and "cannot assess" in text
    assert "not a medical device" in text and len(PdfReader(tmp_path / "batch.pdf").pages) == 6
    assert progress[-1] == (6, 6)


def test_window_writes_case_and_batch_reports_off_the_gui_thread(qtbot, tmp_path):
    from qt_helpers import drop, make_window

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "one.png", 0.7, 224), skin_image(tmp_path / "two.png", 0.3, 224)])
    window.worklist.selectRow(0)
    with qtbot.waitSignal(window.reports.sig_case_report_written, timeout=30000):
        window.reports.write_case_report(window.worklist.current_case_id(), str(tmp_path / "case.pdf"))
    assert "one.png" in _text(tmp_path / "case.pdf")
    with qtbot.waitSignal(window.reports.sig_report_finished, timeout=60000) as blocker:
        window.reports.start_batch_report(str(tmp_path / "batch.pdf"))
        assert window.batch_bar.isVisible()  # the report runs as a job: the window is free meanwhile
    assert blocker.args == ["finished"]
    rows = list(csv.DictReader(open(tmp_path / "batch.csv")))
    assert [r["file"] for r in rows] == ["one.png", "two.png"] and "risk" in rows[0]
    assert DISCLAIMER.split(".")[0] in _text(tmp_path / "batch.pdf")


def test_a_batch_report_can_be_cancelled(qtbot, tmp_path):
    from qt_helpers import drop, make_window

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=20000):
        drop(window, [skin_image(tmp_path / f"c{i}.png", 0.3 + i / 100, 128) for i in range(30)])
    with qtbot.waitSignal(window.reports.sig_report_finished, timeout=60000) as blocker:
        job = window.reports.start_batch_report(str(tmp_path / "batch.pdf"))
        job.signals.sig_progress.connect(lambda _p: window.cancel_batch())
    assert blocker.args == ["cancelled"] and not (tmp_path / "batch.pdf").exists()
    assert not window.batch_bar.isVisible()


def test_the_case_page_prints_through_a_qprinter(qtbot, tmp_path):
    from PySide6.QtPrintSupport import QPrinter

    from qt_helpers import drop, make_window

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [skin_image(tmp_path / "one.png", 0.7, 224)])
    printer = QPrinter(QPrinter.HighResolution)
    printer.setOutputFormat(QPrinter.PdfFormat)  # what a print to file gives; the dialog's own choice otherwise
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    with qtbot.waitSignal(window.reports.sig_case_printed, timeout=30000):
        window.reports.print_case(window.worklist.current_case_id(), printer)  # drawn off the GUI thread
    assert (tmp_path / "printed.pdf").stat().st_size > 20000
