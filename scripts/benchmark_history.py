"""How the case database copes with a clinic's whole history: synthetic cases with real 96-px thumbnails, on
SQLite and on PostgreSQL (a local server from the ``pgserver`` package, or ``--postgres URL``), what the window
asks of it, timed.

    python scripts/benchmark_history.py --cases 1000,10000,100000 [--engines sqlite,postgresql]

For each size it prints the median of five runs, in milliseconds: opening the database to the first rows on
screen (count, first page, their thumbnails), a filter change, a search keystroke, a sort, scrolling to the end
(the last page), opening a case (record, thumbnail, heatmaps), 100 new cases saved on another connection and
appearing (change log, count, first page), Local performance on up to 10,000 confirmed cases (reading them and
scoring), and the process's memory above what it had before the database was opened. A benchmark, not a test:
timings swing with the machine's load (docs/clinic-database.md keeps a measured run)."""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from sqlalchemy import text  # noqa: E402

from melanoma_desktop.core.database import CaseDatabase  # noqa: E402
from melanoma_desktop.core.quality import QualityReport  # noqa: E402
from melanoma_desktop.core.records import ModelPrediction, TriageRecord  # noqa: E402
from melanoma_desktop.core.storage import derived  # noqa: E402
from melanoma_desktop.core.worklist_query import WorklistQuery  # noqa: E402

MEMBERS = {"cnn": "cnn-bench", "vgg16": "vgg16-bench", "mobilenetv2": "mobilenetv2-bench"}
ENTRY = {"members": MEMBERS, "threshold": 0.5}


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def thumbnails(count: int = 64) -> list[bytes]:
    """Real 96-px PNG thumbnails of lesion-like pictures (a dark blot on skin tones, with noise): ~11 KB each."""
    from PIL import Image

    rng = np.random.default_rng(0)
    made = []
    yy, xx = np.mgrid[0:96, 0:96]
    for _ in range(count):
        skin = np.array([200, 150, 130]) + rng.normal(0, 12, 3)
        r = rng.uniform(15, 35)
        blot = np.exp(-(((yy - 48 + rng.normal(0, 6)) ** 2 + (xx - 48 + rng.normal(0, 6)) ** 2) / (2 * r * r)))
        image = skin * (1 - 0.7 * blot[..., None]) + rng.normal(0, 3.5, (96, 96, 3))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(buffer, "PNG")
        made.append(buffer.getvalue())
    return made


def synthetic_record(i: int, rng: random.Random, thumbs: list[bytes]) -> TriageRecord:
    base = rng.betavariate(1.2, 4)
    preds = [ModelPrediction(n, v, min(0.999, max(0.001, base + rng.gauss(0, 0.08))), 0.5) for n, v in MEMBERS.items()]
    ok = rng.random() > 0.03
    day = f"20{16 + i * 10 // max(1, SIZE):02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"
    record = TriageRecord(sha256=f"{i:064x}", path=f"/clinic/images/{day}/IMG_{i:07d}.jpg", predictions=preds,
                          created_at=f"{day}T09:00:00+00:00", thumbnail_png=thumbs[i % len(thumbs)],
                          quality=QualityReport([] if ok else ["blurred"]), ensemble=dict(ENTRY), id=i + 1)
    if rng.random() < 0.6:  # most cases filed under a patient: ~3 visits of ~2 lesions per patient
        record.patient_id, record.lesion_label, record.taken_at = f"P{i // 6:06d}", f"L{(i // 3) % 2}", day
        record.patient_name = f"Patient {i // 6}"
    if rng.random() < 0.1:
        record.confirmed_label = "melanoma" if rng.random() < base else "benign"
        record.confirmed_source = "histopathology"
    return record


SIZE = 1


def populate(db: CaseDatabase, n: int, thumbs: list[bytes], seed: int = 0) -> None:
    """n synthetic cases written in bulk (the app's ``save`` writes one at a time, as images arrive)."""
    global SIZE
    SIZE = n
    rng = random.Random(seed)
    with db._write() as c:
        c.execute(text("INSERT INTO clinic_settings (key, value) VALUES (:k, :v) ON CONFLICT (key) DO UPDATE SET "
                       "value = excluded.value"), {"k": derived.SHOWN_LINE_SETTING, "v": __import__("json").dumps(ENTRY)})
    lesion_ids: dict[tuple, int] = {}
    for start in range(0, n, 2000):
        records = [synthetic_record(i, rng, thumbs) for i in range(start, min(n, start + 2000))]
        with db._write() as c:
            patients = {(r.patient_id, r.patient_name) for r in records if r.patient_id}
            for pid, name in patients:
                c.execute(text("INSERT INTO patients (id, name, created_at) VALUES (:id, :name, 't') ON CONFLICT "
                               "(id) DO NOTHING"), {"id": pid, "name": name})
            for r in records:
                key = (r.patient_id, r.lesion_label)
                if r.patient_id and key not in lesion_ids:
                    lesion_ids[key] = c.execute(text("INSERT INTO lesions (patient_id, label) VALUES (:p, :l) "
                                                     "RETURNING id"), {"p": r.patient_id, "l": r.lesion_label}
                                                ).scalar_one()
            rows = []
            for r in records:
                values = derived.worklist_values(r, ENTRY)
                rows.append({**values, "id": r.id, "sha256": r.sha256, "path": r.path, "created_at": r.created_at,
                             "updated_at": r.created_at, "mean": r.consensus.mean_p_malignant,
                             "n_malignant": r.consensus.n_malignant, "quality": __import__("json").dumps(r.quality.to_json()),
                             "ensemble": __import__("json").dumps(r.ensemble), "flagged": int(r.flagged),
                             "risk": r.risk, "assessable": int(r.assessable),
                             "lesion_id": lesion_ids.get((r.patient_id, r.lesion_label)), "taken_at": r.taken_at,
                             "confirmed_label": r.confirmed_label, "confirmed_source": r.confirmed_source})
            c.execute(text(
                "INSERT INTO cases (id, sha256, path, created_at, updated_at, mean_p_malignant, n_malignant, n_models, "
                "quality, ensemble, flagged, risk, assessable, lesion_id, taken_at, confirmed_label, confirmed_source, "
                "file_name, visit_date, patient_key, lesion_key, shown_line, shown_risk, shown_flagged, "
                "shown_disagreement, shown_other, sort_group) VALUES (:id, :sha256, :path, :created_at, :updated_at, "
                ":mean, :n_malignant, 3, :quality, :ensemble, :flagged, :risk, :assessable, :lesion_id, :taken_at, "
                ":confirmed_label, :confirmed_source, :file_name, :visit_date, :patient_key, :lesion_key, "
                ":shown_line, :shown_risk, :shown_flagged, :shown_disagreement, :shown_other, "
                ":sort_group)"), rows)
            c.execute(text("INSERT INTO predictions (case_id, model, version, p_malignant, threshold) VALUES "
                           "(:id, :m, :v, :p, 0.5)"),
                      [{"id": r.id, "m": p.name, "v": p.version, "p": p.p_malignant} for r in records
                       for p in r.predictions])
            c.execute(text("INSERT INTO case_search (case_id, words) VALUES (:id, :search_text)"), rows)
            c.execute(text("INSERT INTO thumbnails (case_id, png) VALUES (:id, :png)"),
                      [{"id": r.id, "png": r.thumbnail_png} for r in records])
    with db._write() as c:
        if db.engine.dialect.name == "postgresql":
            c.exec_driver_sql("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))")
        db._refresh_lesions(c, list(lesion_ids.values()))
    if db.engine.dialect.name == "postgresql":  # what autovacuum does on a server in use
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")
    if db.sqlite:
        with db.engine.connect() as c:
            c.connection.dbapi_connection.execute("ANALYZE")


def timed(action, repeat: int = 5) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append(1000 * (time.perf_counter() - start))
    return statistics.median(runs)


def measure(target, n: int, thumbs: list[bytes]) -> dict:
    from melanoma_desktop.core.local_performance import evaluate_local
    from trainer.bundle.ensemble_rule import EnsembleRule

    out = {}
    page = 100

    def first_rows():
        with CaseDatabase(target) as db:
            db.worklist_summary(WorklistQuery())
            rows = db.worklist_page(WorklistQuery(), 0, page)
            db.thumbnails([r.id for r in rows[:15]])

    out["open to first rows"] = timed(first_rows)
    db = CaseDatabase(target)

    def screen(query):
        def run():
            db.worklist_summary(query)
            rows = db.worklist_page(query, 0, page)
            db.thumbnails([r.id for r in rows[:15]])
        return run

    out["filter change"] = timed(screen(WorklistQuery("flagged")))
    out["search keystroke"] = timed(screen(WorklistQuery(search="img_00123")))
    out["sort"] = timed(screen(WorklistQuery(sort="image", descending=True)))
    total = db.worklist_count(WorklistQuery())
    out["scroll to the end"] = timed(lambda: db.thumbnails(
        [r.id for r in db.worklist_page(WorklistQuery(), max(0, total - page), page)[-15:]]))
    ids = [r.id for r in db.worklist_page(WorklistQuery(), n // 2, 5)]
    out["open a case"] = timed(lambda: [db.get(ids[0]), db.get_heatmaps(ids[0])])
    other = CaseDatabase(target)  # another workstation
    rng, counter = random.Random(1), [n + 10_000_000]
    last = db.last_change()
    start = time.perf_counter()
    for _ in range(100):
        counter[0] += 1
        record = synthetic_record(counter[0], rng, thumbs)
        record.id, record.patient_id, record.confirmed_label = None, None, None
        other.save(record)
    out["100 new cases written elsewhere"] = 1000 * (time.perf_counter() - start)
    other.close()

    def appear():  # what this workstation does on its next look at the change log
        db.changes_since(last)
        db.worklist_summary(WorklistQuery())
        db.worklist_page(WorklistQuery(), 0, page)

    out["... appearing here"] = timed(appear)
    rule = EnsembleRule.from_dict({"members": MEMBERS, "threshold": 0.5})
    names = [f"IMG_{i:07d}.jpg" for i in range(0, n, max(1, n // 200))]  # a CSV of 200 confirmed diagnoses
    out["import preview: match 200 rows"] = timed(lambda: db.identities(names))
    out["re-read offer: count"] = timed(lambda: db.rereadable_count(rule), repeat=3)
    confirmed = []
    out["confirmed cases read"] = timed(lambda: confirmed.append(db.confirmed_records()[:10_000]), repeat=1)
    out["local performance scored"] = timed(lambda: evaluate_local(confirmed[-1], rule), repeat=1)
    out["confirmed cases"] = len(confirmed[-1])
    db.close()
    out["rss (MiB)"] = rss_mib()
    return out


def postgres_database(base: Path, name: str) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from pg_server import new_database

    return new_database(base)


def measure_in_child(target, n: int) -> dict:
    """``measure`` in a new process, so that its memory figure is its own."""
    import json
    import subprocess

    done = subprocess.run([sys.executable, __file__, "--measure", str(target), "--size", str(n)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def warmed_up() -> float:
    """Everything the measures import and build once, done without a database; the process's memory then (the
    baseline: what an empty history costs)."""
    from melanoma_desktop.core.local_performance import evaluate_local
    from trainer.bundle.ensemble_rule import EnsembleRule

    rng, thumbs = random.Random(5), thumbnails(8)
    records = [synthetic_record(i, rng, thumbs) for i in range(200)]
    for i, r in enumerate(records):
        r.confirmed_label = "melanoma" if i % 4 == 0 else "benign"
    evaluate_local(records, EnsembleRule.from_dict({"members": MEMBERS, "threshold": 0.5}))
    with CaseDatabase(Path(tempfile.mkdtemp()) / "empty.sqlite3") as empty:
        empty.worklist_summary(WorklistQuery())
        empty.worklist_page(WorklistQuery())
    import gc

    gc.collect()
    return rss_mib()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default="1000,10000,100000")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child: measure this database, print JSON
    parser.add_argument("--size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        import json

        target = args.measure if "://" in args.measure else Path(args.measure)
        baseline = warmed_up()
        result = measure(target, args.size, thumbnails(8))
        result["memory above empty (MiB)"] = result.pop("rss (MiB)") - baseline
        print(json.dumps(result))
        return 0
    thumbs = thumbnails()
    print(f"thumbnails: {statistics.mean(len(t) for t in thumbs) / 1024:.1f} KB each on average")
    work = Path(tempfile.mkdtemp(prefix="history-bench-"))
    for engine in args.engines.split(","):
        for n in [int(x) for x in args.cases.split(",")]:
            target = work / f"{n}.sqlite3" if engine == "sqlite" else postgres_database(work, f"b{n}")
            with CaseDatabase(target) as db:
                start = time.perf_counter()
                populate(db, n, thumbs)
                made = time.perf_counter() - start
            result = measure_in_child(target, n)
            print(f"\n{engine}, {n:,} cases (written in {made:.0f} s)")
            for key, value in result.items():
                unit = "" if "MiB" in key or key == "confirmed cases" else " ms"
                value = float(value)
                print(f"  {key:32s} {value:8.1f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
