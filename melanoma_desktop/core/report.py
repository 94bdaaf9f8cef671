"""PDF reports: one page per case, and a batch report for a (filtered) worklist. Drawn with
matplotlib on plain Figures (no pyplot), so they work headless and in the packaged app."""

from __future__ import annotations

import io
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from PIL import Image

from melanoma_desktop import DISCLAIMER, __version__
from melanoma_desktop.core.records import ModelInfo, TriageRecord

A4 = (8.27, 11.69)
ROWS_PER_PAGE = 32
TEXT_COLUMNS = 50  # the case text beside the image, monospace: what fits before the page's right edge
TABLE_WIDTHS = [0.10, 0.31, 0.11, 0.09, 0.09, 0.09, 0.07, 0.07, 0.07]


def _rgb_for(record: TriageRecord) -> np.ndarray | None:
    from trainer.errors import ImageDecodeError
    from trainer.imageio import load_rgb

    try:
        return load_rgb(record.path)
    except ImageDecodeError:
        if record.thumbnail_png:
            return np.asarray(Image.open(io.BytesIO(record.thumbnail_png)).convert("RGB"))
        return None


def _fmt(v, pct=True) -> str:
    if v is None:
        return "n/a"
    return f"{v:.0%}" if pct else f"{v:.2f}"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _header(fig: Figure, title: str) -> None:
    fig.text(0.06, 0.965, title, fontsize=14, weight="bold", va="top")
    fig.text(0.06, 0.94, DISCLAIMER, fontsize=9, color="#b3261e", weight="bold", va="top")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    fig.text(0.94, 0.965, f"{stamp}\nMelanoma triage {__version__}", fontsize=7, ha="right", va="top", color="#555")


def draw_case_page(fig: Figure, record: TriageRecord, infos: list[ModelInfo],
                   heatmaps: dict[str, np.ndarray] | None = None) -> Figure:
    from melanoma_desktop.core.heatmaps import overlay

    _header(fig, f"Case report — {record.file_name}")
    rgb = _rgb_for(record)
    ax = fig.add_axes([0.06, 0.62, 0.38, 0.28])
    ax.axis("off")
    if rgb is not None:
        ax.imshow(rgb)
    ax.set_title("image", fontsize=9)
    c = record.consensus
    lines = [f"file: {record.path}", f"SHA-256: {record.sha256[:32]}…", f"added: {record.created_at}", "",
             f"consensus: {c.label}; mean P(malignant) {c.mean_p_malignant:.1%}",
             f"{c.n_malignant} of {c.n_models} models above their threshold" + (
                 f"; ensemble P(malignant) {c.ensemble_p_malignant:.1%} (the mean, calibrated), "
                 f"{'above' if c.ensemble_label == 'malignant' else 'below'} its threshold {c.ensemble_threshold:.1%}"
                 if c.ensemble_label else ""),
             "MODELS DISAGREE — review with care" if c.disagreement else "",
             f"image quality: {record.quality_label}", "",
             f"clinician label: {record.clinician_label or '(none)'}; reviewed: {'yes' if record.reviewed else 'no'}",
             "note: " + (record.note or "(none)")]
    wrapped = "\n".join(textwrap.fill(line, TEXT_COLUMNS) if line else "" for line in lines)
    fig.text(0.48, 0.90, wrapped, fontsize=8.5, va="top", family="monospace")
    by_info = {i.name: i for i in infos}
    rows = [["model", "version", "P(malignant)", "says", "threshold", "test acc.", "AUC", "sens.", "spec."]]
    trained_on = []
    for p in record.predictions:
        info = by_info.get(p.name, ModelInfo(p.name, p.name))
        m = info.test_metrics
        rows.append([p.name, p.version, f"{p.p_malignant:.3f}", p.label, f"{p.threshold:.3f}",
                     _fmt(m.get("accuracy")), _fmt(m.get("roc_auc"), False), _fmt(m.get("sensitivity")),
                     _fmt(m.get("specificity"))])
        if info.training:
            trained_on.append(textwrap.fill(f"{p.name} trained on {info.training_summary()}", 120,
                                            subsequent_indent="    "))
    table_ax = fig.add_axes([0.06, 0.50, 0.88, 0.09])
    table_ax.axis("off")
    table = table_ax.table(cellText=rows, loc="upper center", cellLoc="left", colWidths=TABLE_WIDTHS)
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    table.scale(1, 1.3)
    fig.text(0.06, 0.485, "\n".join(trained_on), fontsize=6.5, va="top", color="#333")
    if heatmaps and rgb is not None:
        names = [p.name for p in record.predictions if p.name in heatmaps]
        for k, name in enumerate(names):
            hax = fig.add_axes([0.06 + k * 0.30, 0.12, 0.27, 0.27])
            hax.imshow(overlay(rgb, heatmaps[name], 0.6))
            hax.axis("off")
            hax.set_title(f"Grad-CAM: {name}" if heatmaps[name].max() > 1e-3 else
                          f"Grad-CAM: {name}\nno region raises P(malignant)", fontsize=8)
    fig.text(0.06, 0.06, textwrap.fill("Probabilities are calibrated on validation data (each model card says how) "
                                       "and compared with each model's own threshold, chosen for 95 % sensitivity on "
                                       "validation data. Test metrics are from the model cards: accuracy, sensitivity "
                                       "and specificity at that threshold, on the model's held-out test images. "
                                       + DISCLAIMER, 110),
             fontsize=7, va="top")
    return fig


def write_case_pdf(path: str | Path, record: TriageRecord, infos: list[ModelInfo],
                   heatmaps: dict[str, np.ndarray] | None = None) -> Path:
    with PdfPages(path) as pdf:
        pdf.savefig(draw_case_page(Figure(figsize=A4), record, infos, heatmaps))
    return Path(path)


def write_batch_pdf(path: str | Path, records: list[TriageRecord], infos: list[ModelInfo], title: str = "Batch report",
                    case_pages: bool = True) -> Path:
    """Summary table of every case (most suspicious first), then one page per case."""
    names = [i.name for i in infos if i.available] or sorted({p.name for r in records for p in r.predictions})
    header = ["file", *names, "mean", "ensemble", "consensus", "quality", "label", "rev."]
    rows = []
    for r in records:
        by, c = {p.name: p for p in r.predictions}, r.consensus
        rows.append([_clip(r.file_name, 34), *[f"{by[n].p_malignant:.2f}{'*' if by[n].label == 'malignant' else ''}"
                                         if n in by else "-" for n in names],
                     f"{c.mean_p_malignant:.2f}",
                     f"{c.ensemble_p_malignant:.2f}{'*' if c.ensemble_label == 'malignant' else ''}"
                     if c.ensemble_label else "-", c.label, _clip(r.quality_label, 27),
                     r.clinician_label or "", "yes" if r.reviewed else ""])
    # file, each model, mean, ensemble, consensus, quality, label, reviewed: room for the words, not equal columns
    widths = [0.21, *[0.07] * len(names), 0.06, 0.075, 0.14, 0.19, 0.075, 0.04]
    widths = [w / max(1.0, sum(widths)) for w in widths]
    with PdfPages(path) as pdf:
        for start in range(0, max(len(rows), 1), ROWS_PER_PAGE):
            fig = Figure(figsize=A4)
            _header(fig, f"{title} — {len(records)} case(s)")
            ax = fig.add_axes([0.04, 0.05, 0.92, 0.85])
            ax.axis("off")
            chunk = rows[start : start + ROWS_PER_PAGE] or [["(no cases)"] + [""] * (len(header) - 1)]
            table = ax.table(cellText=chunk, colLabels=header, loc="upper center", cellLoc="left", colWidths=widths)
            table.auto_set_font_size(False)
            table.set_fontsize(6.5)
            table.scale(1, 1.2)
            fig.text(0.06, 0.03, "* = above that model's (or the ensemble's) threshold. Ensemble: the models' mean, "
                                 "calibrated on validation data. Sorted by mean P(malignant).", fontsize=7)
            pdf.savefig(fig)
        if case_pages:
            for r in records:
                pdf.savefig(draw_case_page(Figure(figsize=A4), r, infos))
    return Path(path)
