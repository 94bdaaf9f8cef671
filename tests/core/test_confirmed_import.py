"""Importing confirmed diagnoses (#30, item 6): previewed before anything is written (new / unchanged /
conflicting / unmatched, the sources the file gives), conflicting ones kept unless replaced, undone as one step."""

import pytest

from melanoma_desktop.core.clinicians import set_current_clinician
from melanoma_desktop.core.confirmed import ConfirmedLabelsError
from melanoma_desktop.core.confirmed_import import plan_import
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.triage import triage_paths

from fakes import FakeClassifier, skin_image


@pytest.fixture
def db(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as database:
        files = [skin_image(tmp_path / f"c{i}.png", 0.4 + 0.05 * i) for i in range(4)]
        for _ in triage_paths(files, FakeClassifier(), save=database.save):
            pass
        yield database


def _ids(db):
    return {r.file_name: r.id for r in db.list()}


def test_the_plan_says_what_would_change_and_writes_nothing(db, tmp_path):
    ids = _ids(db)
    db.set_confirmed(ids["c1.png"], "benign", "histopathology")
    db.set_confirmed(ids["c2.png"], "melanoma", None)
    csv = tmp_path / "labels.csv"
    csv.write_text("image,label,source\nc0.png,melanoma,\nc1.png,melanoma,histopathology\nc2.png,mel,\n"
                   "gone.png,benign,expert consensus\n")
    plan = plan_import(csv, db.list())
    assert [c.file_name for c in plan.new] == ["c0.png"] and plan.new[0].row.source is None  # not made up
    assert [c.file_name for c in plan.conflicting] == ["c1.png"] and plan.conflicting[0].current_label == "benign"
    assert [c.file_name for c in plan.unchanged] == ["c2.png"] and plan.unmatched == ["gone.png"]
    assert plan.sources == {"not given": 2, "histopathology": 1}
    assert "1 new; 1 already recorded; 1 conflicting" in plan.summary()
    assert db.get(ids["c0.png"]).confirmed_label is None  # a plan writes nothing
    (tmp_path / "bad.csv").write_text("image,label\nc0.png,maybe\n")
    with pytest.raises(ConfirmedLabelsError, match="line 2"):
        plan_import(tmp_path / "bad.csv", db.list())


def test_an_import_keeps_conflicts_unless_asked_and_is_undone_as_one_step(db, tmp_path):
    ids = _ids(db)
    db.set_confirmed(ids["c1.png"], "benign", "histopathology")
    set_current_clinician("Dr A. Smith")
    csv = tmp_path / "labels.csv"
    csv.write_text("image,label,source\nc0.png,melanoma,\nc1.png,melanoma,histopathology\nc3.png,benign,"
                   "follow-up without change\n")
    kept = db.apply_import(plan_import(csv, db.list()))
    assert db.get(ids["c1.png"]).confirmed_label == "benign"  # the conflicting one kept
    assert db.get(ids["c0.png"]).confirmed_label == "melanoma" and db.get(ids["c0.png"]).confirmed_source is None
    assert db.get(ids["c0.png"]).confirmed_by == "Dr A. Smith"
    db.undo_import(kept)
    assert db.get(ids["c0.png"]).confirmed_label is None and db.get(ids["c3.png"]).confirmed_label is None
    replaced = db.apply_import(plan_import(csv, db.list()), replace_conflicting=True)
    assert db.get(ids["c1.png"]).confirmed_label == "melanoma"
    assert db.last_import() == {"id": replaced, "at": db.last_import()["at"], "who": "Dr A. Smith",
                                "file": "labels.csv", "cases": 3}
    assert db.undo_import(replaced) == 3
    restored = db.get(ids["c1.png"])
    assert (restored.confirmed_label, restored.confirmed_source) == ("benign", "histopathology")  # as it was
    assert db.last_import() is None
    with pytest.raises(KeyError, match="undone already"):
        db.undo_import(replaced)
    actions = [(e["who"], e["action"]) for e in db.audit_trail()]
    assert actions[-4:] == [("Dr A. Smith", "confirmed diagnoses imported"),
                            ("Dr A. Smith", "import of confirmed diagnoses undone"),
                            ("Dr A. Smith", "confirmed diagnoses imported"),
                            ("Dr A. Smith", "import of confirmed diagnoses undone")]
