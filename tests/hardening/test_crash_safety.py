"""Crash safety: SIGKILL in the middle of a batch or of a training run loses at most the work in flight."""

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from fakes import grey_image

TESTS = Path(__file__).resolve().parents[1]

TRIAGE_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from fakes import FakeClassifier
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.triage import triage_paths
files = sorted(Path({folder!r}).glob('*.png'))
with CaseDatabase({db!r}) as database:
    for item in triage_paths(files, FakeClassifier(delay_s=0.05), save=database.save, batch_size=1):
        print('saved', item.record.sha256, flush=True)
"""


def test_sigkill_during_a_batch_keeps_the_database_intact(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(60):
        grey_image(folder / f"{i:03d}.png", i * 4, 64)
    db = tmp_path / "cases.sqlite3"
    proc = subprocess.Popen([sys.executable, "-c", TRIAGE_SCRIPT.format(tests=str(TESTS), folder=str(folder), db=str(db))],
                            stdout=subprocess.PIPE, text=True)
    reported = []
    for line in proc.stdout:
        reported.append(line.split()[1])
        if len(reported) == 8:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    reported += [line.split()[1] for line in proc.stdout if line.startswith("saved")]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {row[0] for row in conn.execute("SELECT sha256 FROM cases")}
    assert set(reported) <= stored  # every reported result survived
    assert len(stored) - len(set(reported)) <= 1  # at most the image in flight differs
    assert len(stored) < 60


TRAIN_SCRIPT = """
import sys
from trainer.config import TrainConfig
from trainer.training.train import run_training
config = TrainConfig(data={data!r}, out={out!r}, models=('cnn',), protocol='full', epochs=40, batch_size=4,
                     allow_download=False, patience=40)
run_training(config, on_progress=lambda e: print(e.stage, flush=True) if e.stage == 'epoch' else None)
"""


def test_sigkill_during_training_leaves_the_active_bundle_untouched(tmp_path, tiny_bundles):
    from trainer.bundle.io import load_bundle

    models_dir, _, data = tiny_bundles
    out = tmp_path / "out"
    shutil.copytree(models_dir / "cnn", out / "cnn")
    before = {p.name: p.read_bytes() for p in (out / "cnn").iterdir()}
    proc = subprocess.Popen([sys.executable, "-c", TRAIN_SCRIPT.format(data=str(data), out=str(out))],
                            stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("epoch"):
            proc.send_signal(signal.SIGKILL)
            break
    assert proc.wait(timeout=120) == -signal.SIGKILL
    after = {p.name: p.read_bytes() for p in (out / "cnn").iterdir()}
    assert after == before
    assert json.loads((out / "cnn" / "card.json").read_text())["name"] == "cnn"
    load_bundle(out / "cnn")
