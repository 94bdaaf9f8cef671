"""Wizard page 4: each new model next to the active one on the same test split; tick to promote."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QCheckBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWizardPage

from melanoma_desktop.core.numbers import with_ci
from melanoma_desktop.ui.worker import Job
from trainer.calibration import model_half_point
from trainer.cards import read_card, read_ensemble
from trainer.errors import TrainerError

COLUMNS = ["model", "which", "accuracy (the paper's measure)", "orders lesions (AUC)", "melanomas caught",
           "benign cleared", "its flag line", "version"]  # numbers with their 95 % intervals


def _metric_cells(at_half: dict, at_threshold: dict, threshold) -> list[str]:
    """accuracy at the model's own 0.5, AUC, sensitivity and specificity at its threshold (with intervals)."""
    return [with_ci(at_half.get("accuracy"), at_half.get("accuracy_ci")),
            with_ci(at_half.get("roc_auc"), at_half.get("roc_auc_ci"), pct=False),
            with_ci(at_threshold.get("sensitivity"), at_threshold.get("sensitivity_ci")),
            with_ci(at_threshold.get("specificity"), at_threshold.get("specificity_ci")), with_ci(threshold, pct=False)]


def test_split(run_dir: Path) -> tuple[list[str], np.ndarray]:
    """Paths and labels (1 = malignant) of a run's test images, from its split.csv."""
    with open(run_dir / "split.csv", newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    return [r["path"] for r in rows], np.array([r["label"] == "malignant" for r in rows], dtype=int)


def compare_with_active(run_dir: Path, names: list[str], active_dirs: dict[str, str], backbones) -> dict[str, dict]:
    """The active bundles' numbers on the new run's test images (the same split)."""
    from trainer.bundle import load_bundle
    from trainer.data import Sample, decode_samples
    from trainer.metrics import evaluate_probabilities

    paths, labels = test_split(run_dir)
    decoded = decode_samples([Sample(Path(p), "benign") for p in paths])
    y = labels[decoded.kept]
    out = {}
    for name in names:
        if name not in active_dirs:
            continue
        try:
            bundle = load_bundle(active_dirs[name], backbones)
        except Exception as exc:  # an unavailable active model is reported, not fatal
            out[name] = {"error": str(exc)}
            continue
        probs = bundle.predict_proba(decoded.images)
        names_ = tuple(bundle.class_names)
        at_half = evaluate_probabilities(y, probs, names_, model_half_point(bundle.calibration))
        at_thr = evaluate_probabilities(y, probs, names_, bundle.threshold, n_boot=0)
        out[name] = {"at_half": {k: at_half[k] for k in ("accuracy", "accuracy_ci", "roc_auc", "roc_auc_ci")},
                     "at_threshold": {k: at_thr[k] for k in ("sensitivity", "sensitivity_ci", "specificity",
                                                              "specificity_ci")},
                     "threshold": bundle.threshold, "version": bundle.version}
    return out


def promotion_warnings(new: dict[str, dict], active: dict[str, dict]) -> list[str]:
    """Plain warnings for the person about to promote: a new model no better than chance on its test images, or
    worse than the active one on the same images (their AUC intervals apart). ``new``: name -> the run's
    metrics; ``active``: name -> compare_with_active's numbers."""
    warnings = []
    for name, m in new.items():
        auc, ci = m.get("roc_auc"), m.get("roc_auc_ci") or [None, None]
        a = active.get(name, {}).get("at_half", {})
        a_auc, a_ci = a.get("roc_auc"), a.get("roc_auc_ci") or [None, None]
        if auc is None or ci[0] is None or math.isnan(auc):
            continue
        if a_auc is not None and a_ci[0] is not None and ci[1] < a_ci[0]:
            warnings.append(f"The new {name} is worse than the active one on the same test images (AUC {auc:.3f} "
                            f"vs {a_auc:.3f}, intervals apart): keep the active {name}.")
        elif ci[0] <= 0.5:
            warnings.append(f"The new {name} is not shown to be better than chance (AUC {auc:.3f}, interval "
                            f"{ci[0]:.3f}–{ci[1]:.3f} includes 0.5): more data or epochs before promoting it.")
    return warnings


class ResultsPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.promote_boxes: dict[str, QCheckBox] = {}
        self.active_metrics: dict[str, dict] = {}
        self.setTitle("4. Results")
        self.setSubTitle("New models beside the active ones, on the same test images. Tick the models to make "
                         "active; the previous versions stay and can be restored from Models > Versions.")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        layout.addWidget(self.table, 1)
        self.split_label = QLabel("")
        self.split_label.setWordWrap(True)
        layout.addWidget(self.split_label)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #b3261e; font-weight: bold")
        layout.addWidget(self.warnings_label)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.boxes_layout = QVBoxLayout()
        layout.addLayout(self.boxes_layout)

    def initializePage(self) -> None:
        result = self.wiz.train_page.result
        for box in self.promote_boxes.values():
            box.deleteLater()
        self.promote_boxes = {}
        for name in result.metrics:
            box = QCheckBox(f"Make the new {name} active")
            self.promote_boxes[name] = box
            self.boxes_layout.addWidget(box)
        self._fill()
        _, labels = test_split(result.out)
        self.split_label.setText(
            f"Test split: {len(labels)} images, {int(labels.sum())} of them melanoma. In brackets: 95 % intervals; "
            "the fewer the test images, the wider they are — where two models' intervals overlap, the test split "
            "cannot tell them apart.")
        if self.wiz.active_dirs:
            self.status.setText("Evaluating the active models on the same test images…")
            names = list(result.metrics)
            job = Job("Comparing with the active models", lambda should_stop, on_progress: compare_with_active(
                result.out, names, self.wiz.active_dirs, self.wiz.backbones_for_compare()))
            job.signals.sig_finished.connect(self._on_compared)
            job.signals.sig_failed.connect(lambda message, _tb: self.status.setText(f"Comparison failed: {message}"))
            self.wiz.runner.submit(job)
        else:
            self.status.setText("No active models to compare with.")

    def _on_compared(self, metrics: dict) -> None:
        self.active_metrics = metrics
        self.status.setText("Active models evaluated on the same test images.")
        self._fill()

    def _fill(self) -> None:
        result = self.wiz.train_page.result
        rows = []
        for name, m in result.metrics.items():
            op = m.get("operating_point", {})
            card_version = read_card(result.bundles[name])["version"]
            rows.append([name, "new", *_metric_cells(m, op, op.get("threshold")), card_version])
            a = self.active_metrics.get(name)
            if a and "error" in a:
                rows.append([name, "active", "unavailable", "", "", "", "", a["error"][:80]])
            elif a:
                rows.append([name, "active", *_metric_cells(a["at_half"], a["at_threshold"], a["threshold"]),
                             a["version"]])
        rows += self._ensemble_rows(result.out)
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.resizeColumnsToContents()
        self.warnings_label.setText("\n".join(promotion_warnings(result.metrics, self.active_metrics)))

    @staticmethod
    def _ensemble_rows(run_dir: Path) -> list[list[str]]:
        """The new run's ensemble (its ensemble.json: calibrated mean, threshold from validation), if it has one;
        it reaches the app when every one of its models is promoted."""
        try:
            rule = read_ensemble(run_dir)
        except TrainerError as exc:
            return [["ensemble", "new", "unavailable", "", "", "", "", str(exc)[:80]]]
        if rule is None:
            return []
        at_half, op = rule.get("test", {}), rule.get("test_at_threshold", {})
        return [["ensemble", "new (if all promoted)", *_metric_cells(at_half, op, rule["threshold"]),
                 " + ".join(sorted(rule["members"]))]]

    def chosen(self) -> list[str]:
        return [name for name, box in self.promote_boxes.items() if box.isChecked()]
