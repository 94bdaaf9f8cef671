"""The case database at scale, on SQLite and on a real PostgreSQL server alike: the worklist asked of SQL a
page at a time (filters, search, sorts, one risk scale, changed since last visit), row versions that refuse a
stale edit, the change log other workstations follow, and an upgrade from the last SQLite-only release."""

import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from melanoma_desktop.core.database import MIGRATIONS, SCHEMA_VERSION, CaseDatabase, StaleCaseError
from melanoma_desktop.core.patients import Identity
from melanoma_desktop.core.storage.engine import DatabaseError, PasswordInUrlError, resolve_url
from melanoma_desktop.core.worklist_query import WorklistQuery

from storage_records import MEMBERS, _record


class _Line:
    """A flag line as the database needs it (an EnsembleRule's record entry)."""

    def __init__(self, threshold):
        self.entry = {"members": dict(MEMBERS), "threshold": threshold}

    def record_entry(self):
        return dict(self.entry)


def _ids(db, **query):
    return [r.id for r in db.worklist_page(WorklistQuery(**query), 0, 1000)]


def test_the_worklist_is_filtered_searched_sorted_and_paged_in_sql(db_target):
    with CaseDatabase(db_target) as db:
        low = db.save(_record("a", (0.1, 0.1, 0.1), "zeta"))
        high = db.save(_record("b", (0.9, 0.8, 0.7), "alpha"))
        split = db.save(_record("c", (0.1, 0.65, 0.95), "Mid_100%"))  # one clearly below, one clearly above: ⚠
        blurred = db.save(_record("d", (0.9, 0.9, 0.9), "blur", ok=False))
        assert _ids(db) == [high.id, split.id, low.id, blurred.id]
        assert db.worklist_count(WorklistQuery()) == 4 and db.worklist_count(WorklistQuery("flagged")) == 2
        assert _ids(db, filter_name="disagreement") == [split.id]
        assert _ids(db, filter_name="cannot_assess") == [blurred.id]
        assert _ids(db, sort="image") == [high.id, blurred.id, split.id, low.id]
        assert _ids(db, sort="risk", descending=True) == [blurred.id, low.id, split.id, high.id]
        assert _ids(db, search="MID_1") == [split.id] and _ids(db, search="100%") == [split.id]
        assert _ids(db, search="_") == [split.id]  # LIKE's wildcards are taken as written
        db.update_review(low.id, note="Recheck in March", reviewed=True)
        assert _ids(db, search="march") == [low.id] and low.id not in _ids(db, filter_name="unreviewed")
        page = db.worklist_page(WorklistQuery(), offset=1, limit=2)
        assert [r.id for r in page] == [split.id, low.id] and all(not r.thumbnail_png for r in page)
        assert db.thumbnails([high.id, low.id]) == {high.id: b"png-b", low.id: b"png-a"}
        assert db.get(high.id).thumbnail_png == b"png-b"


def test_patients_are_searched_grouped_and_followed_visit_to_visit(db_target):
    with CaseDatabase(db_target) as db:
        first = db.save(_record("v1", (0.2, 0.2, 0.2), created="2026-01-10T09:00:00+00:00"))
        second = db.save(_record("v2", (0.7, 0.7, 0.7), created="2026-06-10T09:00:00+00:00"))
        other = db.save(_record("x", (0.95, 0.95, 0.95)))
        db.assign(first.id, Identity("P1", "back", taken="2026-01-10"))
        db.assign(second.id, Identity("P1", "back", taken="2026-06-10", name="Ann Roe"))
        assert _ids(db, filter_name="changed") == [second.id]
        assert db.get(second.id).change == "crossed the flag line"
        assert _ids(db, search="ann roe") == [first.id, second.id][::-1]  # the name reaches both visits
        assert _ids(db, group_by_patient=True) == [first.id, second.id, other.id]  # visits in date order
        assert _ids(db, sort="patient") == [first.id, second.id, other.id]  # patient, lesion, then visit date
        db.delete(first.id)  # no previous visit now: no change to mark
        assert _ids(db, filter_name="changed") == []


def test_one_risk_scale_the_flag_line_in_use_is_kept_in_the_database(db_target):
    with CaseDatabase(db_target) as db:
        middle = db.save(_record("m", (0.5, 0.5, 0.5)))  # read on 0.55: not flagged
        assert _ids(db, filter_name="flagged") == []
        assert db.set_shown_line(_Line(0.45)) == 1  # every case shown on the new line; records keep their own
        assert _ids(db, filter_name="flagged") == [middle.id]
        shown = db.worklist_page(WorklistQuery())[0]
        assert shown.flagged and shown.first_read_with["threshold"] == 0.55 and not db.get(middle.id).flagged
        later = db.save(_record("n", (0.5, 0.5, 0.5)))  # a new case joins the same scale
        assert set(_ids(db, filter_name="flagged")) == {middle.id, later.id}
        assert db.shown_line_current(_Line(0.45)) and not db.shown_line_current(_Line(0.6))
    with CaseDatabase(db_target) as again:  # another workstation sees the same line
        assert again.shown_entry()["threshold"] == 0.45


def test_a_stale_edit_is_refused_and_every_change_is_logged(db_target):
    with CaseDatabase(db_target) as db:
        case = db.save(_record("s"))
        start = db.last_change()
        mine, theirs = db.get(case.id), db.get(case.id)  # two clinicians open the case
        saved = db.update_review(case.id, note="theirs", expected_version=theirs.row_version)
        assert saved.row_version == theirs.row_version + 1
        with pytest.raises(StaleCaseError, match="changed .* after you opened it; your change was not saved"):
            db.update_review(case.id, note="mine", expected_version=mine.row_version)
        assert db.get(case.id).note == "theirs"  # nothing overwritten
        last, changes = db.changes_since(start)
        assert last > start and changes == [(case.id, "reviewed")]
        db.delete(case.id)
        assert db.changes_since(last)[1] == [(case.id, "deleted")]
        with pytest.raises(StaleCaseError, match="deleted"):
            db.update_review(case.id, note="late", expected_version=saved.row_version)


def test_a_password_in_the_url_is_refused_and_never_shown():
    with pytest.raises(PasswordInUrlError, match=r"contains a password; .*~/.pgpass") as caught:
        resolve_url("postgresql://clinic:s3cret@db.example/cases")
    assert "s3cret" not in str(caught.value)
    assert resolve_url("postgresql://clinic@db.example/cases?sslmode=require").drivername == "postgresql+psycopg"
    with pytest.raises(DatabaseError, match="unsupported database 'mysql'"):
        resolve_url("mysql://clinic@db/cases")


def test_a_database_of_the_last_sqlite_only_release_keeps_everything(tmp_path):
    """Schema 9 (user_version, no Alembic) with a patient, a reviewed and confirmed case, predictions, heatmaps,
    embeddings and audit entries: upgraded in place, nothing lost, the worklist columns filled."""
    path = tmp_path / "cases.sqlite3"
    conn = sqlite3.connect(path)
    for step in MIGRATIONS:
        conn.executescript(step)
    conn.execute("PRAGMA user_version = 9")
    conn.execute("INSERT INTO patients (id, name, birth_date, sex, created_at) VALUES ('P7', 'Bo Li', '1970-01-01', "
                 "'female', 't')")
    conn.execute("INSERT INTO lesions (patient_id, label, body_site) VALUES ('P7', 'nape', 'neck')")
    entry = json.dumps({"members": MEMBERS, "threshold": 0.55})
    for i, (p, taken) in enumerate(((0.2, "2025-01-01"), (0.8, "2026-01-01"))):
        conn.execute("INSERT INTO cases (sha256, path, thumbnail, created_at, updated_at, mean_p_malignant, n_malignant, "
                     "n_models, note, clinician_label, reviewed, quality, ensemble, flagged, risk, assessable, "
                     "management, confirmed_label, confirmed_source, confirmed_at, lesion_id, taken_at, reviewed_by, "
                     "confirmed_by) VALUES (?, ?, ?, 't', 't', ?, 0, 3, 'kept note', 'unsure', 1, ?, ?, 0, ?, 1, "
                     "'excise', 'melanoma', 'histopathology', '2026-02-01', 1, ?, 'dr a', 'dr b')",
                     (f"s{i}", f"/img/{i}.jpg", b"thumb%d" % i, p, '{"ok": true, "flags": []}', entry, p, taken))
        conn.executemany("INSERT INTO predictions VALUES (?, ?, ?, ?, 0.5)",
                         [(i + 1, n, v, p) for n, v in MEMBERS.items()])
    conn.execute("INSERT INTO heatmaps VALUES (1, 'cnn', 'cnn-v1', x'89')")
    conn.execute("INSERT INTO embeddings VALUES (1, 'cnn', 'e1', '<f2', x'0000')")
    conn.executemany("INSERT INTO audit (at, action, detail, who) VALUES ('t', ?, '', 'dr a')",
                     [("case reviewed",), ("confirmed diagnosis recorded",)])
    conn.commit()
    conn.close()
    with CaseDatabase(path) as db:
        assert db.schema_version() == SCHEMA_VERSION and db.count() == 2 and db.integrity_ok()
        old, new = db.find_by_sha("s0"), db.find_by_sha("s1")
        assert (new.note, new.clinician_label, new.reviewed, new.management) == ("kept note", "unsure", True, "excise")
        assert (new.confirmed_label, new.reviewed_by, new.confirmed_by) == ("melanoma", "dr a", "dr b")
        assert [p.p_malignant for p in new.predictions] == [0.8] * 3 and new.thumbnail_png == b"thumb1"
        assert (new.patient_id, new.patient_name, new.lesion_label) == ("P7", "Bo Li", "nape")
        assert db.get_heatmaps(old.id) == {"cnn": ("cnn-v1", b"\x89")}
        assert [a["action"] for a in db.audit_trail()] == ["case reviewed", "confirmed diagnosis recorded"]
        assert _ids(db) == [new.id, old.id] and _ids(db, filter_name="changed") == [new.id]
        assert _ids(db, search="bo li") == [new.id, old.id]
    conn = sqlite3.connect(path)  # the release before refuses the upgraded file ("newer than this program")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION > 9
    conn.close()


def test_two_processes_share_one_database_and_a_concurrent_edit_loses_nothing(db_target, tmp_path):
    """Two app processes (workstations) on one database: each saves cases; one's are seen by the other; both
    review one case at once and exactly one save wins, the other is told (no lost review, no silent overwrite)."""
    with CaseDatabase(db_target) as db:
        shared = db.save(_record("shared"))
    script = tmp_path / "workstation.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = {sys.path!r}
        from melanoma_desktop.core.database import CaseDatabase, StaleCaseError
        from storage_records import _record
        name, target, version = sys.argv[1], sys.argv[2], int(sys.argv[3])
        with CaseDatabase(target) as db:
            for i in range(20):
                db.save(_record(f"{{name}}-{{i}}"))
            try:
                db.update_review({shared.id}, note=name, expected_version=version)
                print(json.dumps({{"saved": True}}))
            except StaleCaseError as exc:
                print(json.dumps({{"saved": False, "message": str(exc)}}))
    """))
    env_path = str(tmp_path)
    procs = [subprocess.Popen([sys.executable, str(script), name, str(db_target), str(shared.row_version)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=env_path, env={**__import__("os").environ,
                                                 "PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])})
             for name in ("room1", "room2")]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sorted(r["saved"] for r in results) == [False, True]  # one wins, the other is told
    with CaseDatabase(db_target) as db:
        assert db.count() == 41
        winner = "room1" if results[0]["saved"] else "room2"
        assert db.get(shared.id).note == winner
        assert "was changed" in next(r["message"] for r in results if not r["saved"])


def test_a_password_in_the_query_is_refused_and_a_bad_url_is_not_repeated():
    with pytest.raises(PasswordInUrlError):
        resolve_url("postgresql://clinic@db/cases?password=s3cret")
    with pytest.raises(DatabaseError) as caught:
        resolve_url("postgres ql://clinic:s3cret@db/cases")
    assert "s3cret" not in str(caught.value)


def test_the_same_image_saved_at_once_on_two_workstations_is_one_case(db_target):
    import threading

    with CaseDatabase(db_target) as db:
        db.count()
    failures = []

    def workstation():
        try:
            with CaseDatabase(db_target) as db:
                for i in range(15):
                    db.save(_record(f"same-{i}"))
        except Exception as exc:  # noqa: BLE001 (any failure fails the test below)
            failures.append(exc)

    threads = [threading.Thread(target=workstation) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert failures == []
    with CaseDatabase(db_target) as db:
        assert db.count() == 15


def test_a_change_logged_late_is_still_seen_and_a_stale_diagnosis_refused(db_target):
    from sqlalchemy import text

    with CaseDatabase(db_target) as db:
        case = db.save(_record("late"))
        seen: set[int] = set()
        last, _ = db.changes_since(0, seen)
        with db._write() as c:  # an entry numbered before `last` that commits after it was read (PostgreSQL)
            c.execute(text("INSERT INTO change_log (id, at, case_id, action) VALUES (:id, 't', :case, 'reviewed')"),
                      {"id": last + 10, "case": case.id})
        last, changes = db.changes_since(last, seen)
        with db._write() as c:
            c.execute(text("INSERT INTO change_log (id, at, case_id, action) VALUES (:id, 't', :case, 'late')"),
                      {"id": last - 5, "case": case.id})
        assert db.changes_since(last, seen)[1] == [(case.id, "late")]
        assert db.changes_since(last, seen)[1] == []  # once
        opened = db.get(case.id)
        db.update_review(case.id, note="elsewhere")
        with pytest.raises(StaleCaseError):
            db.set_confirmed(case.id, "benign", expected_version=opened.row_version)
        assert db.get(case.id).confirmed_label is None
