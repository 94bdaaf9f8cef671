"""The wizard's training job: runs ``train-worker`` in a child process and relays its progress."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from trainer.progress import ProgressEvent, TrainingCancelled


def worker_command(config_path: Path) -> list[str]:
    if getattr(sys, "frozen", False):  # the packaged app runs itself as the worker
        return [sys.executable, "train-worker", str(config_path)]
    return [sys.executable, "-m", "melanoma_desktop", "train-worker", str(config_path)]


@dataclass
class TrainingOutcome:
    """What the wizard needs of a finished run, read back from the run folder."""

    out: Path
    bundles: dict[str, Path]
    metrics: dict[str, dict]
    test_paths: list[str] = field(default_factory=list)


def read_outcome(out: Path, models) -> TrainingOutcome:
    bundles = {name: out / name for name in models if (out / name / "card.json").is_file()}
    metrics = {name: json.loads((path / "metrics.json").read_text()) for name, path in bundles.items()}
    with open(out / "split.csv", newline="", encoding="utf-8") as handle:
        test_paths = [r["path"] for r in csv.DictReader(handle) if r["split"] == "test"]
    return TrainingOutcome(out, bundles, metrics, test_paths)


def train_in_child(config, should_stop, on_progress) -> TrainingOutcome:
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
    return read_outcome(out, config.models)
