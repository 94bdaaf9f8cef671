"""The app's training job (no Qt): runs ``train-worker`` in a child process, relays its progress, and reads the
finished run back as the trainer's own ``RunResult``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from trainer.progress import ProgressEvent, TrainingCancelled
from trainer.training.rundir import RunResult, read_run_result


def worker_command(config_path: Path) -> list[str]:
    if getattr(sys, "frozen", False):  # the packaged app runs itself as the worker
        return [sys.executable, "train-worker", str(config_path)]
    return [sys.executable, "-m", "melanoma_desktop", "train-worker", str(config_path)]


def train_in_child(config, should_stop, on_progress) -> RunResult:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / "wizard_config.json"
    config_path.write_text(json.dumps(config.to_json(), indent=2), encoding="utf-8")
    log_path = out / "worker.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(worker_command(config_path), stdout=subprocess.PIPE, stderr=log, text=True)
        error, stop_sent = "", False
        for line in proc.stdout:
            if should_stop() and not stop_sent:
                proc.send_signal(signal.SIGTERM)
                stop_sent = True
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("stage") == "error":
                error = event.get("message", "")
                continue
            on_progress(ProgressEvent(**{k: v for k, v in event.items() if k in ProgressEvent.__dataclass_fields__}))
        code = proc.wait()
    if stop_sent or code == 3:
        raise TrainingCancelled("training was cancelled")
    if code != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(error or f"the training process ended with code {code}: {' | '.join(tail)}")
    return read_run_result(out, config.models)
