"""Who did what (#30, item 6): the clinic's clinicians with optional PINs, the OS user when there is no list,
and every review, confirmed diagnosis and audit entry recorded with the clinician and the time."""

import json
import os
import stat

import pytest

from melanoma_desktop.core.clinicians import (
    Clinician,
    ClinicianError,
    ClinicSettings,
    clinic_name,
    current_clinician,
    load_clinic_settings,
    os_user,
    save_clinic_settings,
    set_current_clinician,
)
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.triage import triage_paths

from fakes import FakeClassifier, skin_image


def test_without_a_list_nobody_is_asked_and_the_os_user_is_recorded(tmp_path):
    settings = load_clinic_settings(tmp_path)
    assert settings == ClinicSettings() and not settings.asks_at_start
    assert current_clinician() == os_user() and os_user()


def test_clinicians_and_pins_are_kept_hashed_and_checked(tmp_path):
    smith = Clinician("Dr A. Smith").with_pin("4821")
    settings = ClinicSettings("Skin clinic").with_clinician(smith).with_clinician(Clinician("Nurse B. Jones"))
    path = save_clinic_settings(tmp_path, settings)
    assert "4821" not in path.read_text() and json.loads(path.read_text())["clinic_name"] == "Skin clinic"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_clinic_settings(tmp_path)
    assert again.asks_at_start and clinic_name(tmp_path) == "Skin clinic"
    assert again.find("Dr A. Smith").pin_matches("4821") and not again.find("Dr A. Smith").pin_matches("1234")
    assert again.find("Nurse B. Jones").pin_matches("")  # no PIN: nothing to give
    for bad in ("12", "12ab"):
        with pytest.raises(ClinicianError, match="4 or more digits"):
            Clinician("X").with_pin(bad)
    with pytest.raises(ClinicianError, match="needs a name"):
        settings.with_clinician(Clinician("  "))
    (tmp_path / "clinic.json").write_text("{not json")
    with pytest.raises(ClinicianError, match="fix or remove"):
        load_clinic_settings(tmp_path)
    assert clinic_name(tmp_path) == ""  # a report still prints


def test_reviews_confirmed_diagnoses_and_audit_entries_carry_who_and_when(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as db:
        for _ in triage_paths([skin_image(tmp_path / "a.png", 0.6)], FakeClassifier(), save=db.save):
            pass
        case_id = db.list()[0].id
        set_current_clinician("Dr A. Smith")
        db.update_review(case_id, clinician_label="suspicious", note="asymmetric", reviewed=True)
        record = db.get(case_id)
        assert record.reviewed_by == "Dr A. Smith" and record.reviewed_at
        set_current_clinician("Nurse B. Jones")
        db.set_confirmed(case_id, "melanoma", "histopathology")
        assert db.get(case_id).confirmed_by == "Nurse B. Jones" and db.get(case_id).reviewed_by == "Dr A. Smith"
        db.delete(case_id)
        trail = db.audit_trail()
    assert [(e["who"], e["action"]) for e in trail] == [("Dr A. Smith", "case reviewed"),
                                                        ("Nurse B. Jones", "confirmed diagnosis recorded"),
                                                        ("Nurse B. Jones", "case deleted")]
    assert trail[0]["detail"] == f"case #{case_id}: assessment, note, reviewed"  # the fields, not the words
    assert all(e["at"] for e in trail)
