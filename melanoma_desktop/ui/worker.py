"""One small worker primitive: a job body runs off the GUI thread, reporting through Qt signals.

A job body is a plain function ``body(should_stop, on_progress) -> result``. Progress, the result,
errors and cancellation come back to the GUI thread as queued signals; errors are routed to one
place (``JobRunner.sig_job_failed``).

TensorFlow work runs on one long-lived Python thread, one job at a time. Not on QThreadPool:
TensorFlow's pybind11 bindings cache a Python thread state per OS thread, and a pool thread whose
Python state PySide drops between jobs made graph tracing crash (segmentation fault, seen here
with the shipped models). Light jobs (no TensorFlow) use a small pool of Python threads.
"""

from __future__ import annotations

import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from trainer.api import TrainerError, TrainingCancelled


class JobSignals(QObject):
    sig_progress = Signal(object)
    sig_finished = Signal(object)  # the body's return value
    sig_failed = Signal(str, str)  # message, traceback
    sig_cancelled = Signal()
    sig_done = Signal()  # always last, whatever the outcome


class Job:
    def __init__(self, name: str, body: Callable[[Callable[[], bool], Callable[[Any], None]], Any]):
        self.name = name
        self.body = body
        self.signals = JobSignals()  # created on the GUI thread: its slots run there
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
            if self._stop.is_set() or _is_cancellation(exc):
                self.signals.sig_cancelled.emit()
            else:
                self.signals.sig_failed.emit(_message(exc), traceback.format_exc())
        finally:
            self.signals.sig_done.emit()


def _is_cancellation(exc: BaseException) -> bool:
    """A training job's own cancellation (trainer.progress's TrainingCancelled, raised by the trainer)."""
    return isinstance(exc, TrainingCancelled)


def _message(exc: BaseException) -> str:
    if isinstance(exc, TrainerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class JobRunner(QObject):
    """Runs jobs: heavy (TensorFlow) ones in order on one thread, light ones beside them."""

    sig_job_failed = Signal(str, str, str)  # job name, message, traceback

    def __init__(self, parent=None):
        super().__init__(parent)
        self._heavy = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tensorflow-jobs")
        self._light = ThreadPoolExecutor(max_workers=2, thread_name_prefix="jobs")
        self._pending: dict[Job, Future] = {}

    def submit(self, job: Job, heavy: bool = True) -> Job:
        job.signals.sig_failed.connect(lambda msg, tb, name=job.name: self.sig_job_failed.emit(name, msg, tb))
        job.signals.sig_done.connect(lambda job=job: self._pending.pop(job, None))
        self._pending[job] = (self._heavy if heavy else self._light).submit(job.run)
        return job

    def cancel_all(self) -> None:
        for job, future in list(self._pending.items()):
            job.cancel()
            if future.cancel():  # had not started: it never runs
                self._pending.pop(job, None)

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for the running jobs (after cancel_all, for a clean exit)."""
        _done, not_done = wait(list(self._pending.values()), timeout=msecs / 1000)
        return not not_done
