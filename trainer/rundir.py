"""The files of a run folder that the trainer writes beside the bundles: ``split.csv`` (every image's part,
and source with several), ``predictions.csv`` (every model's calibrated P(malignant) on the validation, test
and left-out images: what the ensemble is fitted and scored on) and ``skipped.txt``."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.cards import PREDICTIONS_FILE, probability_text
from trainer.sources import PreparedData


@dataclass
class RunResult:
    """A finished training run: its folder, bundles, test metrics and what it skipped (one type for the command
    line, the benchmark and the app's training child, which reads it back with ``read_run_result``)."""

    out: Path
    bundles: dict[str, Path]
    metrics: dict[str, dict]
    skipped: list[tuple[str, str]]
    counts: dict
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)  # test-set output per model
    test_paths: list[str] = field(default_factory=list)


def read_run_result(out: str | Path, models) -> RunResult:
    """A finished run read back from its folder (what the app's training child leaves): the bundles of
    ``models`` it holds, their test metrics, the skipped files and the test images (no probabilities)."""
    out = Path(out)
    bundles = {name: out / name for name in models if (out / name / "card.json").is_file()}
    metrics = {name: json.loads((path / "metrics.json").read_text(encoding="utf-8")) for name, path in bundles.items()}
    with open(out / "split.csv", newline="", encoding="utf-8") as handle:
        test_paths = [r["path"] for r in csv.DictReader(handle) if r["split"] == "test"]
    skipped_file = out / "skipped.txt"
    lines = skipped_file.read_text(encoding="utf-8").splitlines() if skipped_file.is_file() else []
    skipped = [tuple(line.split("\t", 1)) if "\t" in line else (line, "") for line in lines if line]
    counts = {}
    if bundles:
        card = json.loads((next(iter(bundles.values())) / "card.json").read_text(encoding="utf-8"))
        counts = card["training"]["counts"]
    return RunResult(out, bundles, metrics, skipped, counts, {}, test_paths)

_PREDICTION_COLUMNS = ["model", "split", "path", "label", "p_malignant"]


def _rows_of_other_models(out: Path, data: PreparedData, retrained) -> list[list[str]]:
    """Retraining some models into a finished run keeps the other models' rows of its predictions file,
    when the run's validation and test images are this run's (same images, labels and parts): those rows are
    what the ensemble is fitted and tested on. The training images may differ (e.g. extra data for one model);
    each bundle's card says what it was trained on."""
    try:
        with open(out / "split.csv", newline="", encoding="utf-8") as handle:
            old_split = [row for row in csv.reader(handle)]
        with open(out / PREDICTIONS_FILE, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header, rows = next(reader), list(reader)
    except (OSError, StopIteration):
        return []
    def held_out(rows):
        return [row for row in rows if row[3:4] != ["train"]]

    if header != _PREDICTION_COLUMNS or held_out(old_split) != held_out(_split_rows(data)):
        return []
    return [row for row in rows if row[0] not in retrained and (out / row[0] / "card.json").is_file()]


def _write_predictions(path: Path, data: PreparedData, rows: dict[str, dict[str, np.ndarray]],
                       kept_rows: list[list[str]] = ()) -> None:
    """Calibrated P(malignant) of every model on every validation and test image (for the ensemble)."""
    pos = data.dataset.class_names.index("malignant")
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(_PREDICTION_COLUMNS)
        writer.writerows(kept_rows)
        for name, parts in rows.items():
            for part in ("val", "test", "left_out"):
                if part not in parts:
                    continue
                paths, labels = ((data.left_out.paths, data.left_out.y) if part == "left_out"
                                 else (data.paths[part], data.y[part]))
                for p, y, prob in zip(paths, labels, parts[part][:, pos]):
                    writer.writerow([name, part, p, data.dataset.class_names[int(y)], probability_text(prob)])


def _split_rows(data: PreparedData) -> list[list[str]]:
    """split.csv: every image's part; several sources add a ``source`` column and the left-out source's
    images as part ``left_out``."""
    by_path = {str(s.path): s for s in [*data.dataset.samples, *data.extra_samples]}
    if not data.sources:
        rows = [["path", "label", "lesion_id", "split"]]
        for part in ("train", "val", "test"):
            rows.extend([p, by_path[p].label, by_path[p].lesion_id or "", part] for p in data.paths[part])
        return rows
    source = data.source_of_path()
    rows = [["path", "label", "lesion_id", "split", "source"]]
    parts = [(part, data.paths[part]) for part in ("train", "val", "test")]
    if data.left_out is not None:
        parts.append(("left_out", data.left_out.paths))
    for part, paths in parts:
        rows.extend([p, by_path[p].label, by_path[p].lesion_id or "", part, source[p]] for p in paths)
    return rows


def _write_split(path: Path, data: PreparedData) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(_split_rows(data))


def _write_skipped(path: Path, skipped) -> None:
    lines = [f"{p}\t{reason}" for p, reason in skipped]
    path.write_text(("\n".join(lines) + "\n") if lines else "", encoding="utf-8")
