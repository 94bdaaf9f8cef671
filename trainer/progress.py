"""Progress events and the Keras callback that reports them and honours a stop request.

Job bodies everywhere (command line, desktop worker) take ``should_stop()`` and
``on_progress(event)``; this module is how training speaks through them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import keras


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


class ProgressCallback(keras.callbacks.Callback):
    """Reports every batch and epoch, with an ETA; sets ``model.stop_training`` when asked to stop."""

    def __init__(self, model_name: str, epochs: int, steps: int, on_progress: ProgressFn, should_stop):
        super().__init__()
        self.model_name = model_name
        self.epochs = epochs
        self.steps = steps
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.cancelled = False
        self._epoch = 0
        self._started = time.perf_counter()
        self._epoch_times: list[float] = []
        self._epoch_start = self._started

    def _check_stop(self):
        if self.should_stop():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_start = time.perf_counter()
        self._check_stop()

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        elapsed_epoch = time.perf_counter() - self._epoch_start
        per_step = elapsed_epoch / step
        remaining_steps = (self.steps - step) + (self.epochs - self._epoch) * self.steps
        self.on_progress(
            ProgressEvent("train", self.model_name, epoch=self._epoch, epochs=self.epochs, step=step,
                          steps=self.steps, eta_s=per_step * remaining_steps,
                          logs={k: float(v) for k, v in (logs or {}).items()})
        )
        self._check_stop()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_times.append(time.perf_counter() - self._epoch_start)
        mean = sum(self._epoch_times) / len(self._epoch_times)
        logs = {k: float(v) for k, v in (logs or {}).items()}
        text = " ".join(f"{k}={v:.4f}" for k, v in logs.items())
        self.on_progress(
            ProgressEvent("epoch", self.model_name, message=f"epoch {epoch + 1}/{self.epochs} {text}",
                          epoch=epoch + 1, epochs=self.epochs, eta_s=mean * (self.epochs - epoch - 1), logs=logs)
        )
        self._check_stop()
