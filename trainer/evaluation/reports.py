"""Reading back what a bundle holds for display: card, metrics.json and history.csv."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from trainer.bundle.cards import ModelCard, read_card


@dataclass
class BundleReport:
    directory: Path
    card: ModelCard
    metrics: dict = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)


def load_history_csv(path: str | Path) -> dict[str, list[float]]:
    """Columns of a bundle's history.csv as lists, without the epoch column."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {}) if k != "epoch"}


def read_report(bundle_dir: str | Path) -> BundleReport:
    bundle_dir = Path(bundle_dir)
    card = read_card(bundle_dir)
    metrics_path, history_path = bundle_dir / "metrics.json", bundle_dir / "history.csv"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else {}
    history = load_history_csv(history_path) if history_path.is_file() else {}
    return BundleReport(bundle_dir, card, metrics, history)
