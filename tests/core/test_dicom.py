"""DICOM files written by pydicom here: read as RGB whatever their colour model, or refused with one reason."""

from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import set_pixel_data
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, SecondaryCaptureImageStorage, generate_uid

from melanoma_desktop.core.dicom import read_dicom
from melanoma_desktop.core.triage import expand_paths, original_image, triage_paths
from trainer.errors import ImageDecodeError

from fakes import FakeClassifier


def _dataset(**identity) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    for key, value in {"PatientID": "P-0042", "PatientName": "Doe^Jane", "PatientBirthDate": "19700102",
                       "StudyDate": "20261130", "BodyPartExamined": "BACK", **identity}.items():
        setattr(ds, key, value)
    return ds


def _skin(rows=120, cols=160) -> np.ndarray:
    y, x = np.mgrid[0:rows, 0:cols]
    lesion = ((y - rows / 2) ** 2 + (x - cols / 2) ** 2) < (rows / 4) ** 2
    rgb = np.empty((rows, cols, 3), np.uint8)
    rgb[...] = (205, 160, 140)
    rgb[lesion] = (95, 60, 50)
    rgb[::2, ::2] += 6  # some texture
    return rgb


def _write(ds: Dataset, path):
    ds.save_as(path, enforce_file_format=True)
    return path


def test_an_8_bit_rgb_file_gives_its_pixels_and_the_patients_identity(tmp_path):
    ds = _dataset()
    set_pixel_data(ds, _skin(), "RGB", 8)
    image = read_dicom(_write(ds, tmp_path / "rgb.dcm"))
    assert image.rgb.shape == (120, 160, 3) and image.rgb.dtype == np.uint8
    assert np.array_equal(image.rgb, _skin())
    assert (image.patient_id, image.patient_name, image.birth_date, image.study_date, image.body_part) == (
        "P-0042", "Doe Jane", "1970-01-02", "2026-11-30", "BACK")


def test_16_bit_monochrome_is_scaled_to_8_bits_and_ybr_full_is_converted_to_rgb(tmp_path):
    grey = (np.linspace(0, 4095, 100 * 80).reshape(80, 100)).astype(np.uint16)
    ds = _dataset()
    set_pixel_data(ds, grey, "MONOCHROME2", 12)
    mono = read_dicom(_write(ds, tmp_path / "mono.dcm")).rgb
    assert mono.shape == (80, 100, 3) and mono[0, 0, 0] == 0 and mono[-1, -1, 0] == 255
    assert np.array_equal(mono[..., 0], mono[..., 2])
    from pydicom.pixels import convert_color_space

    ybr = convert_color_space(_skin(), "RGB", "YBR_FULL")
    ds = _dataset()
    set_pixel_data(ds, ybr, "YBR_FULL", 8)
    back = read_dicom(_write(ds, tmp_path / "ybr.dcm")).rgb
    assert np.abs(back.astype(int) - _skin().astype(int)).max() <= 2  # YBR round trip


@pytest.mark.parametrize("what, words", [("no pixels", "holds no image"), ("frames", "holds 40 frames: a series"),
                                         ("compressed", "cannot be decoded here"), ("not dicom", "not a DICOM file"),
                                         ("bad frame count", "number of frames as '1A'")])
def test_files_that_cannot_be_used_are_refused_with_their_reason(tmp_path, what, words):
    path = tmp_path / f"{what.replace(' ', '_')}.dcm"
    ds = _dataset()
    if what == "no pixels":
        _write(ds, path)
    elif what == "frames":
        set_pixel_data(ds, np.stack([_skin(24, 32)] * 40), "RGB", 8)  # more than MAX_FRAMES
        _write(ds, path)
    elif what == "bad frame count":  # as a tool that does not follow DICOM wrote it: pydicom's own badVR.dcm
        path.write_bytes(next(f for f in _pydicom_test_files() if f.name == "badVR.dcm").read_bytes())
    elif what == "compressed":
        set_pixel_data(ds, _skin(), "RGB", 8)
        from pydicom.encaps import encapsulate

        ds.PixelData = encapsulate([b"\x00" * 64])  # JPEG 2000 bytes no decoder here can read
        ds.file_meta.TransferSyntaxUID = JPEG2000Lossless
        ds["PixelData"].VR = "OB"
        _write(ds, path)
    else:
        path.write_bytes(b"\x89PNG not dicom at all")
    with pytest.raises(ImageDecodeError, match=words):
        read_dicom(path)


def test_dicom_files_are_triaged_like_pictures_and_a_bad_one_does_not_stop_the_batch(tmp_path):
    ds = _dataset()
    set_pixel_data(ds, _skin(), "RGB", 8)
    folder = tmp_path / "export"
    folder.mkdir()
    _write(ds, folder / "visit1.dcm")
    _write(_dataset(), folder / "report.dcm")  # no pixel data
    files, problems = expand_paths([folder])
    assert sorted(f.name for f in files) == ["report.dcm", "visit1.dcm"] and problems == []
    items = list(triage_paths(files, FakeClassifier()))
    errors = [i.error for i in items if i.error]
    records = [i.record for i in items if i.record]
    assert len(records) == 1 and records[0].file_name == "visit1.dcm" and records[0].assessable
    assert len(errors) == 1 and "report.dcm" in errors[0][0] and "holds no image" in errors[0][1]
    assert original_image(folder / "visit1.dcm").shape == (120, 160, 3)


def test_a_multi_frame_file_offers_each_frame_as_its_own_case(tmp_path):
    ds = _dataset()
    frames = np.stack([_skin(), 255 - _skin(), _skin()[::-1].copy()])
    set_pixel_data(ds, frames, "RGB", 8)
    path = _write(ds, tmp_path / "series.dcm")
    files, _ = expand_paths([path])
    assert [f.name for f in files] == ["series.dcm#frame=1", "series.dcm#frame=2", "series.dcm#frame=3"]
    assert np.array_equal(read_dicom(path, 2).rgb, 255 - _skin())
    assert np.array_equal(original_image(files[2]), _skin()[::-1])
    records = [i.record for i in triage_paths(files, FakeClassifier())]
    assert len({r.sha256 for r in records}) == 3  # three cases, each its own fingerprint
    assert records[1].path.endswith("series.dcm#frame=2")
    with pytest.raises(ImageDecodeError, match="frame 4 asked for, but the file holds 3"):
        read_dicom(path, 4)


def _pydicom_test_files():
    import os

    import pydicom.data

    root = Path(pydicom.data.__file__).parent / "test_files"
    return sorted(Path(d) / f for d, _, names in os.walk(root) for f in names if f.endswith(".dcm"))


def test_every_dicom_file_that_ships_with_pydicom_is_read_or_refused_in_one_line_and_the_batch_completes():
    """The files other tools wrote (pydicom's own test set): compressed ones decode out of the box (JPEG
    baseline and 12-bit extended, JPEG lossless, JPEG-LS, JPEG 2000, RLE), a multi-frame file gives its frames,
    and every file it cannot use is one reason, never a traceback that stops the batch."""
    files = _pydicom_test_files()
    assert len(files) >= 70, "pydicom's test files are not where they were"
    items, problems = expand_paths(files)
    assert problems == []
    results = list(triage_paths(items, FakeClassifier()))
    assert len(results) == len(items)  # the batch went to the end
    read = {Path(r.record.path.split("#")[0]).name for r in results if r.record}
    for name in ("JPGExtended.dcm", "JPEG-lossy.dcm", "SC_rgb_jpeg_gdcm.dcm", "JPEGLSNearLossless_08.dcm",
                 "SC_rgb_gdcm_KY.dcm", "examples_jpeg2k.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm",
                 "SC_rgb_rle_2frame.dcm", "examples_ybr_color.dcm"):
        assert name in read, name
    assert sum(1 for r in results if r.record and "SC_rgb_rle_2frame.dcm#frame=" in r.record.path) == 2
    errors = {Path(e.error[0]).name: e.error[1] for e in results if e.error}
    assert "number of frames as '1A'" in errors["badVR.dcm"]
    assert all("\n" not in reason and "Traceback" not in reason for reason in errors.values())  # one line each
    assert not any("install" in reason for reason in errors.values())  # nothing a clinician cannot act on
    assert len(read) >= 55
