"""The numbers and figures behind each model, as the metrics panel and its PDF show them (no Qt).

Figures are matplotlib ``Figure`` objects (no pyplot state): the panel puts them on canvases, the PDF
export writes them as they are.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from melanoma_desktop import DISCLAIMER
from melanoma_desktop.core.numbers import with_ci
from melanoma_desktop.core.report import A4
from melanoma_desktop.core.wording import (
    flag_line_table,
    ranking_sentence,
    source_lines,
    test_result_sentence,
    training_sentence,
)
from trainer.bundle.calibration import describe_calibration
from trainer.evaluation.plots import draw_confusion_matrix, draw_learning_curves, draw_roc
from trainer.evaluation.reports import BundleReport, read_report  # noqa: F401 (read_report: what the panel reads a bundle with)


def extra_data_text(entry: dict) -> str:
    """One extra training source of a card: where, which part, how many of each class."""
    part = f" ({entry['source_split']})" if entry.get("source_split") else ""
    return (f"{Path(str(entry.get('data', '?'))).name}{part}: {entry.get('benign', 0)} benign / {entry.get('malignant', 0)} malignant, "
            "training split only")


def flag_line_html(metrics: dict) -> str:
    rows = flag_line_table(metrics)
    if rows is None:
        return "No result at the flag line is recorded for this model."
    cells = "".join(f"<tr><td>{what}</td><td align=right><b>{flagged}</b></td><td align=right>{other}</td></tr>"
                    for what, flagged, other in rows)
    return ("<p>At its flag line, on its test images:</p><table cellpadding=6 border=1 cellspacing=0>"
            "<tr><th></th><th>flagged</th><th>not flagged</th></tr>" + cells + "</table>"
            "<p><small>A melanoma not flagged is a miss; a benign lesion flagged is a case looked at more closely "
            "than needed.</small></p>")


def plain_summary(report: BundleReport) -> list[str]:
    """The model's record in a clinician's words: what it learned from, what it caught on its test images."""
    return [training_sentence(report.card.training), test_result_sentence(report.metrics),
            ranking_sentence(report.metrics)]


def summary_rows(report: BundleReport) -> list[tuple[str, str]]:
    m, card = report.metrics, report.card
    op = m.get("operating_point", {})
    cal = m.get("calibration", {})
    training = card.training
    counts = training.get("counts", {})
    rows = [
        ("Version", card.version),
        ("Test images", str(m.get("n", "n/a"))),
        ("ROC AUC (95% CI)", with_ci(m.get("roc_auc"), m.get("roc_auc_ci"), pct=False)),
        ("Accuracy at the model's 0.5", with_ci(m.get("accuracy"), m.get("accuracy_ci"))),
        ("Threshold (card)", f"{card.threshold:.3f}"),
        ("Sensitivity at threshold", with_ci(op.get("sensitivity"), op.get("sensitivity_ci"))),
        ("Specificity at threshold", with_ci(op.get("specificity"), op.get("specificity_ci"))),
        ("Accuracy at threshold", with_ci(op.get("accuracy"), op.get("accuracy_ci"))),
        ("Calibration", describe_calibration(card.calibration)),
        ("Test ECE before → after", f"{cal.get('ece_test_before', math.nan):.3f} → "
                                    f"{cal.get('ece_test_after', math.nan):.3f}"),
        ("Trained on", f"{Path(str(training.get('data', 'n/a'))).name} ({training.get('layout', '?')})"),
        *[("Extra training data", extra_data_text(e)) for e in training.get("extra_data") or []],
        *[("Source", line) for line in source_lines(training)],
        ("Protocol, seeds", f"{training.get('protocol', '?')}, training seed "
                            f"{card.hyperparameters.get('seed', '?')}, split seed "
                            f"{training.get('split_seed', '?')}"),
        ("Split (benign/malignant)", "; ".join(f"{part} {v.get('benign', 0)}/{v.get('malignant', 0)}"
                                               for part, v in counts.items() if isinstance(v, dict)) or "n/a"),
        ("Device, date", f"{card.device or '?'}, {card.created_at}"),
    ]
    return rows


def report_rows(metrics: dict) -> list[tuple[str, ...]]:
    rows = []
    for name, v in {**metrics.get("per_class", {}), **{f"{k} avg": v for k, v in metrics.get("averages", {}).items()}}.items():
        rows.append((name, f"{v['precision']:.2f}", f"{v['recall']:.2f}", f"{v['f1']:.2f}", str(v["support"])))
    return rows


def make_figures(report: BundleReport) -> dict[str, Figure]:
    m, name = report.metrics, report.card.name
    figures = {}
    if m.get("confusion_matrix"):
        figures["confusion_matrix"] = draw_confusion_matrix(Figure(figsize=(6.0, 2.9)), m["confusion_matrix"],
                                                            m.get("class_names", ["benign", "malignant"]),
                                                            f"{name}: confusion matrix (model's own 0.5)")
    roc = m.get("roc_curve", {})
    if roc.get("fpr"):
        fig = Figure(figsize=(4.2, 3.6))
        op = m.get("operating_point", {})
        point = (1 - op["specificity"], op["sensitivity"]) if op.get("sensitivity") is not None else None
        draw_roc(fig.subplots(), roc["fpr"], roc["tpr"], m.get("roc_auc", math.nan), point, "test")
        fig.suptitle(f"{name}: ROC")
        fig.tight_layout()
        figures["roc"] = fig
    if report.history:
        tuning = (report.card.hyperparameters or {}).get("fine_tuning") or {}
        figures["learning_curves"] = draw_learning_curves(Figure(figsize=(6.0, 2.9)), report.history,
                                                          f"{name}: learning curves", tuning.get("epochs_frozen"))
    return figures


def write_metrics_pdf(path: str | Path, columns: list[tuple[BundleReport, dict[str, Figure]]]) -> int:
    """Per model a text page (its record in words, the engineering details, per-class numbers, the
    disclaimer) and then its figures, into one PDF; returns the number of pages."""
    pages = 0
    with PdfPages(path) as pdf:
        for report, figures in columns:
            text = Figure(figsize=A4)
            lines = [report.card.display_name, ""]
            lines += [textwrap.fill(t, 95) for t in plain_summary(report) if t] + ["", "Engineering details"]
            lines += [f"{k}: {v}" for k, v in summary_rows(report)]
            lines += ["", "class  precision  recall  F1  support"]
            lines += ["  ".join(r) for r in report_rows(report.metrics)]
            lines += ["", DISCLAIMER]
            text.text(0.06, 0.96, "\n".join(lines), va="top", family="monospace", fontsize=8, wrap=True)
            pdf.savefig(text)
            pages += 1
            for fig in figures.values():
                pdf.savefig(fig)
                pages += 1
    return pages
