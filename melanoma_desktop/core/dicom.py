"""DICOM in: a dermoscopy image exported by a dermatoscope or a PACS (``.dcm``), read with pydicom.

``read_dicom`` gives the pixels as 8-bit RGB, whatever the photometric interpretation (RGB, YBR_FULL and
its variants, MONOCHROME1/2 at any bit depth, PALETTE COLOR), and what the file says about the patient
and the visit (patient ID, name, birth date, study date, body part, sex). The compressed transfer syntaxes
cameras and PACS write decode out of the box: JPEG baseline and extended (12-bit too), JPEG lossless,
JPEG-LS, JPEG 2000 and RLE, through pydicom's plugins (pylibjpeg-openjpeg, pyjpegls, pylibjpeg-rle, Pillow)
and, where none of them can (12-bit JPEG, JPEG lossless), imagecodecs (docs/packaging.md names them and their
licences). A file with several frames (up to MAX_FRAMES) is offered frame by frame: ``dicom_frames`` names
them ``FILE#frame=K`` and each is read as its own image. A file it cannot use is refused with one clear
:class:`~trainer.errors.ImageDecodeError` saying why and what to do; nothing in a file's header makes it raise
anything else.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.errors import ImageDecodeError

DICOM_EXTENSIONS = (".dcm", ".dicom")
FRAME_MARK = "#frame="
MAX_FRAMES = 32  # more is a series or a video, not a dermoscopy image


def split_frame(path: str | os.PathLike) -> tuple[Path, int | None]:
    """("x.dcm", 2) for "x.dcm#frame=2" (frames counted from 1); (path, None) for a plain path."""
    text = str(path)
    if FRAME_MARK in text:
        head, _, number = text.rpartition(FRAME_MARK)
        if number.isdigit() and int(number) >= 1:
            return Path(head), int(number)
    return Path(text), None


def is_dicom_name(path: str | os.PathLike) -> bool:
    return str(split_frame(path)[0]).lower().endswith(DICOM_EXTENSIONS)


def dicom_frames(path: str | os.PathLike) -> list[Path]:
    """The items a DICOM file gives: itself, or ``FILE#frame=K`` for each frame of a multi-frame file (up to
    MAX_FRAMES; beyond that, or when the header cannot be read, the file itself, which decoding then refuses
    with its reason)."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n = _frame_count(pydicom.dcmread(str(path), stop_before_pixels=True), str(path))
    except Exception:  # not DICOM, damaged: reading it says why, per file
        return [Path(path)]
    if 1 < n <= MAX_FRAMES:
        return [Path(f"{path}{FRAME_MARK}{k}") for k in range(1, n + 1)]
    return [Path(path)]


def _one_line(exc: BaseException, limit: int) -> str:
    """An exception's message on one line (a decoder's may list every plugin it tried, one per line)."""
    return " ".join(str(exc).split())[:limit]


def _frame_count(ds, label: str) -> int:
    raw = ds.get("NumberOfFrames", 1)
    try:
        return max(int(str(raw if raw not in (None, "") else 1).strip()), 1)
    except ValueError:
        raise ImageDecodeError(label, f"its header gives the number of frames as {str(raw)!r}, which is not a "
                                      "number: the file is damaged or its writer did not follow DICOM; export "
                                      "the image again") from None


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


def read_dicom(source: str | os.PathLike | bytes, frame: int | None = None) -> DicomImage:
    """The image (frame ``frame``, counted from 1, of a multi-frame file) as 8-bit RGB with the header's identity;
    ImageDecodeError with the reason for anything it cannot use."""
    label = "<bytes>" if isinstance(source, (bytes, bytearray)) else str(source)
    try:
        with warnings.catch_warnings():  # a header's oddities are pydicom's warnings: the reasons come below
            warnings.simplefilter("ignore")
            return _read(source, frame, label)
    except ImageDecodeError:
        raise
    except Exception as exc:  # whatever a header holds, one reason for this file and the batch goes on
        raise ImageDecodeError(label, f"this DICOM file cannot be read ({type(exc).__name__}: {_one_line(exc, 140)}); "
                                      "export the image again") from None


def _read(source, frame: int | None, label: str) -> DicomImage:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else Path(source).open("rb")
        with stream:
            ds = pydicom.dcmread(stream)
    except (InvalidDicomError, EOFError, OSError, ValueError, AttributeError, KeyError, TypeError) as exc:
        raise ImageDecodeError(label, f"not a DICOM file pydicom can read ({type(exc).__name__}: {_one_line(exc, 120)})") \
            from None
    if "PixelData" not in ds:
        raise ImageDecodeError(label, "this DICOM file holds no image (no pixel data: a report or a structured "
                                      "document?); export the dermoscopy image itself")
    frames = _frame_count(ds, label)
    if frames > MAX_FRAMES:
        raise ImageDecodeError(label, f"this DICOM file holds {frames} frames: a series or a video, not a "
                                      "dermoscopy image; export the frames to assess as separate images")
    if frame is not None and not 1 <= frame <= frames:
        raise ImageDecodeError(label, f"frame {frame} asked for, but the file holds {frames}")
    if frames > 1 and frame is None:
        frame = 1  # a multi-frame file opened as one item: its first frame (dicom_frames offers every one)
    arr = _pixels(ds, None if frames == 1 else frame - 1, label)
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


# Where pydicom's plugins cannot decode a compressed syntax (12-bit JPEG, JPEG lossless), imagecodecs can.
_IMAGECODECS = {"1.2.840.10008.1.2.4.50": "jpeg8_decode", "1.2.840.10008.1.2.4.51": "jpeg8_decode",
                "1.2.840.10008.1.2.4.57": "ljpeg_decode", "1.2.840.10008.1.2.4.70": "ljpeg_decode",
                "1.2.840.10008.1.2.4.80": "jpegls_decode", "1.2.840.10008.1.2.4.81": "jpegls_decode",
                "1.2.840.10008.1.2.4.90": "jpeg2k_decode", "1.2.840.10008.1.2.4.91": "jpeg2k_decode"}


def _pixels(ds, index: int | None, label: str) -> np.ndarray:
    """One frame's pixels (``index`` from 0; None: the only one), decoded by pydicom, else by imagecodecs."""
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    try:
        from pydicom.pixels import pixel_array

        return pixel_array(ds, index=index)  # pydicom converts YBR_FULL (and its JPEG variants) to RGB here
    except Exception as exc:
        decoder = _IMAGECODECS.get(str(syntax)) if syntax is not None else None
        if decoder is not None:
            try:
                import imagecodecs
                from pydicom.encaps import generate_frames

                frames = generate_frames(ds.PixelData, number_of_frames=_frame_count(ds, label))
                for _ in range(index or 0):
                    next(frames)
                return np.asarray(getattr(imagecodecs, decoder)(next(frames)))
            except Exception:
                pass
        if syntax is not None and syntax.is_compressed:
            raise ImageDecodeError(label, f"compressed as {syntax.name}, which cannot be decoded here "
                                          f"({_one_line(exc, 100)}); export it uncompressed or as JPEG") from None
        raise ImageDecodeError(label, f"its pixel data cannot be read ({_one_line(exc, 160)})") from None


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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _identity(pydicom.dcmread(str(split_frame(source)[0]), stop_before_pixels=True))
    except Exception:  # not DICOM, or unreadable: decoding the image reports that, with its reason
        return None
