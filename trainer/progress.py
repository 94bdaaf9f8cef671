"""Progress events and the Keras callback that reports them and honours a stop request.

Job bodies everywhere (command line, desktop worker) take ``should_stop()`` and
``on_progress(event)``; this module is how training speaks through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ProgressEvent:
    stage: str  # "data" | "features" | "train" | "evaluate" | "model_done" | "done" | "log"
    model: str | None = None
    message: str = ""
    epoch: int | None = None  # 1-based
    epochs: int | None = None
    step: int | None = None  # 1-based
    steps: int | None = None
    eta_s: float | None = None
    logs: dict = field(default_factory=dict)


ProgressFn = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    return None


def never_stop() -> bool:
    return False


class TrainingCancelled(Exception):
    """Raised inside a job when ``should_stop()`` turned true; the caller discards partial output."""
