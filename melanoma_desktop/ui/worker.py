"""One small worker primitive: a job body runs on the thread pool, reporting through signals.

A job body is a plain function ``body(should_stop, on_progress) -> result``. Progress, the
result, errors and cancellation come back to the GUI thread as signals; errors are routed to one
place (``JobRunner.sig_job_failed``). ``JobRunner`` runs at most one TensorFlow-heavy job at a time.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class JobSignals(QObject):
    sig_progress = Signal(object)
    sig_finished = Signal(object)  # the body's return value
    sig_failed = Signal(str, str)  # message, traceback
    sig_cancelled = Signal()
    sig_done = Signal()  # always last, whatever the outcome


class Job(QRunnable):
    def __init__(self, name: str, body: Callable[[Callable[[], bool], Callable[[Any], None]], Any]):
        super().__init__()
        self.setAutoDelete(False)
        self.name = name
        self.body = body
        self.signals = JobSignals()
        self._stop = threading.Event()

    def cancel(self) -> None:
        self._stop.set()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        try:
            result = self.body(self.should_stop, self.signals.sig_progress.emit)
            if self._stop.is_set():
                self.signals.sig_cancelled.emit()
            else:
                self.signals.sig_finished.emit(result)
        except Exception as exc:  # every failure reaches the GUI as a message, never a crash
            from trainer.progress import TrainingCancelled

            if isinstance(exc, TrainingCancelled) or self._stop.is_set():
                self.signals.sig_cancelled.emit()
            else:
                self.signals.sig_failed.emit(_message(exc), traceback.format_exc())
        finally:
            self.signals.sig_done.emit()


def _message(exc: BaseException) -> str:
    from trainer.errors import TrainerError

    if isinstance(exc, TrainerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class JobRunner(QObject):
    """Starts jobs; a heavy job waits until the previous heavy one is done (TensorFlow is not shared)."""

    sig_job_failed = Signal(str, str, str)  # job name, message, traceback
    sig_busy_changed = Signal(bool)

    def __init__(self, parent=None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self._queue: list[Job] = []
        self._active: Job | None = None
        self._jobs: set[Job] = set()

    @property
    def busy(self) -> bool:
        return self._active is not None

    @property
    def active(self) -> Job | None:
        return self._active

    def submit(self, job: Job, heavy: bool = True) -> Job:
        self._jobs.add(job)
        job.signals.sig_failed.connect(lambda msg, tb, name=job.name: self.sig_job_failed.emit(name, msg, tb))
        job.signals.sig_done.connect(lambda job=job, heavy=heavy: self._on_job_done(job, heavy))
        if not heavy:
            self.pool.start(job)
        elif self._active is None:
            self._start(job)
        else:
            self._queue.append(job)
        return job

    def _start(self, job: Job) -> None:
        self._active = job
        self.sig_busy_changed.emit(True)
        self.pool.start(job)

    def _on_job_done(self, job: Job, heavy: bool) -> None:
        self._jobs.discard(job)
        if heavy and job is self._active:
            self._active = None
            if self._queue:
                self._start(self._queue.pop(0))
            else:
                self.sig_busy_changed.emit(False)

    def cancel_all(self) -> None:
        for job in list(self._queue):
            job.cancel()
        self._queue.clear()
        if self._active is not None:
            self._active.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)
