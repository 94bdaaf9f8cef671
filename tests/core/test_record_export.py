"""A case into the patient's record: a DICOM Encapsulated PDF with the patient's identifiers and a FHIR
DiagnosticReport, each validated by reading it back (pydicom; fhir.resources' schema)."""

import base64
import json

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.patients import Identity
from melanoma_desktop.core.record_export import (
    case_pdf_bytes,
    fhir_diagnostic_report,
    read_dicom_pdf,
    write_dicom_pdf,
    write_fhir_json,
)
from melanoma_desktop.core.triage import triage_paths

from fakes import FakeClassifier, skin_image


def _filed_case(tmp_path):
    db = CaseDatabase(tmp_path / "c.db")
    for _ in triage_paths([skin_image(tmp_path / "lesion.png", 0.7)], FakeClassifier(), save=db.save):
        pass
    case_id = db.list()[0].id
    db.assign(case_id, Identity("P-0042", "left scapula #2", "left shoulder", "2026-06-10", "Ann Lee", "1961-02-28",
                                "female"))
    return db, db.get(case_id)


def test_the_report_as_a_dicom_encapsulated_pdf_carries_the_patients_identifiers(tmp_path):
    db, record = _filed_case(tmp_path)
    pdf = case_pdf_bytes(record, FakeClassifier().model_infos(), clinic="Skin clinic")
    assert pdf.startswith(b"%PDF")
    path = write_dicom_pdf(tmp_path / "report.dcm", pdf, record, db.patient_details("P-0042"))
    back, ids = read_dicom_pdf(path)
    assert back == pdf  # byte for byte, padding removed
    assert ids == {"patient_id": "P-0042", "name": "Ann Lee", "birth_date": "19610228", "sex": "F",
                   "date": "20260610", "mime": "application/pdf", "title": ids["title"]}
    assert "research software" in ids["title"]
    db.close()


def test_the_case_as_a_fhir_diagnostic_report_validates_and_says_what_it_is(tmp_path):
    from fhir.resources.diagnosticreport import DiagnosticReport

    db, record = _filed_case(tmp_path)
    pdf = case_pdf_bytes(record, FakeClassifier().model_infos())
    report = fhir_diagnostic_report(record, db.patient_details("P-0042"), pdf, {"cnn": "Custom CNN"})
    path = write_fhir_json(tmp_path / "report.json", report)
    data = json.loads(path.read_text())
    parsed = DiagnosticReport.model_validate(data)  # the FHIR schema: it raises on a malformed resource
    assert parsed.status == "preliminary" and parsed.subject.identifier.value == "P-0042"
    assert str(parsed.effectiveDateTime) == "2026-06-10"
    assert "not a medical device" in parsed.conclusion and "FLAGGED" in parsed.conclusion
    observations = {o["id"]: o for o in data["contained"]}
    assert observations["combined-risk"]["valueQuantity"]["value"] == round(100 * record.risk, 1)
    assert "Custom CNN" in observations["model-cnn"]["code"]["text"]
    assert [r["reference"] for r in data["result"]] == [f"#{k}" for k in observations]
    assert base64.b64decode(data["presentedForm"][0]["data"]) == pdf
    db.close()
