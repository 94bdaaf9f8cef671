import csv
import sqlite3

import pytest

from melanoma_desktop.core.database import SCHEMA_VERSION, CaseDatabase, DatabaseError
from melanoma_desktop.core.quality import QualityReport
from melanoma_desktop.core.records import ModelPrediction, TriageRecord

RULE_LINE = 0.55  # the combined rule of these records: the plain mean of the three, flagged from 0.55


def _record(sha, p=(0.2, 0.6, 0.9), path="/x/a.jpg", quality=None):
    preds = [ModelPrediction(n, f"{n}-v1", v, 0.5) for n, v in zip(("cnn", "vgg16", "mobilenetv2"), p)]
    return TriageRecord(sha256=sha, path=path, predictions=preds, created_at="2026-11-25T10:00:00+00:00",
                        thumbnail_png=b"png", quality=quality or QualityReport(),
                        ensemble={"members": {q.name: q.version for q in preds}, "threshold": RULE_LINE})


def test_save_reads_back_and_orders_by_risk(tmp_path, db_target):
    with CaseDatabase(db_target) as db:
        low = db.save(_record("a", (0.1, 0.1, 0.1)))
        high = db.save(_record("b", (0.9, 0.8, 0.7)))
        mixed = db.save(_record("c", (0.2, 0.6, 0.9)))  # mean 0.567: flagged; 0.2 and 0.9 clearly either side
        split = db.save(_record("d", (0.2, 0.6, 0.7)))  # two of three above their line (not clearly): not flagged
        blurred = db.save(_record("e", (0.9, 0.9, 0.9), quality=QualityReport(["blurred"])))
        assert [r.id for r in db.list()] == [high.id, mixed.id, split.id, low.id, blurred.id]
        assert [r.id for r in db.list("disagreement")] == [mixed.id]
        assert {r.id for r in db.list("flagged")} == {high.id, mixed.id}
        assert [r.id for r in db.list("cannot_assess")] == [blurred.id]
        assert blurred.risk is None and not blurred.flagged and blurred.reason == "the image is out of focus"
        assert db.update_review(blurred.id, assess_anyway=True).flagged
        assert db.list("flagged")[0].id == blurred.id  # assessed anyway: 0.9, now at the top
        assert db.save(_record("e", (0.9, 0.9, 0.9), quality=QualityReport(["blurred"]))).assess_anyway
        got = db.get(mixed.id)
        assert [p.name for p in got.predictions] == ["cnn", "vgg16", "mobilenetv2"]
        assert got.predictions[1].p_malignant == pytest.approx(0.6) and got.thumbnail_png == b"png"


def test_same_hash_updates_and_keeps_review(tmp_path, db_target):
    with CaseDatabase(db_target) as db:
        first = db.save(_record("same"))
        db.update_review(first.id, note="check in 3 months", clinician_label="unsure", reviewed=True,
                         management="monitor")
        again = db.save(_record("same", (0.5, 0.5, 0.5), path="/elsewhere/a.jpg"))
        assert again.id == first.id and db.count() == 1
        assert again.note == "check in 3 months" and again.clinician_label == "unsure" and again.reviewed
        assert again.management == "monitor"
        assert again.path == "/elsewhere/a.jpg"
        assert [r.id for r in db.list("unreviewed")] == []
        with pytest.raises(ValueError):
            db.update_review(first.id, clinician_label="maybe")
        with pytest.raises(ValueError):
            db.update_review(first.id, management="wait and see")


def test_history_survives_reopen_and_is_versioned(tmp_path):
    path = tmp_path / "c.db"
    with CaseDatabase(path) as db:
        db.save(_record("k"))
    with CaseDatabase(path) as db:
        assert db.count() == 1 and db.schema_version() == SCHEMA_VERSION and db.integrity_ok()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # an older release refuses it
    conn.execute(f"UPDATE alembic_version SET version_num = '{SCHEMA_VERSION + 1:04d}'")
    conn.commit()
    conn.close()
    with pytest.raises(DatabaseError, match="newer than this program"):
        CaseDatabase(path)


def test_not_a_database(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        CaseDatabase(path)


def test_export_csv_respects_filter_and_carries_the_combined_risk(tmp_path, db_target):
    with CaseDatabase(db_target) as db:
        db.save(_record("a", (0.1, 0.1, 0.1), "/x/low.jpg"))
        db.save(_record("b", (0.9, 0.9, 0.9), "/x/high.jpg"))
        db.save(_record("c", (0.9, 0.9, 0.9), "/x/dark.jpg", quality=QualityReport(["too dark"])))
        assert db.export_csv(tmp_path / "all.csv") == 3
        assert db.export_csv(tmp_path / "flagged.csv", "flagged") == 1
    rows = list(csv.DictReader(open(tmp_path / "flagged.csv")))
    assert rows[0]["file"] == "high.jpg" and rows[0]["version_vgg16"] == "vgg16-v1"
    assert float(rows[0]["p_malignant_cnn"]) == pytest.approx(0.9)
    assert rows[0]["risk"] == "0.9000" and rows[0]["flagged"] == "1" and rows[0]["flag_line"] == "0.5500"
    assert rows[0]["assessable"] == "1" and rows[0]["rule"] == "ensemble" and "mean_p_malignant" not in rows[0]
    dark = next(r for r in csv.DictReader(open(tmp_path / "all.csv")) if r["file"] == "dark.jpg")
    assert dark["assessable"] == "0" and dark["risk"] == "" and dark["reason"] == "the image is too dark"


def test_the_combined_risk_is_the_ensembles_calibrated_probability(tmp_path, db_target):
    record = _record("a", (0.3, 0.3, 0.3))
    record.ensemble = {"members": record.model_versions(), "threshold": 0.2,
                       "calibration": {"method": "temperature", "temperature": 0.5}}  # sharpens: 0.3 -> 0.155
    with CaseDatabase(db_target) as db:
        db.save(record)
        db.export_csv(tmp_path / "all.csv")
    row = next(csv.DictReader(open(tmp_path / "all.csv")))
    assert float(row["risk"]) == pytest.approx(0.155, abs=1e-3)
    assert row["flag_line"] == "0.2000" and row["flagged"] == "0" and row["models_above_own_line"] == "0"


def test_version_3_database_is_migrated_with_flags(tmp_path):
    from melanoma_desktop.core.database import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:3]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, n_models) "
                 "VALUES ('s1', '/a.jpg', 't', 't', 0.7, 2, 3), ('s2', '/b.jpg', 't', 't', 0.1, 0, 3)")
    for case_id, p in ((1, (0.9, 0.8, 0.4)), (2, (0.1, 0.1, 0.1))):
        conn.executemany("INSERT INTO predictions VALUES (?, ?, 'v', ?, 0.5)",
                         [(case_id, name, v) for name, v in zip(("cnn", "vgg16", "mobilenetv2"), p)])
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        assert db.schema_version() == SCHEMA_VERSION
        # no combined rule was stored with these old cases: flagged when most models are above their line
        assert [r.sha256 for r in db.list("flagged")] == ["s1"]
        assert db.find_by_sha("s2").ensemble == {} and db.count() == 2


def test_version_4_database_is_migrated_without_loss(tmp_path):
    """A database as the previous release wrote it: every case kept, its combined risk and flag filled in,
    'malignant' assessments read as 'melanoma'."""
    import json

    from melanoma_desktop.core.database import MIGRATIONS

    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS[:4]:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 4")
    rule = json.dumps({"members": {"cnn": "c1", "vgg16": "v1"}, "threshold": 0.5})
    for sha, p, label in (("s1", (0.9, 0.7), "malignant"), ("s2", (0.6, 0.2), None), ("s3", (0.1, 0.1), "benign")):
        cur = conn.execute("INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, "
                           "n_models, ensemble, flagged, clinician_label, note) "
                           "VALUES (?, ?, 't', 't', ?, ?, 2, ?, ?, ?, 'kept')",
                           (sha, f"/{sha}.jpg", sum(p) / 2, sum(v >= 0.5 for v in p), rule,
                            int(any(v >= 0.5 for v in p)), label))
        conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, 0.5)",
                         [(cur.lastrowid, "cnn", "c1", p[0]), (cur.lastrowid, "vgg16", "v1", p[1])])
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        cases = {r.sha256: r for r in db.list()}
        assert set(cases) == {"s1", "s2", "s3"} and all(r.note == "kept" for r in cases.values())
        assert cases["s1"].clinician_label == "melanoma" and cases["s3"].clinician_label == "benign"
        assert [r.sha256 for r in db.list("flagged")] == ["s1"]  # s2 was flagged by one model; its mean 0.4 is not
        assert cases["s2"].risk == pytest.approx(0.4) and cases["s2"].consensus.n_malignant == 1
