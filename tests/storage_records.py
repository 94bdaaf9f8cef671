"""Synthetic cases for the storage tests (tests/core/test_storage.py, test_backup.py, the benchmark's tests)."""

from melanoma_desktop.core.quality import QualityReport
from melanoma_desktop.core.records import ModelPrediction, TriageRecord

MEMBERS = {"cnn": "cnn-v1", "vgg16": "vgg16-v1", "mobilenetv2": "mobilenetv2-v1"}


def _record(sha, p=(0.2, 0.2, 0.2), name=None, ok=True, threshold=0.55, created="2026-11-25T10:00:00+00:00"):
    preds = [ModelPrediction(n, v, q, 0.5) for (n, v), q in zip(MEMBERS.items(), p)]
    return TriageRecord(sha256=sha, path=f"/clinic/{name or sha}.jpg", predictions=preds, created_at=created,
                        thumbnail_png=f"png-{sha}".encode(), quality=QualityReport([] if ok else ["blurred"]),
                        ensemble={"members": dict(MEMBERS), "threshold": threshold})
