"""Figures for bundles and the metrics panel, drawn on plain ``matplotlib.figure.Figure`` objects
(no pyplot global state), so the same functions serve PNG files here and Qt canvases in the app."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def draw_confusion_matrix(fig: Figure, matrix, class_names, title: str = "") -> Figure:
    """Counts and row-normalised percentages side by side."""
    matrix = np.asarray(matrix, dtype=float)
    rows = matrix.sum(axis=1, keepdims=True)
    normalised = np.divide(matrix, rows, out=np.zeros_like(matrix), where=rows > 0)
    axes = fig.subplots(1, 2)
    for ax, data, fmt, sub in ((axes[0], matrix, "{:.0f}", "counts"), (axes[1], normalised, "{:.0%}", "row-normalised")):
        ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(data):
            ax.text(j, i, fmt.format(value), ha="center", va="center",
                    color="white" if normalised[i, j] > 0.5 else "black", fontsize=11)
        ax.set_xticks(range(len(class_names)), class_names)
        ax.set_yticks(range(len(class_names)), class_names)
        ax.set_xlabel("predicted")
        ax.set_title(sub, fontsize=10)
    axes[0].set_ylabel("true")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def draw_learning_curves(fig: Figure, history: dict[str, list[float]], title: str = "",
                         fine_tune_from: int | None = None) -> Figure:
    """Loss and accuracy per epoch, training and validation; a dotted line where fine-tuning began."""
    axes = fig.subplots(1, 2)
    for ax, metric in zip(axes, ("loss", "accuracy")):
        if fine_tune_from:
            ax.axvline(fine_tune_from + 0.5, color="grey", linestyle=":", label="fine-tuning starts")
        for key, style in ((metric, "-o"), (f"val_{metric}", "--s")):
            values = history.get(key) or []
            if values:
                ax.plot(range(1, len(values) + 1), values, style, markersize=3,
                        label="validation" if key.startswith("val_") else "training")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    if hasattr(fig, "tight_layout"):  # a SubFigure (wizard's live curves) lays out with its parent
        fig.tight_layout()
    return fig


def draw_roc(ax, fpr, tpr, auc: float, operating_point: tuple[float, float] | None = None, label: str = ""):
    ax.plot(fpr, tpr, label=f"{label} AUC {auc:.3f}".strip())
    ax.plot([0, 1], [0, 1], ":", color="grey")
    if operating_point is not None:
        ax.plot([operating_point[0]], [operating_point[1]], "o", color="crimson", label="operating point")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.legend(fontsize=8, loc="lower right")
    return ax


def save_figure(fig: Figure, path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
