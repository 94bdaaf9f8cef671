"""The worklist asked of the database (part of :class:`~melanoma_desktop.core.database.CaseDatabase`): filters,
search, sort and "changed since last visit" evaluated in SQL on indexed columns, a page at a time; the flag line
the worklist shows every case on (one risk scale) kept in the database, so that every workstation shows the same;
exports streamed a chunk at a time.

Uses the database's ``_read``, ``_write``, ``_records`` and ``_with_predictions``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import text

from melanoma_desktop.core.records import TriageRecord
from melanoma_desktop.core.risk_scale import shown_with_entry
from melanoma_desktop.core.storage import derived
from melanoma_desktop.core.storage.engine import statement
from melanoma_desktop.core.worklist_query import WorklistQuery

_CHUNK = 500
_FEW_MATCHES = 20_000


class WorklistRecords:
    # -- the flag line in use ---------------------------------------------------------------------
    def shown_entry(self) -> dict | None:
        """The record entry of the flag line every case is shown on (None: each as it was read)."""
        with self._read() as c:
            value = c.execute(text("SELECT value FROM clinic_settings WHERE key = :k"),
                              {"k": derived.SHOWN_LINE_SETTING}).scalar()
        return json.loads(value) if value else None

    def set_shown_line(self, rule, should_stop=lambda: False) -> int:
        """Show every case on ``rule`` (an EnsembleRule, or None: as read) from now on, on every workstation;
        the cases' worklist columns follow (stored answers only, no image). Returns the number of cases updated."""
        entry = rule.record_entry() if rule is not None else None
        with self._write() as c:
            c.execute(text("INSERT INTO clinic_settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET "
                           "value = excluded.value"), {"k": derived.SHOWN_LINE_SETTING, "v": json.dumps(entry)})
        return self.refresh_worklist_columns(stale_only=True, should_stop=should_stop)

    def shown_line_current(self, rule) -> bool:
        """Whether every case is already shown on ``rule`` (nothing for ``set_shown_line`` to do)."""
        key = derived.line_key(rule.record_entry() if rule is not None else None)
        with self._read() as c:
            stale = c.execute(text("SELECT 1 FROM cases WHERE shown_line != :k LIMIT 1"), {"k": key}).first()
        return stale is None and derived.line_key(self.shown_entry()) == key

    def refresh_worklist_columns(self, stale_only: bool = False, should_stop=lambda: False) -> int:
        """Derive every case's worklist columns again (after an upgrade, or for a new flag line: ``stale_only``
        takes only the cases shown on another line), a chunk at a time; then every lesion's change marks."""
        key = derived.line_key(self.shown_entry())
        with self._read() as c:
            where = "WHERE shown_line != :k" if stale_only else ""
            ids = [r[0] for r in c.execute(text(f"SELECT id FROM cases {where} ORDER BY id"), {"k": key})]
        for start in range(0, len(ids), _CHUNK):
            if should_stop():
                break
            with self._write() as c:
                self._refresh_cases(c, ids[start:start + _CHUNK], lesions=False)
        if ids:
            with self._write() as c:
                lesions = [r[0] for r in c.execute(text("SELECT id FROM lesions"))]
                self._refresh_lesions(c, lesions)
        return len(ids)

    def _refresh_cases(self, c: sa.Connection, case_ids: list[int], lesions: bool = True) -> None:
        """Inside the caller's transaction: the worklist columns of these cases, and their lesions' marks."""
        value = c.execute(text("SELECT value FROM clinic_settings WHERE key = :k"),
                          {"k": derived.SHOWN_LINE_SETTING}).scalar()
        entry = json.loads(value) if value else None
        records = self._records(c, "WHERE c.id IN :ids", {"ids": list(case_ids)}) if case_ids else []
        if records:
            c.execute(text("UPDATE cases SET file_name = :file_name, visit_date = :visit_date, patient_key = :patient_key, "
                           "lesion_key = :lesion_key, shown_line = :shown_line, "
                           "shown_risk = :shown_risk, shown_flagged = :shown_flagged, "
                           "shown_disagreement = :shown_disagreement, shown_other = :shown_other, "
                           "sort_group = :sort_group WHERE id = :id"),
                      values := [{**derived.worklist_values(r, entry), "id": r.id} for r in records])
            c.execute(text("INSERT INTO case_search (case_id, words) VALUES (:id, :search_text) ON CONFLICT (case_id) "
                           "DO UPDATE SET words = excluded.words"), values)
        if lesions:
            ids = [r[0] for r in c.execute(statement("SELECT DISTINCT lesion_id FROM cases WHERE id IN :ids AND "
                                                     "lesion_id IS NOT NULL", {"ids": case_ids}),
                                           {"ids": list(case_ids)})] if case_ids else []
            self._refresh_lesions(c, ids)

    def _refresh_lesions(self, c: sa.Connection, lesion_ids: list[int]) -> None:
        """Inside the caller's transaction: each visit's change since its lesion's previous visit."""
        for start in range(0, len(lesion_ids), _CHUNK):
            chunk = {"ids": lesion_ids[start:start + _CHUNK]}
            rows = c.execute(statement("SELECT id, lesion_id, visit_date, shown_risk, shown_flagged, change_mark "
                                       "FROM cases WHERE lesion_id IN :ids", chunk), chunk).mappings().all()
            by_lesion: dict[int, list] = {}
            for r in rows:
                by_lesion.setdefault(r["lesion_id"], []).append(r)
            updates = []
            for visits in by_lesion.values():
                for visit, mark in zip(visits, derived.lesion_marks([dict(v) for v in visits])):
                    if mark != visit["change_mark"]:
                        updates.append({"id": visit["id"], "mark": mark, "changed": int(bool(mark))})
            if updates:
                c.execute(text("UPDATE cases SET change_mark = :mark, changed = :changed WHERE id = :id"), updates)

    # -- the worklist -----------------------------------------------------------------------------
    def worklist_page(self, query: WorklistQuery, offset: int = 0, limit: int = 100) -> list[TriageRecord]:
        """``limit`` cases of the worklist from ``offset``, shown on the flag line in use, without thumbnails
        (``thumbnails`` gives those of the rows on screen)."""
        entry = self.shown_entry()
        with self._read() as c:
            sql, params = self._ordered_ids_sql(c, query)
            ids = [r[0] for r in c.execute(text(f"{sql} LIMIT :limit OFFSET :offset"),
                                           {**params, "limit": limit, "offset": offset})]
            return self._shown(self._by_ids(c, ids), entry)

    @staticmethod
    def _ordered_ids_sql(c: sa.Connection, query: WorklistQuery) -> tuple[str, dict]:
        """The ids of the worklist in order. A search that few cases match is answered from the search index
        first and only its matches sorted (a substring cannot be sought in an index; walking the worklist's order
        and testing each case would read the whole history for a rare word); a common one walks the order."""
        where, params = query.where()
        if query.search.strip():
            matches = c.execute(text(f"SELECT COUNT(*) FROM cases c {where}"), params).scalar()
            if matches < _FEW_MATCHES:
                return (f"WITH m AS MATERIALIZED (SELECT c.id FROM cases c {where}) SELECT c.id FROM cases c "
                        f"JOIN m ON m.id = c.id {query.order()}", params)
        return f"SELECT c.id FROM cases c {where} {query.order()}", params

    def worklist_count(self, query: WorklistQuery) -> int:
        where, params = query.where()
        with self._read() as c:
            return int(c.execute(text(f"SELECT COUNT(*) FROM cases c {where}"), params).scalar())

    def worklist_summary(self, query: WorklistQuery) -> dict:
        """How many cases the query shows, of them flagged and cannot be assessed, and the whole history."""
        where, params = query.where()
        with self._read() as c:
            row = c.execute(text(f"SELECT COUNT(*) AS shown, COALESCE(SUM(c.shown_flagged), 0) AS flagged, "
                                 f"COALESCE(SUM(CASE WHEN c.assessable = 0 THEN 1 ELSE 0 END), 0) AS cannot_assess "
                                 f"FROM cases c {where}"), params).mappings().one()
            total = c.execute(text("SELECT COUNT(*) FROM cases")).scalar()
        return {**{k: int(v) for k, v in row.items()}, "total": int(total)}

    def worklist_ids(self, query: WorklistQuery) -> list[int]:
        """Every case id of the worklist, in its order (for streaming its records: ``iter_records``)."""
        with self._read() as c:
            sql, params = self._ordered_ids_sql(c, query)
            return [r[0] for r in c.execute(text(sql), params)]

    def worklist_position(self, query: WorklistQuery, case_id: int) -> int:
        """The case's row in the worklist (-1 when the query leaves it out)."""
        ids = self.worklist_ids(query)
        return ids.index(case_id) if case_id in ids else -1

    def iter_records(self, ids: list[int], shown: bool = True) -> Iterator[TriageRecord]:
        """The given cases in the given order, ``_CHUNK`` at a time (memory stays flat however long the list)."""
        entry = self.shown_entry() if shown else None
        for start in range(0, len(ids), _CHUNK):
            with self._read() as c:
                yield from self._shown(self._by_ids(c, ids[start:start + _CHUNK]), entry)

    def _by_ids(self, c: sa.Connection, ids: list[int]) -> list[TriageRecord]:
        if not ids:
            return []
        found = {r.id: r for r in self._records(c, "WHERE c.id IN :ids", {"ids": ids})}
        return [found[i] for i in ids if i in found]

    @staticmethod
    def _shown(records: list[TriageRecord], entry: dict | None) -> list[TriageRecord]:
        return [shown_with_entry(r, entry) for r in records]

    def list(self, filter_name: str = "all", rule=None) -> list[TriageRecord]:
        """Every case in worklist order (on the flag line in use), kept by one of ``records.WORKLIST_FILTERS``:
        as read, or with ``rule`` shown on that line (adopted for the worklist first). Reads the whole history:
        the window pages instead (``worklist_page``)."""
        if rule is not None and not self.shown_line_current(rule):
            self.set_shown_line(rule)
        return list(self.iter_records(self.worklist_ids(WorklistQuery(filter_name)), shown=rule is not None))

    def identities(self, images=None) -> list[TriageRecord]:
        """The cases as an import of confirmed diagnoses matches them (id, SHA-256, file, patient, visit, confirmed
        diagnosis), without the models' answers: every case, or those whose SHA-256 or file name is one of
        ``images`` (a few indexed look-ups for a file of a few hundred rows)."""
        sql = ("SELECT c.id, c.sha256, c.path, c.created_at, c.taken_at, c.confirmed_label, c.confirmed_source, "
               "c.confirmed_at, l.patient_id, l.label AS lesion_label, p.name AS patient_name FROM cases c "
               "LEFT JOIN lesions l ON l.id = c.lesion_id LEFT JOIN patients p ON p.id = l.patient_id")
        rows = []
        with self._read() as c:
            if images is None:
                rows = c.execute(text(f"{sql} ORDER BY c.id")).mappings().all()
            wanted = sorted(set(images or ()))
            for start in range(0, len(wanted), _CHUNK):
                chunk = {"images": wanted[start:start + _CHUNK]}
                rows += c.execute(statement(f"{sql} WHERE c.sha256 IN :images OR c.file_name IN :images", chunk),
                                  chunk).mappings().all()
        rows = list({r["id"]: r for r in rows}.values())  # a case named by its file and its SHA-256: once
        return [TriageRecord(id=r["id"], sha256=r["sha256"], path=r["path"], predictions=[], created_at=r["created_at"],
                             taken_at=r["taken_at"], confirmed_label=r["confirmed_label"],
                             confirmed_source=r["confirmed_source"], confirmed_at=r["confirmed_at"],
                             patient_id=r["patient_id"], lesion_label=r["lesion_label"],
                             patient_name=r["patient_name"] or "") for r in rows]

    def confirmed_records(self) -> list[TriageRecord]:
        """The cases with a confirmed diagnosis, as read (what local performance and adaptation learn from)."""
        with self._read() as c:
            ids = [r[0] for r in c.execute(text("SELECT id FROM cases WHERE confirmed_label IS NOT NULL ORDER BY id"))]
        return list(self.iter_records(ids, shown=False))

    def export_csv(self, path: str | Path, filter_name: str = "all") -> int:
        """Write the (filtered) worklist to CSV, with the fields of ``triage --json``, a chunk at a time;
        returns the number of cases."""
        ids = self.worklist_ids(WorklistQuery(filter_name))
        with self._read() as c:
            models = sorted(r[0] for r in c.execute(text("SELECT DISTINCT model FROM predictions")))
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "path", "sha256", "created_at", "patient_id", "lesion", "body_site", "visit_date",
                             "assessable", "reason", "assessed_anyway", "risk",
                             "flagged", "flag_line", "rule", "models_above_own_line", "models", "disagreement",
                             *[f"p_malignant_{m}" for m in models], *[f"version_{m}" for m in models],
                             "clinician_assessment", "management", "reviewed", "note", "patient_name",
                             "confirmed_diagnosis", "confirmed_source"])
            for r in self.iter_records(ids, shown=False):  # as read, like the triage command's JSON
                c = r.consensus
                by = {p.name: p for p in r.predictions}
                writer.writerow([r.file_name, r.path, r.sha256, r.created_at, r.patient_id or "", r.lesion_label or "",
                                 r.body_site or "", r.visit_date if r.patient_id else "", int(r.assessable), r.reason,
                                 int(r.assess_anyway), "" if r.risk is None else f"{r.risk:.4f}", int(r.flagged),
                                 "" if c.flag_line is None or not r.assessable else f"{c.flag_line:.4f}", c.rule,
                                 c.n_malignant, c.n_models, int(r.disagreement),
                                 *[f"{by[m].p_malignant:.4f}" if m in by else "" for m in models],
                                 *[by[m].version if m in by else "" for m in models],
                                 r.clinician_label or "", r.management or "", int(r.reviewed), r.note,
                                 r.patient_name if r.patient_id else "", r.confirmed_label or "",
                                 r.confirmed_source or ""])
        return len(ids)
