"""Training in a child process, for the desktop app: ``python -m trainer worker CONFIG.json``.

The child runs the same ``run_training`` as the command line and prints one JSON progress event
per line on stdout. SIGTERM asks it to stop (within one batch); it then exits with
``EXIT_CANCELLED`` and leaves no half-written bundle. A child process keeps TensorFlow's long
calls (graph tracing, saving) from stalling the app's event loop, and gives its memory back when
it ends.
"""

from __future__ import annotations

import dataclasses
import json
import signal
import sys
from pathlib import Path

from trainer.config import TrainConfig
from trainer.errors import TrainerError
from trainer.progress import TrainingCancelled

EXIT_CANCELLED = 3
EXIT_FAILED = 2


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def main(config_path: str) -> int:
    from trainer.training.train import run_training

    stop = {"requested": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__("requested", True))
    config = TrainConfig.from_json(json.loads(Path(config_path).read_text(encoding="utf-8")))

    def emit(event):
        print(json.dumps(_jsonable(dataclasses.asdict(event))), flush=True)

    try:
        run_training(config, should_stop=lambda: stop["requested"], on_progress=emit)
    except TrainingCancelled:
        return EXIT_CANCELLED
    except TrainerError as exc:
        print(json.dumps({"stage": "error", "message": str(exc)}), flush=True)
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
