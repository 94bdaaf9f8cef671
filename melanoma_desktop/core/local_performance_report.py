"""Local performance on paper and on screen: the table's rows, the risk-against-outcome chart and the PDF
(a header with the clinic's name, the verdict, a table with its column headings, the melanomas the flag
missed, the chart with its whole title, a signature line)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.figure import Figure

from melanoma_desktop.core.report import A4, _header, signature_line
from melanoma_desktop.core.wording import percent_with_range

COLUMNS = ["score", "cases", "melanomas", "caught (95 % range)", "benign cleared (95 % range)", "ranking (95 % range)"]


def score_rows(result, names: dict[str, str] | None = None) -> list[list[str]]:
    """One row per score (the combined risk first, then each model by the name clinicians read); a ranking whose
    range reaches below 0.6 is marked near chance."""
    names = names or {}
    rows = []
    for score in ([result.combined] if result.combined else []) + list(result.models):
        ranking = ("n/a" if score.auc != score.auc else
                   f"{score.auc:.2f} ({score.auc_ci[0]:.2f}–{score.auc_ci[1]:.2f})")
        if score.auc_ci[0] == score.auc_ci[0] and score.auc_ci[0] < 0.6:
            ranking += " ⚠ near chance"
        rows.append([names.get(score.name, score.name), str(score.n), str(score.melanomas),
                     percent_with_range(score.sensitivity, score.sensitivity_ci),
                     percent_with_range(score.specificity, score.specificity_ci), ranking])
    return rows


def draw_calibration_curve(fig: Figure, result, ax=None) -> Figure:
    ax = ax or fig.subplots()
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", label="as predicted")
    score = result.combined
    if score is not None and score.calibration_curve:
        xs = [b["predicted"] for b in score.calibration_curve]
        ys = [b["observed"] for b in score.calibration_curve]
        ax.plot(xs, ys, "o-", color="#b3261e", label="your confirmed cases")
        for x, y, b in zip(xs, ys, score.calibration_curve):
            ax.annotate(str(b["n"]), (x, y), textcoords="offset points", xytext=(5, 5), fontsize=7, color="#555")
    if score is not None:
        ax.axvline(score.flag_line, color="#000", linewidth=1, label="flag line")
    from matplotlib.ticker import PercentFormatter

    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.1)  # room for the counts at 100 %
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel("combined risk (predicted)", fontsize=8)
    ax.set_ylabel("share that were melanomas", fontsize=8)
    ax.set_title("Risk against the share of melanomas among your cases\n(numbers: cases in each group; on the "
                 "dashed line the risk would match)", fontsize=8.5)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def write_local_performance_pdf(path: str | Path, result, line_in_use: str, names: dict[str, str] | None = None,
                                clinic: str = "") -> Path:
    """One A4 page: what the flag line did on the clinic's confirmed cases, as the dialog shows it."""
    from matplotlib.backends.backend_pdf import PdfPages

    fig = Figure(figsize=A4)
    _header(fig, "Local performance on your confirmed cases", clinic)
    text = [line_in_use, textwrap.fill(result.verdict(), 110)]
    if result.warning:
        text.append(textwrap.fill(result.warning, 110))
    fig.text(0.06, 0.905, "\n".join(text), fontsize=8.5, va="top")
    rows = score_rows(result, names)
    table_ax = fig.add_axes([0.06, 0.67, 0.88, 0.14])
    table_ax.axis("off")
    table = table_ax.table(cellText=rows or [["(no confirmed cases)", "", "", "", "", ""]], colLabels=COLUMNS,
                           loc="upper center", cellLoc="left", colWidths=[0.17, 0.08, 0.11, 0.21, 0.23, 0.20])
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.35)
    for column in range(len(COLUMNS)):
        table[0, column].set_text_props(weight="bold")
        table[0, column].set_facecolor("#f0f0f0")
    missed = [f"{m['file']} — risk {m['risk']:.0%}" for m in result.missed[:12]]
    more = len(result.missed) - len(missed)
    fig.text(0.06, 0.64, "Melanomas the flag missed: " + (", ".join(missed) + (f" and {more} more" if more > 0 else "")
                                                          if missed else "none"), fontsize=7.5, va="top", wrap=True)
    draw_calibration_curve(fig, result, fig.add_axes([0.14, 0.17, 0.72, 0.38]))
    signature_line(fig, 0.08)
    with PdfPages(path) as pdf:
        pdf.savefig(fig)
    return Path(path)
