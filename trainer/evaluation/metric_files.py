"""What a model's scores become on disk and on screen: metrics.json, classification_report.txt, the confusion
matrix and learning curves beside a bundle (or an evaluation's folder), and the metrics table of a run's summary,
an evaluation and the command line."""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure

from trainer.bundle.calibration import describe_calibration
from trainer.evaluation.metrics import Metrics
from trainer.evaluation.numbers import table_number, table_with_ci
from trainer.evaluation.plots import draw_confusion_matrix, draw_learning_curves, save_figure
from trainer.models.registry import names, spec


def paper_accuracies() -> dict[str, float]:
    """The paper's reported test accuracy per model (1,200 HAM10000 images, 240 test), from the specs."""
    return {name: spec(name).paper_accuracy for name in names() if spec(name).paper_accuracy is not None}


def write_metric_files(directory: Path, metrics: dict, title: str, history: dict | None = None,
                       fine_tune_from: int | None = None) -> None:
    """``metrics``: metrics.json's object (``Metrics.to_json`` and the run's own entries beside it)."""
    (directory / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    scores = Metrics.from_json(metrics)
    (directory / "classification_report.txt").write_text(f"{title}\n\n{scores.report_text()}", encoding="utf-8")
    save_figure(draw_confusion_matrix(Figure(figsize=(7.5, 3.4)), scores.confusion_matrix, list(scores.class_names),
                                      title), directory / "confusion_matrix.png")
    if history:
        curves_title = title.removesuffix(" - test set") + " - training and validation"
        save_figure(draw_learning_curves(Figure(figsize=(8, 3.4)), history, curves_title, fine_tune_from),
                    directory / "learning_curves.png")


def metrics_table(all_metrics: dict[str, dict], with_paper: bool = True) -> str:
    """The metrics as a Markdown table; ``with_paper``: beside the paper's accuracy (its protocol's test set)."""
    paper = paper_accuracies() if with_paper else None
    head = ("| model | paper acc. % | acc. % (95% CI) | AUC (95% CI) | sens. % | spec. % | "
            "benign P/R/F1 | malignant P/R/F1 |")
    lines = [head, "|" + "---|" * 8]
    operating_rows = []
    for name, m in all_metrics.items():
        t = Metrics.from_json(m)
        b, mal = t.per_class["benign"], t.per_class["malignant"]
        paper_acc = f"{100 * paper[name]:.0f}" if paper and name in paper else "-"
        flag = " (collapsed to one class)" if m.get("collapsed_to_one_class") else ""
        lines.append(
            f"| {name}{flag} | {paper_acc} | {table_with_ci(t.accuracy, t.accuracy_ci)} | "
            f"{table_with_ci(t.roc_auc, t.roc_auc_ci, 1, 3)} | "
            f"{table_number(t.sensitivity)} | {table_number(t.specificity)} | "
            f"{b.precision:.2f}/{b.recall:.2f}/{b.f1:.2f} | {mal.precision:.2f}/{mal.recall:.2f}/{mal.f1:.2f} |"
        )
        op, cal = m.get("operating_point"), m.get("calibration")
        if op and cal:
            op = Metrics.from_json({**m, **op})  # the operating point: the same images at the chosen threshold
            operating_rows.append(
                f"| {name} | {op.threshold:.3f} | {table_with_ci(op.sensitivity, op.sensitivity_ci)} | "
                f"{table_with_ci(op.specificity, op.specificity_ci)} | {describe_calibration(cal)} | "
                f"{table_number(cal['ece_test_before'], 1, 3)} -> {table_number(cal['ece_test_after'], 1, 3)} |")
    text = "\n".join(lines) + "\n"
    if operating_rows:
        text += ("\nAt each model's operating point (chosen on its training run's validation split for sensitivity "
                 ">= 95 %; calibration fitted on that split):\n\n"
                 "| model | threshold | sens. % (95% CI) | spec. % (95% CI) | calibration | test ECE before -> after |\n"
                 "|---|---|---|---|---|---|\n" + "\n".join(operating_rows) + "\n")
    return text
