"""The case database: one row per image, recognised by its SHA-256, on SQLite (a file on this computer, the
default) or PostgreSQL (one clinic database for several workstations), through SQLAlchemy Core.

The schema is migrated with Alembic (core/storage/migrate.py). Each thread opens its own ``CaseDatabase``.
Every change to a case raises its row version (an edit from a stale copy is refused: ``StaleCaseError``) and
appends to the change log other workstations follow (``changes_since``). The worklist is asked of SQL, a page at
a time (core/database_worklist.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from melanoma_desktop.core.clinicians import current_clinician
from melanoma_desktop.core.database_clinic import ClinicRecords, PatientRecords
from melanoma_desktop.core.database_worklist import WorklistRecords
from melanoma_desktop.core.dicom import split_frame
from melanoma_desktop.core.private_files import create_private_file
from melanoma_desktop.core.quality import QualityReport
from melanoma_desktop.core.records import (
    CLINICIAN_LABELS,
    MANAGEMENT_DECISIONS,
    MODEL_ORDER,
    WORKLIST_FILTERS,
    ModelPrediction,
    TriageRecord,
)
from melanoma_desktop.core.schema import MIGRATIONS  # noqa: F401 (the SQLite releases' schema, for tests of upgrades)
from melanoma_desktop.core.storage.engine import (
    DatabaseError,
    is_sqlite,
    make_engine,
    resolve_url,
    shown_url,
    statement,
)
from melanoma_desktop.core.storage.image_store import remove_copies
from melanoma_desktop.core.storage.migrate import HEAD, upgrade
from melanoma_desktop.core.storage.timestamps import now_iso

SCHEMA_VERSION = HEAD
FILTERS = tuple(WORKLIST_FILTERS)
__all__ = ["CaseDatabase", "DatabaseError", "StaleCaseError", "SCHEMA_VERSION", "FILTERS", "now_iso"]


CHANGE_LOOKBACK = 2000  # change-log entries read again on each look (changes_since)


class StaleCaseError(DatabaseError):
    """A case changed (on another workstation, or in another window) since the copy being saved was read."""


_CASE_COLUMNS = (
    "c.id, c.sha256, c.path, c.created_at, c.updated_at, c.note, c.clinician_label, c.reviewed, c.quality, "
    "c.ensemble, c.assess_anyway, c.management, c.confirmed_label, c.confirmed_source, c.confirmed_at, "
    "l.patient_id AS patient_id, l.label AS lesion_label, l.body_site AS body_site, c.taken_at, "
    "p.name AS patient_name, c.reviewed_by, c.reviewed_at, c.confirmed_by, c.row_version, c.change_mark, c.lesion_id")
_CASE_FROM = "cases c LEFT JOIN lesions l ON l.id = c.lesion_id LEFT JOIN patients p ON p.id = l.patient_id"


class CaseDatabase(WorklistRecords, ClinicRecords, PatientRecords):
    def __init__(self, target: str | Path):
        """``target``: a SQLite file's path, or a database URL (``postgresql://user@host/db``, core.storage)."""
        self.url = resolve_url(target)
        self.sqlite = is_sqlite(self.url)
        self.path = Path(self.url.database) if self.sqlite else None
        self.where = str(self.path) if self.sqlite else shown_url(self.url)
        try:
            if self.sqlite:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                create_private_file(self.path)  # 0600 before SQLite opens it: its -wal and -shm files take its mode
            self.engine = make_engine(self.url)
            before = upgrade(self.engine, self.where)
            if before is not None and int(before) < HEAD:
                self._after_upgrade(int(before))
        except sa.exc.SQLAlchemyError as exc:
            raise DatabaseError(f"cannot open the case database {self.where}: {getattr(exc, 'orig', exc)}; "
                                + ("move the file away to start a new one" if self.sqlite else
                                   "check the server address, that it is running, and your password file")) from None

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- connections ------------------------------------------------------------------------------
    def _read(self) -> sa.Connection:
        return self.engine.connect()

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """A transaction that writes (SQLite: BEGIN IMMEDIATE); commits on leaving, rolls back on an error."""
        with self.engine.connect().execution_options(immediate=True) as connection, connection.begin():
            yield connection

    def _checkpoint(self) -> None:
        """SQLite: deleted pages leave the write-ahead log too."""
        if self.sqlite:
            with self.engine.connect() as c:
                c.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- schema -----------------------------------------------------------------------------------
    def schema_version(self) -> int:
        with self._read() as c:
            return int(c.execute(text("SELECT version_num FROM alembic_version")).scalar())

    def _after_upgrade(self, before: int) -> None:
        if before < 5:  # the combined risk, flag and assessability were new in 5: derive them from the predictions
            self._refresh_stored_reading()
        self.refresh_worklist_columns()

    def _refresh_stored_reading(self) -> None:
        with self._write() as c:
            records = self._records(c, "", {})
            if records:
                c.execute(text("UPDATE cases SET risk = :risk, flagged = :flagged, assessable = :assessable "
                               "WHERE id = :id"), [{**self._derived(r), "id": r.id} for r in records])

    @staticmethod
    def _derived(record: TriageRecord) -> dict:
        return {"risk": record.risk, "flagged": int(record.flagged), "assessable": int(record.assessable)}

    def integrity_ok(self) -> bool:
        if not self.sqlite:
            return True  # PostgreSQL checks its own pages (data checksums, amcheck): nothing to ask here
        with self._read() as c:
            return c.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"

    # -- reading one case -------------------------------------------------------------------------
    def _records(self, c: sa.Connection, where: str, params: dict, order: str = "") -> list[TriageRecord]:
        """Cases as saved (their own flag line), with predictions, without thumbnails."""
        rows = c.execute(statement(f"SELECT {_CASE_COLUMNS} FROM {_CASE_FROM} {where} {order}", params), params).mappings().all()
        return self._with_predictions(c, rows)

    def _with_predictions(self, c: sa.Connection, rows) -> list[TriageRecord]:
        ids = [r["id"] for r in rows]
        preds: dict[int, list[ModelPrediction]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for p in c.execute(statement("SELECT case_id, model, version, p_malignant, threshold FROM predictions "
                                         "WHERE case_id IN :ids", {"ids": chunk}), {"ids": chunk}).mappings():
                preds.setdefault(p["case_id"], []).append(
                    ModelPrediction(p["model"], p["version"], p["p_malignant"], p["threshold"]))
        rank = {name: i for i, name in enumerate(MODEL_ORDER)}
        return [self._record(r, sorted(preds.get(r["id"], []), key=lambda p: (rank.get(p.name, 99), p.name)))
                for r in rows]

    @staticmethod
    def _record(row, predictions) -> TriageRecord:
        return TriageRecord(
            id=row["id"], sha256=row["sha256"], path=row["path"], created_at=row["created_at"],
            updated_at=row["updated_at"], note=row["note"], clinician_label=row["clinician_label"],
            reviewed=bool(row["reviewed"]), quality=QualityReport.from_json(json.loads(row["quality"] or "{}")),
            ensemble=json.loads(row["ensemble"] or "{}"), assess_anyway=bool(row["assess_anyway"]),
            management=row["management"], confirmed_label=row["confirmed_label"],
            confirmed_source=row["confirmed_source"], confirmed_at=row["confirmed_at"], patient_id=row["patient_id"],
            lesion_label=row["lesion_label"], body_site=row["body_site"], taken_at=row["taken_at"],
            patient_name=row["patient_name"] or "", reviewed_by=row["reviewed_by"], reviewed_at=row["reviewed_at"],
            confirmed_by=row["confirmed_by"], row_version=row["row_version"], change=row["change_mark"],
            predictions=predictions)

    def _one(self, where: str, params: dict) -> TriageRecord | None:
        with self._read() as c:
            found = self._records(c, where, params)
            if not found:
                return None
            png = c.execute(text("SELECT png FROM thumbnails WHERE case_id = :id"), {"id": found[0].id}).scalar()
        found[0].thumbnail_png = png or b""
        return found[0]

    def get(self, case_id: int) -> TriageRecord | None:
        """One case as it was read (its own flag line), with its thumbnail."""
        return self._one("WHERE c.id = :id", {"id": case_id})

    def find_by_sha(self, sha256: str) -> TriageRecord | None:
        return self._one("WHERE c.sha256 = :sha", {"sha": sha256})

    def thumbnails(self, case_ids) -> dict[int, bytes]:
        """The thumbnails of the given cases (the worklist asks only for the rows on screen)."""
        ids = [int(i) for i in case_ids]
        if not ids:
            return {}
        with self._read() as c:
            rows = c.execute(statement("SELECT case_id, png FROM thumbnails WHERE case_id IN :ids", {"ids": ids}),
                             {"ids": ids})
            return {r.case_id: bytes(r.png) for r in rows}

    def count(self) -> int:
        with self._read() as c:
            return int(c.execute(text("SELECT COUNT(*) FROM cases")).scalar())

    # -- writing ----------------------------------------------------------------------------------
    def save(self, record: TriageRecord) -> TriageRecord:
        """Insert or update the case with ``record.sha256``; note, labels, review and patient are kept."""
        consensus = record.consensus
        stamp = now_iso()
        with self._write() as c:
            values = {"path": record.path, "stamp": stamp, "mean": consensus.mean_p_malignant,
                      "n_malignant": consensus.n_malignant, "n_models": consensus.n_models,
                      "quality": json.dumps(record.quality.to_json()), "ensemble": json.dumps(record.ensemble)}
            # a new image is inserted; the same image saved meanwhile elsewhere (another workstation) is updated
            case_id = c.execute(text(
                "INSERT INTO cases (sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, n_models, "
                "quality, ensemble, flagged, risk, assessable) VALUES (:sha, :path, :created, :stamp, :mean, "
                ":n_malignant, :n_models, :quality, :ensemble, :flagged, :risk, :assessable) "
                "ON CONFLICT (sha256) DO NOTHING RETURNING id"),
                {**values, **self._derived(record), "sha": record.sha256,
                 "created": record.created_at or stamp}).scalar()
            action = "added"
            if case_id is None:
                row = c.execute(text(f"SELECT id, assess_anyway FROM cases WHERE sha256 = :sha"
                                     f"{'' if self.sqlite else ' FOR UPDATE'}"), {"sha": record.sha256}).mappings().one()
                case_id = row["id"]
                record.assess_anyway = bool(row["assess_anyway"])  # the clinician's choice outlives a re-read
                values.update(self._derived(record))
                c.execute(text("UPDATE cases SET path = :path, updated_at = :stamp, mean_p_malignant = :mean, "
                               "n_malignant = :n_malignant, n_models = :n_models, quality = :quality, "
                               "ensemble = :ensemble, flagged = :flagged, risk = :risk, assessable = :assessable, "
                               "row_version = row_version + 1 WHERE id = :id"), {**values, "id": case_id})
                c.execute(text("DELETE FROM predictions WHERE case_id = :id"), {"id": case_id})
                action = "read again"
            if record.predictions:
                c.execute(text("INSERT INTO predictions (case_id, model, version, p_malignant, threshold) "
                               "VALUES (:id, :model, :version, :p, :t)"),
                          [{"id": case_id, "model": p.name, "version": p.version, "p": p.p_malignant,
                            "t": p.threshold} for p in record.predictions])
            self._put_thumbnail(c, case_id, record.thumbnail_png)
            self._write_embeddings(c, case_id, record.embeddings)
            self._touch(c, [case_id], action)
        return self.get(case_id)

    def _put_thumbnail(self, c: sa.Connection, case_id: int, png: bytes) -> None:
        if png:
            c.execute(text("INSERT INTO thumbnails (case_id, png) VALUES (:id, :png) ON CONFLICT (case_id) DO UPDATE "
                           "SET png = excluded.png"), {"id": case_id, "png": png})
        else:
            c.execute(text("DELETE FROM thumbnails WHERE case_id = :id"), {"id": case_id})

    def update_review(self, case_id: int, *, note: str | None = None, clinician_label: str | None | bool = False,
                      reviewed: bool | None = None, management: str | None | bool = False,
                      assess_anyway: bool | None = None, expected_version: int | None = None) -> TriageRecord:
        """Change the clinician's note, assessment (None clears it), management decision (None clears it),
        reviewed flag, or choice to assess an image the quality checks set aside, of one case. With
        ``expected_version`` (the row version the clinician's copy was read at), a case changed since is not
        overwritten: ``StaleCaseError``."""
        sets, values = [], {"id": case_id}
        for column, value, allowed in (("management", management, MANAGEMENT_DECISIONS),
                                       ("clinician_label", clinician_label, CLINICIAN_LABELS)):
            if value is False:  # not given: unchanged
                continue
            if value is not None and value not in allowed:
                raise ValueError(f"{column.replace('_', ' ')} must be one of {allowed} or None, got {value!r}")
            sets.append(column)
            values[column] = value
        if assess_anyway:
            current = self.get(case_id)
            if current is not None and not current.quality_passed and not current.can_assess_anyway:
                raise ValueError(f"case #{case_id} cannot be assessed anyway: {current.reason} (retake the image)")
        for column, value in (("assess_anyway", assess_anyway), ("note", note), ("reviewed", reviewed)):
            if value is not None:
                sets.append(column)
                values[column] = value if column == "note" else int(value)
        if not sets:
            return self.get(case_id)
        stamp = now_iso()
        with self._write() as c:
            self._check_version(c, case_id, expected_version)
            assignments = [f"{column} = :{column}" for column in sets]
            if sets != ["assess_anyway"]:
                assignments += ["reviewed_by = :who", "reviewed_at = :stamp"]
            c.execute(text(f"UPDATE cases SET {', '.join(assignments)}, updated_at = :stamp, "
                           "row_version = row_version + 1 WHERE id = :id"),
                      {**values, "stamp": stamp, "who": current_clinician()})
            if assess_anyway is not None:  # the stored reading follows: a risk or none
                record = self._records(c, "WHERE c.id = :id", {"id": case_id})[0]
                c.execute(text("UPDATE cases SET risk = :risk, flagged = :flagged, assessable = :assessable "
                               "WHERE id = :id"), {**self._derived(record), "id": case_id})
            changed = [s.replace("clinician_label", "assessment").replace("_", " ") for s in sets
                       if s != "assess_anyway"]
            if changed:  # which fields, not the words
                self._audit(c, "case reviewed", f"case #{case_id}: {', '.join(changed)}")
            if assess_anyway is not None:
                self._audit(c, "assess anyway" if assess_anyway else "assess anyway withdrawn", f"case #{case_id}")
            self._touch(c, [case_id], "reviewed")
        return self.get(case_id)

    def _check_version(self, c: sa.Connection, case_id: int, expected: int | None) -> None:
        if expected is None:
            return
        lock = "" if self.sqlite else " FOR UPDATE"  # PostgreSQL: a second writer waits, then sees this version
        row = c.execute(text(f"SELECT row_version, reviewed_by, updated_at, file_name FROM cases WHERE id = :id{lock}"),
                        {"id": case_id}).mappings().first()
        if row is None:
            raise StaleCaseError(f"Case #{case_id} was deleted on another workstation; it is no longer in the "
                                 "worklist.")
        if row["row_version"] != expected:
            from melanoma_desktop.core.wording import local_time_text

            who = f" by {row['reviewed_by']}" if row["reviewed_by"] else ""
            raise StaleCaseError(f"Case #{case_id} ({row['file_name']}) was changed{who} at "
                                 f"{local_time_text(row['updated_at'])} after you opened it; your change was not "
                                 "saved. The case has been reloaded: check it and make your change again.")

    def _touch(self, c: sa.Connection, case_ids: list[int], action: str) -> None:
        """After cases changed: their worklist columns and their lesions' change marks follow, and the change log
        (other workstations) says so."""
        self._refresh_cases(c, case_ids)
        stamp = now_iso()
        c.execute(text("INSERT INTO change_log (at, case_id, action) VALUES (:at, :id, :action)"),
                  [{"at": stamp, "id": i, "action": action} for i in case_ids])

    def delete(self, case_id: int, pasted_dir: str | Path | None = None, audited: bool = True,
               image_store: str | Path | None = None) -> bool:
        """Remove a case and every trace of it: its row, predictions, thumbnail, heatmaps, the pasted copy of its
        image when it lies in ``pasted_dir``, and its copy in the clinic ``image_store`` when no other case keeps
        it. An audit entry says a case was deleted (its number and when), nothing about the image. Returns False
        when there was no such case."""
        with self._write() as c:
            row = c.execute(text("SELECT path, lesion_id FROM cases WHERE id = :id"), {"id": case_id}).mappings().first()
            if row is None:
                return False
            c.execute(text("DELETE FROM cases WHERE id = :id"), {"id": case_id})  # its other rows cascade
            if row["lesion_id"] is not None:
                self._refresh_lesions(c, [row["lesion_id"]])
            c.execute(text("INSERT INTO change_log (at, case_id, action) VALUES (:at, :id, 'deleted')"),
                      {"at": now_iso(), "id": case_id})
            if audited:
                self._audit(c, "case deleted", f"case #{case_id}")
        with self._read() as c:  # another frame of the same file, or the same file read again, keeps its copy
            file = str(split_frame(row["path"])[0])
            shared = c.execute(text("SELECT 1 FROM cases WHERE path = :p OR path LIKE :frames LIMIT 1"),
                               {"p": file, "frames": f"{file}#%"}).first() is not None
        remove_copies(row["path"], pasted_dir, None if shared else image_store)
        self._checkpoint()
        return True

    # -- audit, heatmaps --------------------------------------------------------------------------
    def _audit(self, c: sa.Connection, action: str, detail: str) -> None:
        c.execute(text("INSERT INTO audit (at, action, detail, who) VALUES (:at, :action, :detail, :who)"),
                  {"at": now_iso(), "action": action, "detail": detail, "who": current_clinician()})

    def audit(self, action: str, detail: str = "") -> None:
        """One entry: when, what, and who (the clinician using the app: core.clinicians)."""
        with self._write() as c:
            self._audit(c, action, detail)

    def audit_log(self) -> list[tuple[str, str, str]]:
        return [(e["at"], e["action"], e["detail"]) for e in self.audit_trail()]

    def audit_trail(self) -> list[dict]:
        """Every audit entry, oldest first: at, who, action, detail."""
        with self._read() as c:
            return [dict(r) for r in c.execute(text("SELECT at, who, action, detail FROM audit ORDER BY id")).mappings()]

    def save_heatmaps(self, case_id: int, heatmaps: dict[str, tuple[str, bytes]]) -> None:
        """``heatmaps``: model name -> (model version, PNG bytes)."""
        with self._write() as c:
            c.execute(text("INSERT INTO heatmaps (case_id, model, version, png) VALUES (:id, :model, :version, :png) "
                           "ON CONFLICT (case_id, model) DO UPDATE SET version = excluded.version, png = excluded.png"),
                      [{"id": case_id, "model": name, "version": version, "png": png}
                       for name, (version, png) in heatmaps.items()])

    def get_heatmaps(self, case_id: int) -> dict[str, tuple[str, bytes]]:
        with self._read() as c:
            rows = c.execute(text("SELECT model, version, png FROM heatmaps WHERE case_id = :id"), {"id": case_id})
            return {r.model: (r.version, bytes(r.png)) for r in rows}

    # -- other workstations -----------------------------------------------------------------------
    def last_change(self) -> int:
        with self._read() as c:
            return int(c.execute(text("SELECT COALESCE(MAX(id), 0) FROM change_log")).scalar())

    def changes_since(self, change_id: int, seen=None) -> tuple[int, list[tuple[int, str]]]:
        """What changed after entry ``change_id`` of the change log: (the newest entry, [(case id, action)]). With
        ``seen`` (the caller's set), the CHANGE_LOOKBACK entries before it are read again, the unseen returned: on
        PostgreSQL a number is drawn when written, not at commit, so a long transaction's entries appear late."""
        start = change_id if seen is None else max(0, change_id - CHANGE_LOOKBACK)
        with self._read() as c:
            rows = c.execute(text("SELECT id, case_id, action FROM change_log WHERE id > :start ORDER BY id"),
                             {"start": start}).all()
        if seen is not None:
            rows = [r for r in rows if r.id not in seen]
            seen.update(r.id for r in rows)
        newest = max([change_id] + [r.id for r in rows])
        return newest, [(r.case_id, r.action) for r in rows]
