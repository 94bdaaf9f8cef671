"""Patients, lesions and visits: identities from a manifest, a folder layout or a DICOM header; a patient's
history in date order; erasing a patient; a database from before patients is kept whole."""

import json
import sqlite3
import subprocess
import sys

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import set_pixel_data
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from melanoma_desktop.core.database import MIGRATIONS, SCHEMA_VERSION, CaseDatabase
from melanoma_desktop.core.patients import (
    Identity,
    IdentityError,
    identity_from_dicom,
    identity_from_layout,
    read_manifest,
    resolve_identities,
)
from melanoma_desktop.core.triage import expand_paths, triage_paths

from fakes import FakeClassifier, skin_image


def _triage_into(db, files, identities):
    for item in triage_paths(files, FakeClassifier(), save=db.save):
        ident = identities.get(next(f for f in files if str(f.resolve()) == item.record.path))
        if ident is not None:
            db.assign(item.record.id, ident)


def test_a_manifest_files_cases_under_patients_and_lesions_and_history_is_in_date_order(tmp_path):
    images = [skin_image(tmp_path / f"v{i}.png", d) for i, d in enumerate((0.4, 0.7, 0.5))]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,patient_id,lesion_id,body_site,taken\n"
                        "v0.png,P1,left scapula #2,back,2026-03-01\n"
                        "v1.png,P1,left scapula #2,back,2026-11-20\n"
                        "v2.png,P1,right shin,lower leg,2025-12-24\n")
    identities = read_manifest(manifest)
    assert identities[images[0].resolve()] == Identity("P1", "left scapula #2", "back", "2026-03-01")
    with CaseDatabase(tmp_path / "c.db") as db:
        _triage_into(db, images, {f: identities[f.resolve()] for f in images})
        history = db.history("P1")
        scapula = next(lesion for lesion in history["lesions"] if lesion["lesion"] == "left scapula #2")
        assert [v["date"] for v in scapula["visits"]] == ["2026-03-01", "2026-11-20"]
        assert scapula["body_site"] == "back" and scapula["visits"][1]["flagged"]  # 0.7 >= the fake's line
        assert db.history("nobody") is None
    bad = tmp_path / "bad.csv"
    bad.write_text("path,patient_id,taken\nv0.png,P1,01/03/2026\n")
    with pytest.raises(IdentityError, match="line 2: date '01/03/2026' is not YYYY-MM-DD"):
        read_manifest(bad)


def test_a_patient_lesion_folder_layout_and_a_dicom_header_say_who_an_image_belongs_to(tmp_path):
    lesion = tmp_path / "export" / "P7" / "mole on arm"
    lesion.mkdir(parents=True)
    image = skin_image(lesion / "visit.png", 0.5)
    assert identity_from_layout(tmp_path / "export", image) == Identity("P7", "mole on arm")
    assert identity_from_layout(tmp_path / "export", tmp_path / "export" / "loose.png") is None
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.PatientID, ds.PatientName, ds.PatientBirthDate = "P9", "Roe^Ann", "19601231"
    ds.StudyDate, ds.BodyPartExamined = "20261115", "BACK"
    set_pixel_data(ds, np.full((120, 120, 3), (200, 150, 130), np.uint8), "RGB", 8)
    ds.save_as(tmp_path / "scan.dcm", enforce_file_format=True)
    assert identity_from_dicom(tmp_path / "scan.dcm") == Identity("P9", "back", "back", "2026-11-15", "Roe Ann",
                                                                  "1960-12-31")
    files, _ = expand_paths([tmp_path / "export", tmp_path / "scan.dcm"])
    found = resolve_identities(files, roots=[tmp_path / "export"])
    assert {i.patient_id for i in found.values()} == {"P7", "P9"}


def test_erasing_a_patient_leaves_no_row_thumbnail_or_file_of_theirs(tmp_path):
    pasted = tmp_path / "pasted"
    pasted.mkdir()
    theirs = [skin_image(pasted / "pasted-a.png", 0.6), skin_image(tmp_path / "b.png", 0.4)]
    other = skin_image(tmp_path / "other.png", 0.5)
    with CaseDatabase(tmp_path / "c.db") as db:
        _triage_into(db, theirs + [other], {theirs[0]: Identity("P1", "a"), theirs[1]: Identity("P1", "b"),
                                            other: Identity("P2", "x")})
        their_shas = [r.sha256 for r in db.list() if r.file_name in ("pasted-a.png", "b.png")]
        assert db.erase_patient("P1", pasted_dir=pasted) == 2
        assert [r.file_name for r in db.list()] == ["other.png"] and db.history("P1") is None
        assert db.audit_log()[-1][1:] == ("patient erased", "2 case(s)")
        assert not any("P1" in detail for _at, _action, detail in db.audit_log())  # no personal data
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("SELECT COUNT(*) FROM patients WHERE id = 'P1'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM lesions WHERE patient_id = 'P1'").fetchone()[0] == 0
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("c.db*"))
    assert not any(s.encode() in raw for s in their_shas) and b"pasted-a.png" not in raw
    assert not theirs[0].exists() and theirs[1].exists()  # a pasted copy goes; the clinic's own file stays


def test_a_database_from_before_patients_keeps_every_case(tmp_path):
    path = tmp_path / "v6.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:6]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 6")
    conn.executemany("INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, "
                     "n_models, note) VALUES (?, ?, 't', 't', 0.5, 1, 2, 'kept')",
                     [(f"s{i}", f"/{i}.jpg") for i in range(5)])
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        assert db.schema_version() == SCHEMA_VERSION and db.count() == 5
        assert all(r.note == "kept" for r in db.list()) and db.identity_of(db.list()[0].id) is None


def test_the_history_command_lists_a_patients_visits_in_date_order(tmp_path):
    home = tmp_path / "clinic-data"
    home.mkdir()
    images = [skin_image(tmp_path / f"v{i}.png", 0.5) for i in range(2)]
    with CaseDatabase(home / "cases.sqlite3") as db:
        _triage_into(db, images, {images[0]: Identity("P3", "nape", taken="2026-06-01"),
                                  images[1]: Identity("P3", "nape", taken="2026-01-15")})
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "history", "--patient", "P3", "--json",
                           "--data-dir", str(home)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout)
    visits = history["lesions"][0]["visits"]
    assert [v["date"] for v in visits] == ["2026-01-15", "2026-06-01"] and visits[0]["path"].endswith("v1.png")
    assert set(visits[0]) >= {"date", "risk", "flagged", "path"} and "not a medical device" in history["disclaimer"]


def test_a_lesion_can_be_marked_excised_and_a_patients_data_exported_on_request(tmp_path):
    images = [skin_image(tmp_path / f"v{i}.png", 0.5 + 0.1 * i) for i in range(2)]
    with CaseDatabase(tmp_path / "c.db") as db:
        _triage_into(db, images, {images[0]: Identity("P4", "nape", taken="2026-01-01", name="Ann Roe"),
                                  images[1]: Identity("P4", "nape", taken="2026-06-01")})
        db.set_excised("P4", "nape", True, "compound naevus")
        lesion = db.history("P4")["lesions"][0]
        assert lesion["excised"] and lesion["outcome"] == "compound naevus"
        with pytest.raises(KeyError):
            db.set_excised("P4", "elbow")
        exported = json.loads(db.export_patient("P4", tmp_path / "export").read_text())
    assert exported["name"] == "Ann Roe" and len(exported["cases"]) == 2
    assert [c["visit_date"] for c in exported["cases"]] == ["2026-01-01", "2026-06-01"]
    assert all((tmp_path / "export" / c["image_copy"]).is_file() for c in exported["cases"])


def test_changed_since_last_visit_and_the_camera_date(tmp_path):
    from PIL import Image

    lesion = tmp_path / "drop" / "P6" / "nape"
    lesion.mkdir(parents=True)
    images = []
    for i, (darkness, stamp) in enumerate(((0.4, "2026:01:05 10:00:00"), (0.7, "2026:07:05 10:00:00"))):
        path = skin_image(lesion / f"v{i}.jpg.png", darkness)
        img = Image.open(path)
        exif = img.getexif()
        exif[306] = stamp
        img.save(lesion / f"v{i}.jpg", exif=exif)
        path.unlink()
        images.append(lesion / f"v{i}.jpg")
    found = resolve_identities(images, roots=[tmp_path / "drop"])
    assert [found[f].taken for f in images] == ["2026-01-05", "2026-07-05"]
    with CaseDatabase(tmp_path / "c.db") as db:
        _triage_into(db, images, found)
        changed = db.list("changed")
        assert [r.file_name for r in changed] == ["v1.jpg"] and changed[0].change == "crossed the flag line"


def test_triage_takes_its_images_from_the_manifest_when_no_path_is_given(tmp_path):
    from melanoma_desktop.__main__ import build_parser
    from melanoma_desktop.cli import MissingInputError, triage_inputs

    images = [skin_image(tmp_path / f"m{i}.png", 0.5) for i in range(2)]
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,patient_id\nm1.png,P9\nm0.png,P9\n")
    paths, identities = triage_inputs(build_parser().parse_args(["triage", "--json", "--manifest", str(manifest)]))
    assert paths == [str(images[1].resolve()), str(images[0].resolve())]  # the manifest's order
    assert identities[images[0].resolve()].patient_id == "P9"
    given, _ = triage_inputs(build_parser().parse_args(["triage", "--manifest", str(manifest), str(images[0])]))
    assert given == [str(images[0])]  # PATHs given: those, the manifest says who they belong to
    with pytest.raises(MissingInputError, match="--manifest"):
        triage_inputs(build_parser().parse_args(["triage", "--json"]))
    empty = tmp_path / "empty.csv"
    empty.write_text("path,patient_id\n")
    with pytest.raises(MissingInputError, match="lists no images"):
        triage_inputs(build_parser().parse_args(["triage", "--manifest", str(empty)]))


def test_dates_are_real_calendar_dates_and_not_in_the_future():
    from datetime import date

    from melanoma_desktop.core.patients import checked_date

    assert checked_date("2025-06-10", today=date(2026, 12, 4)) == "2025-06-10"
    for bad, words in (("2025-6-10", "not YYYY-MM-DD"), ("2025-02-30", "not a calendar date"),
                       ("2026-12-05", "in the future")):
        with pytest.raises(IdentityError, match=words):
            checked_date(bad, today=date(2026, 12, 4))
    with pytest.raises(IdentityError, match="in the future"):
        Identity("P1", taken="2999-01-01").checked()


def test_a_body_site_has_a_side_and_an_older_site_keeps_its_words():
    from melanoma_desktop.core.patients import body_site_text, split_body_site

    assert body_site_text("left", "shoulder") == "left shoulder" and body_site_text("", "scalp") == "scalp"
    assert split_body_site("right sole (acral)") == ("right", "sole (acral)")
    assert split_body_site("trunk, front") == ("", "trunk, front") and split_body_site("") == ("", "")
    assert body_site_text("left", "") == ""


def test_a_patients_details_are_saved_exactly_and_a_schema_8_database_gains_the_sex_column(tmp_path):
    path = tmp_path / "c.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:8]:
        conn.executescript(step)
    conn.execute("INSERT INTO patients (id, name, birth_date, created_at) VALUES ('P3', 'Old Name', '', 'x')")
    conn.execute("PRAGMA user_version = 8")
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        assert db.schema_version() == SCHEMA_VERSION and db.patient_details("P3") == {"patient_id": "P3", "name": "Old Name",
                                                                     "birth_date": "", "sex": ""}
        assert not db.save_patient(Identity("P3", name="", sex="male"))  # an empty name clears it
        assert db.patient_details("P3")["name"] == "" and db.patient_details("P3")["sex"] == "male"
        with pytest.raises(IdentityError, match="sex 'M'"):
            db.save_patient(Identity("P3", sex="M"))
