"""The lesion follow-up report (a lesion's visits side by side, their risks, dates and notes, and the risk
over time) and the patient summary (every lesion with its latest visit), as PDF for the record.
Matplotlib on plain Figures, no Qt: the lesion view draws its chart with the same function."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from melanoma_desktop.core.clinicians import clinic_name
from melanoma_desktop.core.patients import lesion_changes
from melanoma_desktop.core.report import A4, _header, signature_line
from melanoma_desktop.core.triage import original_image
from melanoma_desktop.core.wording import SCORE_NOTE
from trainer.errors import ImageDecodeError

VISITS_PER_PAGE = 4


def draw_risk_over_time(fig: Figure, visits: list[dict], marks: list[str], flag_line: float | None, ax=None):
    ax = ax or fig.subplots()
    points = [(i, v["risk"]) for i, v in enumerate(visits) if v["risk"] is not None]
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", color="#b3261e")
    for i, mark in enumerate(marks):
        if mark and visits[i]["risk"] is not None:
            last = i == len(visits) - 1  # the newest visit's note goes to its left, inside the chart
            ax.annotate("▲ " + mark, (i, visits[i]["risk"]), textcoords="offset points", xytext=(-4 if last else 4, 6),
                        ha="right" if last else "left", fontsize=7)
    if flag_line is not None:
        ax.axhline(flag_line, color="#000", linewidth=1, linestyle="--", label="flag line")
        ax.legend(fontsize=7, loc="upper left")
    ax.set_xticks(range(len(visits)), [v["date"] for v in visits], fontsize=7)
    ax.set_ylim(0, 1)
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))  # 0%-100%, as every other screen says it
    ax.set_ylabel("melanoma risk score", fontsize=8)
    ax.set_title("The lesion over time", fontsize=9)
    return ax


def _risk_text(visit: dict) -> str:
    if not visit["assessable"]:
        return "cannot assess"
    if visit["risk"] is None:
        return "no combined risk"
    return f"risk {visit['risk']:.0%}" + (", FLAGGED" if visit["flagged"] else "")


def _image(visit: dict):
    try:
        return original_image(visit["path"], 1200)
    except (OSError, ImageDecodeError):
        return None


def flag_line_of(db, visits: list[dict]) -> float | None:
    return next((db.get(v["case_id"]).consensus.flag_line for v in reversed(visits) if v["assessable"]), None)


def write_lesion_pdf(path: str | Path, db, patient_id: str, lesion: str) -> Path:
    """One lesion's follow-up: the risk over time, then its visits side by side (four to a page)."""
    history = db.history(patient_id)
    entry = next((e for e in (history or {}).get("lesions", []) if e["lesion"] == lesion), None)
    if entry is None:
        raise KeyError(f"no lesion {lesion!r} of patient {patient_id!r}")
    visits, marks = entry["visits"], lesion_changes(entry["visits"])
    clinic = clinic_name(Path(db.path).parent)
    with PdfPages(path) as pdf:
        for start in range(0, max(len(visits), 1), VISITS_PER_PAGE):
            fig = Figure(figsize=A4)
            _header(fig, f"Lesion follow-up — {_patient_title(history)}", clinic)
            site = f" ({entry['body_site']})" if entry["body_site"] else ""
            excised = f"excised: {entry['outcome'] or 'yes'}" if entry["excised"] else "not excised"
            n = len(visits)
            fig.text(0.06, 0.905, f"Lesion {lesion}{site}; {n} visit{'' if n == 1 else 's'}; {excised}", fontsize=9,
                     va="top")
            if start == 0:
                draw_risk_over_time(fig, visits, marks, flag_line_of(db, visits), fig.add_axes([0.1, 0.70, 0.84, 0.17]))
            chunk = list(enumerate(visits))[start:start + VISITS_PER_PAGE]
            for k, (i, visit) in enumerate(chunk):
                x = 0.06 + (k % 2) * 0.46
                y = 0.38 if k < 2 else 0.06
                ax = fig.add_axes([x, y + 0.05, 0.42, 0.22])
                ax.axis("off")
                image = _image(visit)
                if image is not None:
                    ax.imshow(image)
                record = db.get(visit["case_id"])
                caption = [f"{visit['date']}: {_risk_text(visit)}" + (f" — ▲ {marks[i]}" if marks[i] else ""),
                           f"assessment: {record.clinician_label or '(none)'}; management: "
                           f"{record.management or '(none)'}", "note: " + (record.note or "(none)")]
                fig.text(x, y + 0.04, "\n".join(textwrap.fill(c, 62) for c in caption), fontsize=7, va="top")
            fig.text(0.06, 0.045, textwrap.fill(SCORE_NOTE, 140), fontsize=6.5, color="#333")
            signature_line(fig, 0.035)
            pdf.savefig(fig)
    return Path(path)


def _patient_title(history: dict) -> str:
    """'Ann Lee (ID P4)', or the ID alone when no name is kept."""
    name = history.get("name") or ""
    return f"{name} (ID {history['patient_id']})" if name else f"ID {history['patient_id']}"


def write_patient_summary_pdf(path: str | Path, db, patient_id: str) -> Path:
    """Every lesion of a patient with its number of visits, its latest visit and any change marked there."""
    history = db.history(patient_id)
    if history is None:
        raise KeyError(f"no patient {patient_id!r}")
    rows = [["lesion", "body site", "visits", "latest visit", "latest result", "change", "excised"]]
    for entry in history["lesions"]:
        visits = entry["visits"]
        last = visits[-1] if visits else None
        marks = lesion_changes(visits)
        rows.append([entry["lesion"], entry["body_site"] or "", str(len(visits)), last["date"] if last else "",
                     _risk_text(last) if last else "", marks[-1] if marks else "",
                     (entry["outcome"] or "yes") if entry["excised"] else ""])
    with PdfPages(path) as pdf:
        fig = Figure(figsize=A4)
        _header(fig, f"Patient summary — {_patient_title(history)}", clinic_name(Path(db.path).parent))
        born = ", ".join(x for x in (f"born {history['birth_date']}" if history.get("birth_date") else "",
                                     history.get("sex") or "") if x)
        if born:
            fig.text(0.06, 0.905, born, fontsize=9, va="top")
        ax = fig.add_axes([0.04, 0.2, 0.92, 0.68])
        ax.axis("off")
        table = ax.table(cellText=rows[1:] or [["(no lesions)"] + [""] * 6], colLabels=rows[0], loc="upper center",
                         cellLoc="left", colWidths=[0.2, 0.13, 0.07, 0.13, 0.2, 0.17, 0.1])
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1, 1.3)
        fig.text(0.06, 0.07, textwrap.fill(SCORE_NOTE, 140), fontsize=6.5, color="#333")
        signature_line(fig, 0.05)
        pdf.savefig(fig)
    return Path(path)
