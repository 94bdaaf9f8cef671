"""A case into the patient's record: its report as a DICOM Encapsulated PDF with the patient's identifiers
(ready for a PACS), and the case as a FHIR ``DiagnosticReport`` (JSON) with the combined risk and each model's
answer as contained Observations and the report's PDF attached. Both say what the result is: research
software's output, preliminary, not a diagnosis.
"""

from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timezone
from pathlib import Path

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.report import risk_sentence

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
_DICOM_SEX = {"female": "F", "male": "M", "other": "O"}


def case_pdf_bytes(record, infos, heatmaps=None, clinic: str = "") -> bytes:
    """The case report (core.report) as PDF bytes."""
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from melanoma_desktop.core.report import A4, draw_case_page

    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(draw_case_page(Figure(figsize=A4), record, infos, heatmaps, clinic=clinic))
    return buffer.getvalue()


def write_dicom_pdf(path: str | Path, pdf: bytes, record, patient: dict | None = None,
                    title: str = "Melanoma triage case report (research software)") -> Path:
    """``pdf`` as a DICOM Encapsulated PDF object filed under the case's patient (``patient``: the database's
    patient_details, for name, birth date and sex), dated by the visit. The document title says it is research
    software's report."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    patient = patient or {}
    now = datetime.now(timezone.utc)
    visit = (record.visit_date if record.patient_id else record.created_at[:10]).replace("-", "")
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientID = record.patient_id or ""
    ds.PatientName = (patient.get("name") or "").replace(" ", "^", 1)
    ds.PatientBirthDate = (patient.get("birth_date") or "").replace("-", "")
    ds.PatientSex = _DICOM_SEX.get(patient.get("sex") or "", "")
    ds.StudyDate = ds.ContentDate = visit
    ds.StudyTime = ds.ContentTime = ""
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.SeriesNumber = ds.InstanceNumber = 1
    ds.Modality = "DOC"
    ds.ConversionType = "WSD"  # a workstation made it
    ds.Manufacturer = "Melanoma triage (research software)"
    ds.BurnedInAnnotation = "YES"  # the PDF names the patient
    ds.DocumentTitle = title[:64]
    ds.ConceptNameCodeSequence = []
    ds.BodyPartExamined = (record.body_site or "")[:16].upper()
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    ds.EncapsulatedDocument = pdf + (b"\x00" if len(pdf) % 2 else b"")  # DICOM values have even length
    ds.EncapsulatedDocumentLength = len(pdf)
    path = Path(path)
    ds.save_as(path, enforce_file_format=True)
    return path


def read_dicom_pdf(path: str | Path) -> tuple[bytes, dict]:
    """The PDF and the identifiers back from an Encapsulated PDF object (to check what was written)."""
    import pydicom

    ds = pydicom.dcmread(str(path))
    if ds.SOPClassUID != ENCAPSULATED_PDF_STORAGE:
        raise ValueError(f"{path} is a {ds.SOPClassUID.name}, not an Encapsulated PDF")
    length = int(ds.get("EncapsulatedDocumentLength", len(ds.EncapsulatedDocument)))
    return bytes(ds.EncapsulatedDocument)[:length], {
        "patient_id": str(ds.PatientID), "name": str(ds.PatientName).replace("^", " "),
        "birth_date": str(ds.PatientBirthDate), "sex": str(ds.PatientSex), "date": str(ds.StudyDate),
        "mime": str(ds.MIMETypeOfEncapsulatedDocument), "title": str(ds.DocumentTitle)}


def fhir_diagnostic_report(record, patient: dict | None = None, pdf: bytes | None = None,
                           names: dict[str, str] | None = None) -> dict:
    """The case as a FHIR R4/R5 ``DiagnosticReport`` (a dict to write as JSON): status preliminary (research
    software's output, for a clinician to review), the risk sentence and the notice as its conclusion, the
    combined risk and each model's probability as contained Observations, and the PDF as its presented form."""
    patient = patient or {}
    names = names or {}
    observations = []
    if record.assessable and record.risk is not None:
        observations.append(_observation("combined-risk", "Combined melanoma risk score (research software)",
                                         record.risk, record.consensus.flag_line, record.flagged))
    for p in record.predictions if record.assessable else []:
        observations.append(_observation(f"model-{p.name}", f"{names.get(p.name, p.name)} melanoma probability "
                                                            f"(version {p.version})", p.p_malignant, p.threshold,
                                         p.label == "malignant"))
    conclusion = risk_sentence(record)
    report = {
        "resourceType": "DiagnosticReport",
        "id": f"case-{record.id}",
        "status": "preliminary",
        "category": [{"text": "Dermoscopy triage (research software)"}],
        "code": {"text": "Melanoma triage of a dermoscopic image (research software, not a diagnosis)"},
        "effectiveDateTime": record.visit_date if record.patient_id else record.created_at[:10],
        "issued": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "conclusion": f"{conclusion} {DISCLAIMER}",
        "contained": observations,
        "result": [{"reference": f"#{o['id']}"} for o in observations],
        "identifier": [{"system": "urn:melanoma-triage:sha256", "value": record.sha256}],
    }
    if record.patient_id:
        report["subject"] = {"identifier": {"value": record.patient_id},
                             "display": patient.get("name") or f"patient {record.patient_id}"}
    if pdf is not None:
        report["presentedForm"] = [{"contentType": "application/pdf", "title": "Case report",
                                    "data": base64.b64encode(pdf).decode("ascii")}]
    return report


def write_fhir_json(path: str | Path, report: dict) -> Path:
    path = Path(path)
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path


def _observation(key: str, text: str, value: float, line: float | None, above: bool) -> dict:
    obs = {"resourceType": "Observation", "id": key, "status": "preliminary", "code": {"text": text},
           "valueQuantity": {"value": round(100 * float(value), 1), "unit": "%", "system": "http://unitsofmeasure.org",
                             "code": "%"},
           "interpretation": [{"text": "at or above its flag line" if above else "below its flag line"}]}
    if line is not None:
        obs["referenceRange"] = [{"text": f"flag line {100 * float(line):.0f} %"}]
    return obs
