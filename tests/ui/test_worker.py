"""The one worker primitive: results, progress, cancel and errors each reach the GUI thread, and every failure
is routed to the runner's one error signal with the job's name, a message a person can read, and the traceback."""

import threading

from melanoma_desktop.ui.worker import Job, JobRunner
from trainer.errors import BundleError


def test_a_result_and_its_progress_come_back_on_the_gui_thread(qtbot):
    runner = JobRunner()
    seen = []

    def body(should_stop, on_progress):
        on_progress("half way")
        return threading.current_thread().name

    job = Job("Counting", body)
    job.signals.sig_progress.connect(lambda p: seen.append((p, threading.current_thread() is threading.main_thread())))
    with qtbot.waitSignal(job.signals.sig_finished, timeout=5000) as blocker:
        runner.submit(job, heavy=False)
    assert blocker.args[0].startswith("jobs") and seen == [("half way", True)]


def test_every_failure_reaches_the_one_error_signal_with_a_readable_message(qtbot):
    runner = JobRunner()
    failures, done = [], []
    runner.sig_job_failed.connect(lambda name, message, tb: failures.append((name, message, tb)))

    def trainer_error(should_stop, on_progress):
        raise BundleError("card.json: required field 'threshold' is missing; re-export the bundle with the trainer")

    def bug(should_stop, on_progress):
        return {}["missing"]

    for name, body in (("Loading models", trainer_error), ("Classifying images", bug)):
        job = Job(name, body)
        job.signals.sig_done.connect(lambda: done.append(True))
        with qtbot.waitSignal(job.signals.sig_failed, timeout=5000):
            runner.submit(job)  # the heavy lane, like the real ones
    qtbot.waitUntil(lambda: len(failures) == 2 and len(done) == 2, timeout=5000)
    (name1, message1, tb1), (name2, message2, tb2) = failures
    assert name1 == "Loading models" and message1.startswith("card.json: required field 'threshold'")
    assert "Traceback" in tb1 and "BundleError" in tb1
    assert name2 == "Classifying images" and message2 == "KeyError: 'missing'"  # an unexpected error: its type too


def test_a_cancelled_job_says_cancelled_not_failed(qtbot):
    runner = JobRunner()
    failures = []
    runner.sig_job_failed.connect(lambda *args: failures.append(args))
    started = threading.Event()

    def body(should_stop, on_progress):
        started.set()
        while not should_stop():
            threading.Event().wait(0.01)
        raise RuntimeError("stopped half way")  # whatever a stopped body raises, it was a cancel

    job = Job("Long work", body)
    with qtbot.waitSignal(job.signals.sig_cancelled, timeout=5000):
        runner.submit(job, heavy=False)
        started.wait(5)
        job.cancel()
    assert failures == [] and runner.wait(5000)
