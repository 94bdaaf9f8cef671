"""scripts/train_gpu.py on the CPU with its tiny configuration: every model saved, one ensemble, timings."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_gpu_script_trains_each_model_into_one_run(tmp_path, random_backbones):
    from synthetic import write_labels_csv

    sources = [write_labels_csv(tmp_path / name, n_per_class=10, seed=k) for k, name in enumerate(("one", "two"))]
    out = tmp_path / "run"
    command = [sys.executable, str(ROOT / "scripts" / "train_gpu.py"), "--tiny", "--models", "mobilenetv2,cnn",
               "--backbones", str(random_backbones), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
               *[arg for s in sources for arg in ("--data", str(s))]]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "device: CPU" in done.stdout and "no GPU" in done.stdout
    for name in ("mobilenetv2", "cnn"):
        card = json.loads((out / name / "card.json").read_text())
        assert card["preset"] == "multisource-gpu" and card["training"]["data"] == "one + two"
    assert json.loads((out / "mobilenetv2" / "card.json").read_text())["model_part"] == "tuned"
    ensemble = json.loads((out / "ensemble.json").read_text())
    assert set(ensemble["members"]) == {"mobilenetv2", "cnn"} and set(ensemble["weights"]) == {"mobilenetv2", "cnn"}
    timing = json.loads((out / "gpu_run.json").read_text())
    assert set(timing["seconds_per_model"]) == {"mobilenetv2", "cnn"} and timing["tiny"] is True
