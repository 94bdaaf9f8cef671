"""DICOM in: a dermoscopy image exported by a dermatoscope or a PACS (``.dcm``), read with pydicom.

``read_dicom`` gives the pixels as 8-bit RGB, whatever the photometric interpretation (RGB, YBR_FULL and
its variants, MONOCHROME1/2 at any bit depth, PALETTE COLOR), and what the file says about the patient
and the visit (patient ID, name, birth date, study date, body part). A file it cannot use is refused with
one clear :class:`~trainer.errors.ImageDecodeError` saying why and what to do: not DICOM, no pixel data,
several frames, or a compressed transfer syntax this installation has no decoder for.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.errors import ImageDecodeError

DICOM_EXTENSIONS = (".dcm", ".dicom")


def is_dicom_name(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(DICOM_EXTENSIONS)


@dataclass(frozen=True)
class DicomImage:
    rgb: np.ndarray  # (rows, columns, 3) uint8
    patient_id: str = ""
    patient_name: str = ""
    birth_date: str = ""  # YYYY-MM-DD, or ""
    study_date: str = ""  # YYYY-MM-DD, or ""
    body_part: str = ""
    sex: str = ""  # the header's PatientSex: "F", "M", "O" or ""


def _date(value) -> str:
    text = str(value or "").strip()
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) >= 8 and text[:8].isdigit() else ""


def _body_part(ds) -> str:
    if str(ds.get("BodyPartExamined", "") or "").strip():
        return str(ds.BodyPartExamined).strip()
    region = ds.get("AnatomicRegionSequence")
    if region:
        return str(region[0].get("CodeMeaning", "") or "").strip()
    return ""


def _to_uint8(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    a = arr.astype(np.float64)
    top = float((1 << bits) - 1) if bits and bits <= 16 and a.min() >= 0 else max(float(a.max() - a.min()), 1.0)
    if a.min() < 0:
        a = a - a.min()
    return np.clip(np.rint(a / top * 255.0), 0, 255).astype(np.uint8)


def read_dicom(source: str | os.PathLike | bytes) -> DicomImage:
    import pydicom
    from pydicom.errors import InvalidDicomError

    label = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source).open("rb")
        with stream:
            ds = pydicom.dcmread(stream)
    except (InvalidDicomError, EOFError, OSError, ValueError, AttributeError, KeyError) as exc:
        raise ImageDecodeError(label, f"not a DICOM file pydicom can read ({type(exc).__name__}: {str(exc)[:120]})") \
            from None
    if "PixelData" not in ds:
        raise ImageDecodeError(label, "this DICOM file holds no image (no pixel data: a report or a structured "
                                      "document?); export the dermoscopy image itself")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ImageDecodeError(label, f"this DICOM file holds {frames} frames; export the one image to assess")
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        arr = ds.pixel_array  # pydicom converts YBR_FULL (and its JPEG variants) to RGB here
    except (NotImplementedError, RuntimeError, ValueError) as exc:
        if syntax is not None and syntax.is_compressed:
            raise ImageDecodeError(label, f"compressed as {syntax.name}, which this installation cannot decode; "
                                          "export it uncompressed (or install pylibjpeg)") from None
        raise ImageDecodeError(label, f"its pixel data cannot be read ({str(exc)[:160]})") from None
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    bits = int(ds.get("BitsStored", 8) or 8)
    if photometric == "PALETTE COLOR":
        from pydicom.pixels import apply_color_lut

        arr = apply_color_lut(arr, ds)
        bits = 16 if arr.dtype != np.uint8 else 8
    if arr.ndim == 2:  # MONOCHROME1 / MONOCHROME2
        arr = _to_uint8(arr, bits)
        if photometric == "MONOCHROME1":  # white is zero
            arr = 255 - arr
        arr = np.stack([arr] * 3, axis=-1)
    elif arr.ndim == 3 and arr.shape[-1] == 3:
        arr = _to_uint8(arr, bits)
    else:
        raise ImageDecodeError(label, f"unexpected pixel layout {arr.shape} ({photometric}); export it as RGB")
    return DicomImage(np.ascontiguousarray(arr), **_identity(ds))


def _identity(ds) -> dict:
    """What a DICOM header says about the patient and the visit (DicomImage's fields but the pixels)."""
    return {"patient_id": str(ds.get("PatientID", "") or "").strip(),
            "patient_name": str(ds.get("PatientName", "") or "").replace("^", " ").strip(),
            "birth_date": _date(ds.get("PatientBirthDate")),
            "study_date": _date(ds.get("StudyDate") or ds.get("AcquisitionDate") or ds.get("ContentDate")),
            "body_part": _body_part(ds),
            "sex": str(ds.get("PatientSex", "") or "").strip().upper()}


def read_dicom_identity(source: str | os.PathLike) -> dict | None:
    """The header's identity fields without decoding the pixels; None when the file is no DICOM pydicom reads."""
    import pydicom

    try:
        return _identity(pydicom.dcmread(str(source), stop_before_pixels=True))
    except Exception:  # not DICOM, or unreadable: decoding the image reports that, with its reason
        return None
