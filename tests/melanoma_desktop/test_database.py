import csv
import sqlite3

import pytest

from melanoma_desktop.core.database import SCHEMA_VERSION, CaseDatabase, DatabaseError
from melanoma_desktop.core.records import ModelPrediction, TriageRecord


def _record(sha, p=(0.2, 0.6, 0.9), path="/x/a.jpg"):
    preds = [ModelPrediction(n, f"{n}-v1", v, 0.5) for n, v in zip(("cnn", "vgg16", "mobilenetv2"), p)]
    return TriageRecord(sha256=sha, path=path, predictions=preds, created_at="2026-11-25T10:00:00+00:00",
                        thumbnail_png=b"png")


def test_save_reads_back_and_orders_by_risk(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as db:
        low = db.save(_record("a", (0.1, 0.1, 0.1)))
        high = db.save(_record("b", (0.9, 0.8, 0.7)))
        mixed = db.save(_record("c", (0.2, 0.6, 0.9)))
        assert [r.id for r in db.list()] == [high.id, mixed.id, low.id]
        assert [r.id for r in db.list("disagreement")] == [mixed.id]
        assert {r.id for r in db.list("flagged")} == {high.id, mixed.id}
        got = db.get(mixed.id)
        assert [p.name for p in got.predictions] == ["cnn", "vgg16", "mobilenetv2"]
        assert got.predictions[1].p_malignant == pytest.approx(0.6) and got.thumbnail_png == b"png"


def test_same_hash_updates_and_keeps_review(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as db:
        first = db.save(_record("same"))
        db.update_review(first.id, note="check in 3 months", clinician_label="unsure", reviewed=True)
        again = db.save(_record("same", (0.5, 0.5, 0.5), path="/elsewhere/a.jpg"))
        assert again.id == first.id and db.count() == 1
        assert again.note == "check in 3 months" and again.clinician_label == "unsure" and again.reviewed
        assert again.path == "/elsewhere/a.jpg"
        assert [r.id for r in db.list("unreviewed")] == []
        with pytest.raises(ValueError):
            db.update_review(first.id, clinician_label="maybe")


def test_history_survives_reopen_and_is_versioned(tmp_path):
    path = tmp_path / "c.db"
    with CaseDatabase(path) as db:
        db.save(_record("k"))
    with CaseDatabase(path) as db:
        assert db.count() == 1 and db.schema_version() == SCHEMA_VERSION and db.integrity_ok()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this program"):
        CaseDatabase(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        CaseDatabase(path)


def test_export_csv_respects_filter(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as db:
        db.save(_record("a", (0.1, 0.1, 0.1), "/x/low.jpg"))
        db.save(_record("b", (0.9, 0.9, 0.9), "/x/high.jpg"))
        assert db.export_csv(tmp_path / "all.csv") == 2
        assert db.export_csv(tmp_path / "flagged.csv", "flagged") == 1
    rows = list(csv.DictReader(open(tmp_path / "flagged.csv")))
    assert rows[0]["file"] == "high.jpg" and rows[0]["version_vgg16"] == "vgg16-v1"
    assert float(rows[0]["p_malignant_cnn"]) == pytest.approx(0.9)
    assert rows[0]["ensemble_p_malignant"] == "" and rows[0]["ensemble_label"] == ""  # no ensemble rule


def test_export_csv_has_the_ensembles_calibrated_probability(tmp_path):
    record = _record("a", (0.3, 0.3, 0.3))
    record.ensemble = {"members": record.model_versions(), "threshold": 0.2,
                       "calibration": {"method": "temperature", "temperature": 0.5}}  # sharpens: 0.3 -> 0.155
    with CaseDatabase(tmp_path / "c.db") as db:
        db.save(record)
        db.export_csv(tmp_path / "all.csv")
    row = next(csv.DictReader(open(tmp_path / "all.csv")))
    assert float(row["mean_p_malignant"]) == pytest.approx(0.3)
    assert float(row["ensemble_p_malignant"]) == pytest.approx(0.155, abs=1e-3)
    assert row["ensemble_threshold"] == "0.2000" and row["ensemble_label"] == "benign"


def test_version_3_database_is_migrated_with_flags(tmp_path):
    from melanoma_desktop.core.database import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, n_models) "
                 "VALUES ('s1', '/a.jpg', 't', 't', 0.7, 2, 3), ('s2', '/b.jpg', 't', 't', 0.1, 0, 3)")
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        assert db.schema_version() == SCHEMA_VERSION
        assert [r.sha256 for r in db.list("flagged")] == ["s1"]
        assert db.find_by_sha("s2").ensemble == {}
