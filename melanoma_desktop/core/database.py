"""The local case database (SQLite, WAL): one row per image, recognised by its SHA-256.

The schema is versioned; ``MIGRATIONS[i]`` takes a database from version ``i`` to ``i + 1`` in
one transaction. Each thread opens its own ``CaseDatabase`` on the same file.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from melanoma_desktop.core.records import CLINICIAN_LABELS, ModelPrediction, TriageRecord


class DatabaseError(Exception):
    """The case database cannot be opened or is of a newer version than this program."""


MIGRATIONS = [
    # 0 -> 1
    """
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        thumbnail BLOB,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        mean_p_malignant REAL NOT NULL,
        n_malignant INTEGER NOT NULL,
        n_models INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        clinician_label TEXT,
        reviewed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE predictions (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        p_malignant REAL NOT NULL,
        threshold REAL NOT NULL,
        PRIMARY KEY (case_id, model)
    );
    CREATE INDEX cases_risk ON cases(mean_p_malignant DESC);
    """,
    # 1 -> 2: the quality gate's verdict per case (JSON: ok, flags, measures)
    """
    ALTER TABLE cases ADD COLUMN quality TEXT NOT NULL DEFAULT '{}';
    """,
    # 2 -> 3: Grad-CAM heatmaps cached per case and model version (grey PNG, 0-255)
    """
    CREATE TABLE heatmaps (
        case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        png BLOB NOT NULL,
        PRIMARY KEY (case_id, model)
    );
    """,
    # 3 -> 4: the ensemble rule the case was read with (JSON: members, threshold), and whether the
    # case is flagged (a model or the ensemble above its threshold)
    """
    ALTER TABLE cases ADD COLUMN ensemble TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE cases ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0;
    UPDATE cases SET flagged = (n_malignant > 0);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)
FILTERS = ("all", "flagged", "disagreement", "unreviewed")


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CaseDatabase:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot open the case database {self.path}: {exc}; move the file away to start "
                                "a new one") from None

    def close(self) -> None:
        self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- schema -----------------------------------------------------------------------------
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise DatabaseError(f"{self.path} has schema version {version}, newer than this program "
                                f"({SCHEMA_VERSION}); update the program")
        for target in range(version, SCHEMA_VERSION):
            try:  # one transaction per step: the schema and its version number change together
                self._conn.executescript(
                    f"BEGIN IMMEDIATE; {MIGRATIONS[target]}; PRAGMA user_version = {target + 1}; COMMIT;")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def integrity_ok(self) -> bool:
        return self._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # -- writing ----------------------------------------------------------------------------
    def save(self, record: TriageRecord) -> TriageRecord:
        """Insert or update the case with ``record.sha256``; note, label and review flag are kept."""
        consensus = record.consensus
        stamp = now_iso()
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            row = self._conn.execute("SELECT id, created_at FROM cases WHERE sha256 = ?", (record.sha256,)).fetchone()
            if row is None:
                cur = self._conn.execute(
                    "INSERT INTO cases (sha256, path, thumbnail, created_at, updated_at, mean_p_malignant, "
                    "n_malignant, n_models, quality, ensemble, flagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record.sha256, record.path, record.thumbnail_png, record.created_at or stamp, stamp,
                     consensus.mean_p_malignant, consensus.n_malignant, consensus.n_models, json.dumps(record.quality),
                     json.dumps(record.ensemble), int(consensus.flagged)))
                case_id = cur.lastrowid
            else:
                case_id = row[0]
                self._conn.execute(
                    "UPDATE cases SET path = ?, thumbnail = ?, updated_at = ?, mean_p_malignant = ?, "
                    "n_malignant = ?, n_models = ?, quality = ?, ensemble = ?, flagged = ? WHERE id = ?",
                    (record.path, record.thumbnail_png, stamp, consensus.mean_p_malignant, consensus.n_malignant,
                     consensus.n_models, json.dumps(record.quality), json.dumps(record.ensemble),
                     int(consensus.flagged), case_id))
                self._conn.execute("DELETE FROM predictions WHERE case_id = ?", (case_id,))
            self._conn.executemany(
                "INSERT INTO predictions (case_id, model, version, p_malignant, threshold) VALUES (?, ?, ?, ?, ?)",
                [(case_id, p.name, p.version, p.p_malignant, p.threshold) for p in record.predictions])
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return self.get(case_id)

    def update_review(self, case_id: int, *, note: str | None = None, clinician_label: str | None | bool = False,
                      reviewed: bool | None = None) -> TriageRecord:
        """Change the clinician's note, label (None clears it) or reviewed flag of one case."""
        sets, values = [], []
        if note is not None:
            sets.append("note = ?")
            values.append(note)
        if clinician_label is not False:
            if clinician_label is not None and clinician_label not in CLINICIAN_LABELS:
                raise ValueError(f"clinician label must be one of {CLINICIAN_LABELS} or None, got {clinician_label!r}")
            sets.append("clinician_label = ?")
            values.append(clinician_label)
        if reviewed is not None:
            sets.append("reviewed = ?")
            values.append(int(reviewed))
        if sets:
            sets.append("updated_at = ?")
            values.append(now_iso())
            self._conn.execute(f"UPDATE cases SET {', '.join(sets)} WHERE id = ?", (*values, case_id))
        return self.get(case_id)

    def save_heatmaps(self, case_id: int, heatmaps: dict[str, tuple[str, bytes]]) -> None:
        """``heatmaps``: model name -> (model version, PNG bytes)."""
        with self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO heatmaps (case_id, model, version, png) VALUES (?, ?, ?, ?)",
                [(case_id, name, version, png) for name, (version, png) in heatmaps.items()])

    def get_heatmaps(self, case_id: int) -> dict[str, tuple[str, bytes]]:
        rows = self._conn.execute("SELECT model, version, png FROM heatmaps WHERE case_id = ?", (case_id,))
        return {model: (version, png) for model, version, png in rows}

    # -- reading ----------------------------------------------------------------------------
    _COLUMNS = ("id, sha256, path, thumbnail, created_at, updated_at, note, clinician_label, reviewed, quality, "
                "ensemble")

    def _record(self, row) -> TriageRecord:
        case_id = row[0]
        preds = [ModelPrediction(m, v, p, t) for m, v, p, t in self._conn.execute(
            "SELECT model, version, p_malignant, threshold FROM predictions WHERE case_id = ?", (case_id,))]
        from melanoma_desktop.core.classifier import MODEL_ORDER

        rank = {name: i for i, name in enumerate(MODEL_ORDER)}
        preds.sort(key=lambda p: (rank.get(p.name, 99), p.name))
        return TriageRecord(id=case_id, sha256=row[1], path=row[2], thumbnail_png=row[3] or b"", created_at=row[4],
                            updated_at=row[5], note=row[6], clinician_label=row[7], reviewed=bool(row[8]),
                            quality=json.loads(row[9] or "{}"), ensemble=json.loads(row[10] or "{}"),
                            predictions=preds)

    def get(self, case_id: int) -> TriageRecord | None:
        row = self._conn.execute(f"SELECT {self._COLUMNS} FROM cases WHERE id = ?", (case_id,)).fetchone()
        return self._record(row) if row else None

    def find_by_sha(self, sha256: str) -> TriageRecord | None:
        row = self._conn.execute(f"SELECT {self._COLUMNS} FROM cases WHERE sha256 = ?", (sha256,)).fetchone()
        return self._record(row) if row else None

    def list(self, filter_name: str = "all") -> list[TriageRecord]:
        """Cases, most suspicious (highest mean P(malignant)) first."""
        where = {
            "all": "",
            "flagged": "WHERE flagged = 1",
            "disagreement": "WHERE n_malignant > 0 AND n_malignant < n_models",
            "unreviewed": "WHERE reviewed = 0",
        }
        if filter_name not in where:
            raise ValueError(f"unknown filter {filter_name!r}; use one of {FILTERS}")
        rows = self._conn.execute(
            f"SELECT {self._COLUMNS} FROM cases {where[filter_name]} ORDER BY mean_p_malignant DESC, id").fetchall()
        return [self._record(r) for r in rows]

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM cases").fetchone()[0])

    def export_csv(self, path: str | Path, filter_name: str = "all") -> int:
        """Write the (filtered) worklist to CSV; returns the number of cases written."""
        records = self.list(filter_name)
        models = sorted({p.name for r in records for p in r.predictions})
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "path", "sha256", "created_at", "mean_p_malignant", "ensemble_p_malignant",
                             "ensemble_threshold", "ensemble_label", "models_malignant",
                             "models", "disagreement", *[f"p_malignant_{m}" for m in models],
                             *[f"version_{m}" for m in models], "quality", "clinician_label", "reviewed", "note"])
            for r in records:
                c = r.consensus
                by = {p.name: p for p in r.predictions}
                ensemble = ([f"{c.ensemble_p_malignant:.4f}", f"{c.ensemble_threshold:.4f}", c.ensemble_label]
                            if c.ensemble_label else ["", "", ""])  # none, or not the models it was fitted for
                writer.writerow([r.file_name, r.path, r.sha256, r.created_at, f"{c.mean_p_malignant:.4f}", *ensemble,
                                 c.n_malignant, c.n_models, int(c.disagreement),
                                 *[f"{by[m].p_malignant:.4f}" if m in by else "" for m in models],
                                 *[by[m].version if m in by else "" for m in models], r.quality_label,
                                 r.clinician_label or "", int(r.reviewed), r.note])
        return len(records)
