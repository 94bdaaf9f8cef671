"""A run folder's own files (:class:`RunDir`; trainer.training.recalibrate also rewrites ``predictions.csv``,
through ``_write_rows``, when a finished run is recalibrated): ``config.json`` (the resolved
configuration), ``split.csv`` (every image's part, and source with several), ``predictions.csv`` (every
model's calibrated P(malignant) on the validation, test and left-out images: what the ensemble is fitted
and scored on) and ``skipped.txt``. The bundles' files (card.json, metrics.json, history.csv) and
ensemble.json have their one reader in trainer.bundle.cards and trainer.evaluation.reports, their one
writer in trainer.training.outputs and trainer.training.ensemble."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.bundle.cards import PREDICTIONS_FILE, probability_text, read_card
from trainer.data.sources import PreparedData
from trainer.evaluation.reports import read_report

SPLIT_FILE = "split.csv"
SKIPPED_FILE = "skipped.txt"
CONFIG_FILE = "config.json"  # the resolved TrainConfig the run was made with


class RunDir:
    """The one reader and writer of a run folder's split, predictions and skipped files."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    # -- reading --------------------------------------------------------------------------------
    def saved_config(self) -> dict:
        """config.json as saved (OSError when there is none, ValueError when it is not JSON)."""
        return json.loads((self.path / CONFIG_FILE).read_text(encoding="utf-8"))

    def split_rows(self) -> list[dict[str, str]]:
        """split.csv's rows: path, label, lesion_id, split (train / val / test / left_out) and, with several
        sources, source."""
        with open(self.path / SPLIT_FILE, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def part(self, part: str) -> tuple[list[str], np.ndarray]:
        """Paths and labels (1 = malignant) of one part, in split.csv's order."""
        rows = [r for r in self.split_rows() if r["split"] == part]
        return [r["path"] for r in rows], np.array([r["label"] == "malignant" for r in rows], dtype=int)

    def sources(self) -> dict[str, str]:
        """Path -> the source it came from ("" for a single-source run)."""
        return {r["path"]: r.get("source", "") or "" for r in self.split_rows()}

    def training_paths(self) -> set[str]:
        """The real paths of the images the run trained on."""
        return {os.path.realpath(r["path"]) for r in self.split_rows() if r["split"] == "train"}

    def skipped(self) -> list[tuple[str, str]]:
        """(path, reason) of every file the run could not use."""
        path = self.path / SKIPPED_FILE
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        return [tuple(line.split("\t", 1)) if "\t" in line else (line, "") for line in lines if line]

    def has_predictions(self) -> bool:
        return (self.path / PREDICTIONS_FILE).is_file()

    def prediction_rows(self) -> list[dict[str, str]]:
        """predictions.csv's rows: model, split, path, label, p_malignant."""
        with open(self.path / PREDICTIONS_FILE, newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def predictions(self) -> dict[str, dict[str, tuple[list[str], np.ndarray, np.ndarray]]]:
        """model -> split -> (paths, labels as 0/1, calibrated P(malignant)) from predictions.csv."""
        table: dict[str, dict[str, list]] = {}
        for row in self.prediction_rows():
            part = table.setdefault(row["model"], {}).setdefault(row["split"], [[], [], []])
            part[0].append(row["path"])
            part[1].append(int(row["label"] == "malignant"))
            part[2].append(float(row["p_malignant"]))
        return {m: {s: (v[0], np.array(v[1]), np.array(v[2])) for s, v in parts.items()} for m, parts in table.items()}

    # -- writing (training.train, .ensemble, .recalibrate) ----------------------------------------
    def write_config(self, config: dict) -> None:
        """config.json: the resolved configuration (TrainConfig.to_json(), or a saved one with a field changed)."""
        self.path.mkdir(parents=True, exist_ok=True)
        (self.path / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")

    def append_predictions(self, model: str, rows: list[dict[str, str]], p_malignant) -> None:
        """One more model's calibrated P(malignant) on the images of ``rows`` (prediction rows of another model)."""
        with open(self.path / PREDICTIONS_FILE, "a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for row, value in zip(rows, p_malignant):
                writer.writerow([model, row["split"], row["path"], row["label"], probability_text(value)])

    def write_split(self, data: PreparedData) -> None:
        with open(self.path / SPLIT_FILE, "w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(split_rows(data))

    def write_skipped(self, skipped) -> None:
        lines = [f"{p}\t{reason}" for p, reason in skipped]
        (self.path / SKIPPED_FILE).write_text(("\n".join(lines) + "\n") if lines else "", encoding="utf-8")

    def rows_of_other_models(self, data: PreparedData, retrained) -> list[list[str]]:
        """Retraining some models into a finished run keeps the other models' rows of its predictions file,
        when the run's validation and test images are this run's (same images, labels and parts): those rows
        are what the ensemble is fitted and tested on. The training images may differ (e.g. extra data for
        one model); each bundle's card says what it was trained on."""
        try:
            with open(self.path / SPLIT_FILE, newline="", encoding="utf-8") as handle:
                old_split = list(csv.reader(handle))
            with open(self.path / PREDICTIONS_FILE, newline="", encoding="utf-8") as handle:
                reader = csv.reader(handle)
                header, rows = next(reader), list(reader)
        except (OSError, StopIteration):
            return []

        def held_out(rows):
            return [row for row in rows if row[3:4] != ["train"]]

        if header != _PREDICTION_COLUMNS or held_out(old_split) != held_out(split_rows(data)):
            return []
        return [row for row in rows if row[0] not in retrained and (self.path / row[0] / "card.json").is_file()]

    def write_predictions(self, data: PreparedData, rows: dict[str, dict[str, np.ndarray]],
                          kept_rows: list[list[str]] = ()) -> None:
        """Calibrated P(malignant) of every model on every validation, test and left-out image."""
        pos = data.dataset.class_names.index("malignant")
        with open(self.path / PREDICTIONS_FILE, "w", newline="", encoding="utf-8") as handle:
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


def read_predictions(run_dir: str | Path) -> dict[str, dict[str, tuple[list[str], np.ndarray, np.ndarray]]]:
    """model -> split -> (paths, labels as 0/1, calibrated P(malignant)) from a run's predictions.csv."""
    return RunDir(run_dir).predictions()


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
    metrics = {name: read_report(path).metrics for name, path in bundles.items()}
    run = RunDir(out)
    test_paths, skipped = run.part("test")[0], run.skipped()
    counts = {}
    if bundles:
        counts = read_card(next(iter(bundles.values()))).training["counts"]
    return RunResult(out, bundles, metrics, skipped, counts, {}, test_paths)

_PREDICTION_COLUMNS = ["model", "split", "path", "label", "p_malignant"]


def split_rows(data: PreparedData) -> list[list[str]]:
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
