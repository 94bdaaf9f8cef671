"""PDF reports for a clinical record: one page per case, and a batch report of a (filtered) worklist.

Each case page leads with the combined melanoma risk and the flag (or why the image could not be
assessed), shows the original image at its own aspect ratio, then the clinician's assessment, each
model's detail and heatmaps; the file path, checksum and versions sit in a small "for audit" footer.
Drawn with matplotlib on plain Figures (no pyplot), so they work headless and in the packaged app.
``write_batch_pdf`` takes ``should_stop`` / ``on_progress`` so the window can run it as a job.
"""

from __future__ import annotations

import io
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from PIL import Image

from melanoma_desktop import DISCLAIMER, __version__
from melanoma_desktop.core.heatmaps import overlay
from melanoma_desktop.core.records import ModelInfo, TriageRecord, worklist_order
from melanoma_desktop.core.triage import model_input, original_image
from melanoma_desktop.core.wording import SCORE_NOTE, local_time_text, patient_words, short_model_name
from trainer.errors import ImageDecodeError

A4 = (8.27, 11.69)
A4_LANDSCAPE = (A4[1], A4[0])  # the batch report's summary table: every column readable
ROWS_PER_PAGE = 28
REPORT_IMAGE_MAX_SIDE = 2400  # the original's pixels on the page (300 dpi over 20 cm)
FLAG_RED, CALM_BLUE = "#b3261e", "#1f5faa"


class ReportCancelled(Exception):
    """The batch report was cancelled; the partial file is removed."""


def _original_for(record: TriageRecord) -> np.ndarray | None:
    try:
        return original_image(record.path, REPORT_IMAGE_MAX_SIDE)
    except (ImageDecodeError, OSError):
        if record.thumbnail_png:
            return np.asarray(Image.open(io.BytesIO(record.thumbnail_png)).convert("RGB"))
        return None


def _model_input_for(record: TriageRecord) -> np.ndarray | None:
    try:
        return model_input(record.path)
    except (ImageDecodeError, OSError):
        return None


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _header(fig: Figure, title: str, clinic: str = "") -> None:
    fig.text(0.06, 0.965, title, fontsize=14, weight="bold", va="top")
    fig.text(0.06, 0.94, DISCLAIMER, fontsize=9, color=FLAG_RED, weight="bold", va="top")
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    first = _clip(clinic, 60) if clinic else f"printed {stamp}"
    second = f"printed {stamp} · Melanoma triage {__version__}" if clinic else f"Melanoma triage {__version__}"
    fig.text(0.94, 0.99, f"{first}\n{second}", fontsize=7, ha="right", va="top", color="#555")  # above the title


def signature_line(fig: Figure, y: float, reviewed_by: str = "") -> None:
    """Reviewed by (the clinician's name when the record has one), signature and date, to sign on paper."""
    fig.text(0.06, y, f"Reviewed by: {reviewed_by or '_' * 30}        Signature: {'_' * 30}        Date: "
                      f"{'_' * 14}", fontsize=8.5, va="top")


def risk_sentence(record: TriageRecord) -> str:
    """The combined risk and the flag in one sentence, as the screen says it."""
    c = record.consensus
    if not record.assessable:
        return f"Cannot assess this image: {record.reason}. No risk is given."
    if c.risk is None:
        return (("FLAGGED" if record.flagged else "Not flagged") + f": no combined risk for these model versions; "
                f"{c.n_malignant} of {c.n_models} models are above their own flag line.")
    verdict = "FLAGGED" if record.flagged else "not flagged"
    which = (f"the models adapted to this clinic, {c.site_rule_version}" if c.adapted else
             f"the clinic's flag line {c.site_rule_version}" if c.site_rule_version else "the shipped flag line")
    return f"Melanoma risk score {c.risk:.0%} — {verdict} ({which}, {c.flag_line:.0%})."


def draw_case_page(fig: Figure, record: TriageRecord, infos: list[ModelInfo],
                   heatmaps: dict[str, np.ndarray] | None = None, patient: str = "", clinician: str = "",
                   examined: str = "", clinic: str = "") -> Figure:
    _header(fig, f"Case report — {_clip(record.file_name, 40)}", clinic)
    if record.patient_id:  # a case filed under a patient: the report says whose, which lesion and which visit
        patient = patient or patient_words(record)
        examined = examined or record.visit_date
    clinician = clinician or record.reviewed_by
    fig.text(0.06, 0.905, "Patient:", fontsize=8.5, va="top", weight="bold")
    fig.text(0.16, 0.905, _clip(patient, 110) if patient else "_" * 40, fontsize=8.5, va="top",
             color="#000" if patient else "#999")
    for x, name, value in ((0.06, "Clinician", clinician), (0.52, "Date of examination", examined)):
        fig.text(x, 0.885, f"{name}:", fontsize=8.5, va="top", weight="bold")
        fig.text(x + (0.10 if name == "Clinician" else 0.20), 0.885, value or "_" * 28, fontsize=8.5, va="top",
                 color="#000" if value else "#999")
    original = _original_for(record)
    ax = fig.add_axes([0.06, 0.56, 0.42, 0.30])
    ax.axis("off")
    if original is not None:
        ax.imshow(original, interpolation="lanczos")  # its own aspect ratio: imshow keeps square pixels
    c = record.consensus
    colour = "#555" if not record.assessable else (FLAG_RED if record.flagged else CALM_BLUE)
    lines = [textwrap.fill(risk_sentence(record), 40)]
    if record.assessable and c.weights_text():
        lines.append(textwrap.fill(c.weights_text().capitalize() + ".", 40))
    if record.disagreement:
        lines.append(textwrap.fill("The models read this image differently (one clearly above its own flag "
                                   "line, another clearly below): the combined risk is less certain.", 40))
    if record.assessable and not record.flagged:
        lines.append("A low score does not rule out melanoma.")
    if record.assess_anyway and not record.quality_passed:
        lines.append(textwrap.fill(f"Assessed anyway at the clinician's request, although {record.reason}.", 40))
    fig.text(0.52, 0.86, "\n".join(lines), fontsize=10.5, va="top", weight="bold", color=colour)
    review = [f"Clinician's assessment: {record.clinician_label or '(none)'}",
              f"Management: {record.management or '(none)'}",
              f"Confirmed diagnosis: {record.confirmed_label or '(none)'}"
              + (f" ({record.confirmed_source})" if record.confirmed_label and record.confirmed_source else ""),
              f"Marked reviewed in the worklist: {'yes' if record.reviewed else 'no'}",
              "Note: " + (record.note or "(none)")]
    fig.text(0.52, 0.70, "\n".join(textwrap.fill(line, 52, subsequent_indent="  ") for line in review), fontsize=8.5,
             va="top")
    _model_table(fig, record, infos)
    resized = _model_input_for(record)
    if heatmaps and resized is not None and record.assessable:
        names = [p.name for p in record.predictions if p.name in heatmaps]
        shown_as = {i.name: short_model_name(i.display_name) for i in infos}
        for k, name in enumerate(names):
            hax = fig.add_axes([0.06 + k * 0.30, 0.17, 0.26, 0.20])
            hax.imshow(overlay(resized, heatmaps[name], 0.6))
            hax.axis("off")
            title = shown_as.get(name, name)
            hax.set_title(f"{title}: where its risk came from" if heatmaps[name].max() > 1e-3 else
                          f"{title}: no region raises its risk", fontsize=7.5)
        fig.text(0.06, 0.165, textwrap.fill("Heatmaps: warm colours are the regions that raised a model's risk "
                                            "most; they can point at artefacts as well as at the lesion.", 140),
                 fontsize=6.5, va="top", color="#333")
    fig.text(0.06, 0.135, textwrap.fill(SCORE_NOTE + " The three models' answers make one score with one flag line, "
                                        "set to catch 95 % of the melanomas in the images the models were checked "
                                        "on; at a clinic it can catch fewer. " + DISCLAIMER, 120), fontsize=7,
             va="top")
    signature_line(fig, 0.085, record.reviewed_by if record.reviewed else "")
    versions = ", ".join(f"{p.name} {p.version}" for p in record.predictions)
    audit = [f"For audit — file: {record.path}", f"SHA-256: {record.sha256}",
             f"case added {local_time_text(record.created_at)}; models: {versions}"]
    fig.text(0.06, 0.05, "\n".join(textwrap.fill(line, 150) for line in audit), fontsize=5.5, va="top",
             color="#666", family="monospace")
    return fig


def _model_table(fig: Figure, record: TriageRecord, infos: list[ModelInfo]) -> None:
    by_info = {i.name: i for i in infos}
    rows = [["model", "score", "its own line", "vs its line", "melanomas found*", "benign cleared*"]]
    trained_on = []
    for p in record.predictions:
        info = by_info.get(p.name, ModelInfo(p.name, p.name))
        m = info.test_metrics
        found = f"{m['sensitivity']:.0%}" if m.get("sensitivity") is not None else "n/a"
        cleared = f"{m['specificity']:.0%}" if m.get("specificity") is not None else "n/a"
        shown = record.assessable
        rows.append([short_model_name(info.display_name),
                     f"{p.p_malignant:.0%}" if shown else "—", f"{p.threshold:.0%}",
                     ("above" if p.label == "malignant" else "below") if shown else "", found, cleared])
        if info.training:
            trained_on.append(textwrap.fill(f"{short_model_name(info.display_name)} learnt from "
                                            f"{info.trained_on_words()}", 130, subsequent_indent="    "))
    trained_on.append("Each model has its own flag line; the flag above comes from the combined score and its "
                      "line alone, which weighs and recalibrates the three.")
    trained_on.append("* on the public archives' test images, each model at its own line (a clinic's own cases can "
                      "differ: Local performance measures them).")
    fig.text(0.06, 0.535, "Each model (detail)", fontsize=9, weight="bold", va="top")
    table_ax = fig.add_axes([0.06, 0.44, 0.88, 0.08])
    table_ax.axis("off")
    table = table_ax.table(cellText=rows, loc="upper center", cellLoc="left",
                           colWidths=[0.26, 0.10, 0.15, 0.13, 0.18, 0.18])
    for column in range(len(rows[0])):  # the heading row, set apart
        table[0, column].set_text_props(weight="bold")
        table[0, column].set_facecolor("#f0f0f0")
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.3)
    fig.text(0.06, 0.425, "\n".join(trained_on), fontsize=6.5, va="top", color="#333")


def write_case_pdf(path: str | Path, record: TriageRecord, infos: list[ModelInfo],
                   heatmaps: dict[str, np.ndarray] | None = None, **fields) -> Path:
    with PdfPages(path) as pdf:
        pdf.savefig(draw_case_page(Figure(figsize=A4), record, infos, heatmaps, **fields))
    return Path(path)


def batch_rows(records: list[TriageRecord], names: list[str],
               headings: dict[str, str] | None = None) -> tuple[list[str], list[list[str]]]:
    """The summary table: one row per case, highest risk first; ``headings`` names the model columns as a
    clinician reads them (model name -> e.g. "MobileNetV2")."""
    header = ["file", "patient", "visit, lesion", "risk", "flag", "models", "assessment", "confirmed", "rev.",
              *[(headings or {}).get(n, n) for n in names]]
    rows = []
    for r in sorted(records, key=worklist_order):
        by = {p.name: p for p in r.predictions}
        rows.append([_clip(r.file_name, 26), _clip(r.patient_id or "", 12),
                     _clip(f"{r.visit_date} {r.lesion_label}", 28) if r.patient_id else "",
                     "cannot assess" if not r.assessable else ("—" if r.risk is None else f"{r.risk:.0%}"),
                     "FLAGGED" if r.flagged else "", "differ" if r.disagreement else "", r.clinician_label or "",
                     r.confirmed_label or "", "yes" if r.reviewed else "",
                     *[(f"{by[n].p_malignant:.0%}{'*' if by[n].label == 'malignant' else ''}" if r.assessable else "")
                       if n in by else "-" for n in names]])
    return header, rows


def write_batch_pdf(path: str | Path, records: list[TriageRecord], infos: list[ModelInfo], title: str = "Batch report",
                    case_pages: bool = True, should_stop: Callable[[], bool] = lambda: False,
                    on_progress: Callable[[tuple[int, int]], None] = lambda done_total: None,
                    clinic: str = "") -> Path:
    """Summary table of every case (highest combined risk first), then one page per case. Raises
    :class:`ReportCancelled` (and removes the partial file) when ``should_stop()`` turns true."""
    names = [i.name for i in infos if i.available] or sorted({p.name for r in records for p in r.predictions})
    headings = {i.name: short_model_name(i.display_name) for i in infos}
    header, rows = batch_rows(records, names, headings)
    widths = [0.14, 0.08, 0.15, 0.08, 0.065, 0.055, 0.075, 0.085, 0.03, *[0.24 / max(len(names), 1)] * len(names)]
    lines = sorted({f"{r.consensus.flag_line:.0%}" for r in records if r.assessable and r.consensus.flag_line})
    widths = [0.96 * w / sum(widths) for w in widths]  # the table inside the page's margins
    ordered = sorted(records, key=worklist_order)
    total = (len(ordered) if case_pages else 0) + 1
    try:
        with PdfPages(path) as pdf:
            for start in range(0, max(len(rows), 1), ROWS_PER_PAGE):
                fig = Figure(figsize=A4_LANDSCAPE)
                _header(fig, f"{title} — {len(records)} case{'' if len(records) == 1 else 's'}", clinic)
                ax = fig.add_axes([0.04, 0.05, 0.92, 0.85])
                ax.axis("off")
                chunk = rows[start : start + ROWS_PER_PAGE] or [["(no cases)"] + [""] * (len(header) - 1)]
                table = ax.table(cellText=chunk, colLabels=header, loc="upper center", cellLoc="left",
                                 colWidths=widths)
                table.auto_set_font_size(False)
                table.set_fontsize(6.5)
                table.scale(1, 1.2)
                fig.text(0.06, 0.045, "Risk: the models' combined melanoma risk score; FLAGGED at or above its "
                                      f"flag line ({' / '.join(lines) or 'none'}). Models: 'differ' = the models read "
                                      "the image differently (⚠ on screen). Per-model columns: * = above that "
                                      "model's own line.\nHighest risk first; images that cannot be assessed last. "
                                      f"Page {start // ROWS_PER_PAGE + 1} of the summary.", fontsize=7, va="top")
                pdf.savefig(fig)
            on_progress((1, total))
            if case_pages:
                for done, record in enumerate(ordered, start=2):
                    if should_stop():
                        raise ReportCancelled("batch report cancelled")
                    pdf.savefig(draw_case_page(Figure(figsize=A4), record, infos))
                    on_progress((done, total))
    except ReportCancelled:
        Path(path).unlink(missing_ok=True)
        raise
    return Path(path)
