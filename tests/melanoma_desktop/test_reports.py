import csv

import numpy as np
from pypdf import PdfReader

from fakes import FakeClassifier, grey_image
from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.report import write_batch_pdf, write_case_pdf
from melanoma_desktop.core.triage import triage_paths


def _text(path):
    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def test_case_report_has_file_name_heatmaps_and_disclaimer(tmp_path):
    fake = FakeClassifier()
    record = next(triage_paths([grey_image(tmp_path / "naevus arm ü.png", 70, 224)], fake)).record
    record.note, record.clinician_label = "excise", "malignant"
    heatmaps = {n: h for n, (_v, h) in fake.heatmaps(np.full((224, 224, 3), 90, np.uint8)).items()}
    write_case_pdf(tmp_path / "case.pdf", record, fake.model_infos(), heatmaps)
    text = _text(tmp_path / "case.pdf")
    assert len(PdfReader(tmp_path / "case.pdf").pages) == 1
    for expected in ("naevus arm ü.png", "not a medical device", "Grad-CAM", "cnn-fake-1", "excise", "low confidence"):
        assert expected in text, expected


def test_case_report_shows_whole_versions_training_data_and_empty_heatmaps(tmp_path):
    from dataclasses import replace

    fake = FakeClassifier()
    record = next(triage_paths([grey_image(tmp_path / "case.png", 70, 224)], fake)).record
    long_version = "mobilenetv2-20261126-053348-78294b75"
    record.predictions = [replace(p, version=long_version) if p.name == "mobilenetv2" else p
                          for p in record.predictions]
    training = {"data": "/data/ham10000", "protocol": "extended", "counts": {"train": {"benign": 5, "malignant": 3}},
                "extra_data": [{"data": "/data/isic2017", "source_split": "train", "benign": 2, "malignant": 1}]}
    infos = [replace(i, training=training) if i.name == "vgg16" else i for i in fake.model_infos()]
    heatmaps = {"cnn": np.zeros((224, 224), np.float32), "vgg16": np.full((224, 224), 0.8, np.float32)}
    write_case_pdf(tmp_path / "case.pdf", record, infos, heatmaps)
    text = " ".join(_text(tmp_path / "case.pdf").split())
    assert long_version in text
    assert "vgg16 trained on ham10000 + isic2017 (train) 3 images, protocol extended (train 8)" in text
    assert "Grad-CAM: cnn no region raises P(malignant)" in text
    assert "Grad-CAM: vgg16 no region" not in text


def test_batch_report_lists_every_case(tmp_path):
    fake = FakeClassifier()
    fake.ensemble = {"members": {i.name: i.version for i in fake.model_infos()}, "threshold": 0.4,
                     "calibration": {"method": "temperature", "temperature": 0.5}}
    files = [grey_image(tmp_path / f"case_{i}.png", 40 * i + 20, 64) for i in range(4)]
    records = [item.record for item in triage_paths(files, fake)]
    write_batch_pdf(tmp_path / "batch.pdf", records, fake.model_infos())
    text = _text(tmp_path / "batch.pdf")
    assert all(f"case_{i}.png" in text for i in range(4))
    c = records[0].consensus  # the ensemble's calibrated probability, starred when above its threshold
    assert "ensemble" in text and f"{c.ensemble_p_malignant:.2f}{'*' if c.ensemble_label == 'malignant' else ''}" in text
    assert "not a medical device" in text and len(PdfReader(tmp_path / "batch.pdf").pages) == 5


def test_window_writes_case_and_batch_reports(qtbot, tmp_path):
    from qt_helpers import drop, make_window

    window = make_window(qtbot, tmp_path)
    with qtbot.waitSignal(window.sig_batch_finished, timeout=10000):
        drop(window, [grey_image(tmp_path / "one.png", 50, 224), grey_image(tmp_path / "two.png", 200, 224)])
    window.worklist.selectRow(0)
    window.write_case_report(window.worklist.current_case_id(), str(tmp_path / "case.pdf"))
    assert "one.png" in _text(tmp_path / "case.pdf")
    assert window.write_batch_report(str(tmp_path / "batch.pdf")) == 2
    rows = list(csv.DictReader(open(tmp_path / "batch.csv")))
    assert [r["file"] for r in rows] == ["one.png", "two.png"] and "quality" in rows[0]
    assert DISCLAIMER.split(".")[0] in _text(tmp_path / "batch.pdf")
