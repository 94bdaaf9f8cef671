"""The About box: disclaimer, model versions and their test metrics from the cards."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from melanoma_desktop import DISCLAIMER, __version__
from melanoma_desktop.core.numbers import with_ci
from melanoma_desktop.core.records import ModelInfo
from melanoma_desktop.core.wording import short_model_name, test_result_sentence, training_sentence
from trainer.api import describe_calibration

if TYPE_CHECKING:
    from trainer.api import EnsembleRule


def _fmt(metrics: dict, key: str, pct=True) -> str:
    return with_ci(metrics.get(key), metrics.get(f"{key}_ci"), pct)


def about_html(infos: list[ModelInfo], ensemble: EnsembleRule | None = None, ensemble_note: str = "") -> str:
    """The About box in a clinician's words: what each model learned from and caught on its test images;
    versions, flag lines and calibration are in :func:`about_details`."""
    items = []
    for info in infos:
        name = html.escape(short_model_name(info.display_name))  # the full name is in the details
        if not info.available:
            items.append(f"<li><b>{name}</b>: not available ({html.escape(info.reason)})</li>")
            continue
        items.append(f"<li><b>{name}</b>: {html.escape(training_sentence(info.training))} "
                     f"{html.escape(test_result_sentence(info.test_metrics))}</li>")
    if ensemble:
        m = ensemble.test_at_threshold
        combined = (f"One score from the three models' answers, with one flag line. "
                    f"{test_result_sentence(m)}" if m else "One score from the three models' answers, with one "
                    "flag line.")
        items.append(f"<li><b>Combined risk</b>: {html.escape(combined)}</li>")
    elif ensemble_note and infos:
        items.append(f"<li><b>Combined risk</b>: not available for these model versions "
                     f"({html.escape(ensemble_note)}); a case is flagged when most models are above their own "
                     "flag line.</li>")
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>No models are installed.</p>"
    return (f"<h3>Melanoma triage desktop {__version__}</h3>"
            f"<p style='color:#b3261e'><b>{html.escape(DISCLAIMER)}</b></p>"
            f"<p>Three deep-learning models read each dermoscopic image; the window shows their combined melanoma "
            f"risk first. These results are from each model's own test images; at a new clinic they can differ "
            f"(Models &gt; Local performance measures them on your own confirmed cases; Models &gt; Metrics has the "
            f"archives' detail).</p>{body}")


def about_details(infos: list[ModelInfo], ensemble: EnsembleRule | None = None) -> str:
    """Engineering details, one click away: versions, flag lines, accuracy and AUC with their intervals."""
    lines = []
    for info in infos:
        if not info.available:
            continue
        m = info.test_metrics
        lines.append(f"{info.name} {info.version}: flag line {info.threshold:.3f}; test accuracy {_fmt(m, 'accuracy')}, "
                     f"AUC {_fmt(m, 'roc_auc', pct=False)}, sensitivity {_fmt(m, 'sensitivity')}, specificity "
                     f"{_fmt(m, 'specificity')}; trained on {info.training_summary()}")
    if ensemble:
        calibration = ensemble.calibration
        how = f" calibrated: {describe_calibration(calibration)};" if calibration else ""
        weights = ensemble.member_weights()
        mean = ("the members' mean" if not ensemble.weights else "weighted mean ("
                + ", ".join(f"{n} {w:.2f}" for n, w in weights.items()) + "; fitted on validation, a member with "
                "weight 0 is not counted)")
        lines.append(f"combined risk (ensemble of {', '.join(ensemble.members)}): {mean},{how} "
                     f"flag line {float(ensemble.threshold):.3f} ({ensemble.extra.get('threshold_rule', '')})")
    return "\n\n".join(lines)


def show_about(parent, infos: list[ModelInfo], ensemble: EnsembleRule | None = None, ensemble_note: str = "") -> None:
    box = QMessageBox(parent)
    box.setWindowTitle("About Melanoma triage")
    box.setTextFormat(Qt.RichText)
    box.setText(about_html(infos, ensemble, ensemble_note))
    box.setDetailedText(about_details(infos, ensemble))  # "Show Details…": the engineering view
    box.exec()
