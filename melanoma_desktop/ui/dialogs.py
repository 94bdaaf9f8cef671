"""The About box: disclaimer, model versions and their test metrics from the cards."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from melanoma_desktop import DISCLAIMER, __version__
from melanoma_desktop.core.numbers import with_ci
from melanoma_desktop.core.records import ModelInfo
from trainer.calibration import describe_calibration


def _fmt(metrics: dict, key: str, pct=True) -> str:
    return with_ci(metrics.get(key), metrics.get(f"{key}_ci"), pct)


def _ensemble_rows(ensemble: dict | None, note: str) -> list[str]:
    if not ensemble:
        return [f"<tr><td colspan=4><small>{html.escape(note)}</small></td></tr>"] if note else []
    m = ensemble.get("test_at_threshold", {})
    calibration = ensemble.get("calibration")
    how = f", calibrated: {describe_calibration(calibration)}" if calibration else ""
    return [f"<tr><td><b>Ensemble</b><br><small>mean of the calibrated P(malignant){html.escape(how)}</small></td>"
            f"<td>{_fmt(m, 'accuracy')}</td><td>{_fmt(m, 'roc_auc', pct=False)}</td>"
            f"<td>{_fmt(m, 'sensitivity')}<br>{_fmt(m, 'specificity')}</td></tr>"
            f"<tr><td colspan=4><small>threshold {float(ensemble['threshold']):.3f}: "
            f"{html.escape(str(ensemble.get('threshold_rule', '')))}</small></td></tr>"]


def about_html(infos: list[ModelInfo], ensemble: dict | None = None, ensemble_note: str = "") -> str:
    rows = []
    for info in infos:
        if not info.available:
            rows.append(f"<tr><td><b>{html.escape(info.display_name)}</b></td><td colspan=3>unavailable: "
                        f"{html.escape(info.reason)}</td></tr>")
            continue
        m = info.test_metrics
        rows.append(
            f"<tr><td><b>{html.escape(info.display_name)}</b><br><small>{html.escape(info.version)}</small></td>"
            f"<td>{_fmt(m, 'accuracy')}</td><td>{_fmt(m, 'roc_auc', pct=False)}</td>"
            f"<td>{_fmt(m, 'sensitivity')}<br>{_fmt(m, 'specificity')}</td></tr>"
            f"<tr><td colspan=4><small>trained on {html.escape(info.training_summary())}; threshold "
            f"{info.threshold:.3f}</small></td></tr>")
    if rows:
        rows += _ensemble_rows(ensemble, ensemble_note)
    table = ("<table border=0 cellspacing=6><tr><th>Model</th><th>Accuracy at its threshold<br>(95% CI)</th>"
             "<th>AUC</th><th>Sensitivity<br>Specificity</th></tr>" + "".join(rows) + "</table>"
             if rows else "<p>No models are installed.</p>")
    return (f"<h3>Melanoma triage desktop {__version__}</h3>"
            f"<p style='color:#b3261e'><b>{html.escape(DISCLAIMER)}</b></p>"
            f"<p>Three deep-learning models, shown side by side. Test metrics are from each model's card, measured on "
            f"its held-out test split.</p>{table}")


def show_about(parent, infos: list[ModelInfo], ensemble: dict | None = None, ensemble_note: str = "") -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About Melanoma triage")
    box.setTextFormat(Qt.RichText)
    box.setText(about_html(infos, ensemble, ensemble_note))
    box.exec()
