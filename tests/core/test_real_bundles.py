"""The app on real bundles trained by the trainer on tiny synthetic data (no fake classifier)."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from melanoma_desktop.core.classifier import load_models


def test_load_models_reads_cards_and_reports_missing_backbone(tiny_bundles, tmp_path, monkeypatch):
    models_dir, backbones, _ = tiny_bundles
    models = load_models(models_dir, backbones)
    assert [i.name for i in models.model_infos()] == ["cnn", "mobilenetv2"]
    assert all(i.available for i in models.model_infos())
    monkeypatch.delenv("MELANOMA_BACKBONES", raising=False)
    partial = load_models(models_dir, tmp_path)  # no backbone weights here
    infos = {i.name: i for i in partial.model_infos()}
    assert infos["cnn"].available and not infos["mobilenetv2"].available
    assert "--backbones" in infos["mobilenetv2"].reason


def test_window_with_real_bundles(qtbot, tiny_bundles, tmp_path):
    from melanoma_desktop.ui.main_window import MainWindow

    from qt_helpers import drop

    models_dir, backbones, data = tiny_bundles
    window = MainWindow(tmp_path / "cases.sqlite3", lambda on_progress: load_models(models_dir, backbones))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=60000):
        window.start_loading_models()
    images = sorted((data / "images").glob("*.png"))[:3]
    with qtbot.waitSignal(window.sig_batch_finished, timeout=60000):
        drop(window, images)
    records = window.db.list()
    assert len(records) == 3 and all(len(r.predictions) == 2 for r in records)
    assert all(0.0 <= p.p_malignant <= 1.0 for r in records for p in r.predictions)
    assert records[0].predictions[0].version.startswith("cnn-")


def test_triage_command_json_and_exit_codes(tiny_bundles, tmp_path):
    models_dir, backbones, data = tiny_bundles
    images = sorted((data / "images").glob("*.png"))[:2]
    cmd = [sys.executable, "-m", "melanoma_desktop", "triage", "--json", "--models", str(models_dir),
           "--backbones", str(backbones)]
    quiet = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # as a user's shell has it
    ok = subprocess.run(cmd + [str(p) for p in images], capture_output=True, text=True, timeout=300, env=quiet)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""  # no TensorFlow start-up lines: the command's own output only
    lines = [json.loads(line) for line in ok.stdout.splitlines()]
    assert len(lines) == 2 and set(lines[0]) >= {"path", "sha256", "models", "consensus"}
    assert {m["name"] for m in lines[0]["models"]} == {"cnn", "mobilenetv2"}
    assert set(lines[0]["models"][0]) >= {"name", "version", "p_malignant", "label"}
    bad = tmp_path / "bad.jpg"
    bad.write_text("nope")
    mixed = subprocess.run(cmd + [str(images[0]), str(bad)], capture_output=True, text=True, timeout=300)
    assert mixed.returncode == 2 and len(mixed.stdout.splitlines()) == 1
    assert "bad.jpg" in mixed.stderr and "Traceback" not in mixed.stderr


def test_triage_command_without_models_says_how_to_get_them(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    img = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--models", str(empty), str(img)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "No models are installed" in proc.stderr and "trainer train" in proc.stderr


def test_metrics_panel_shows_each_model_and_exports(qtbot, tiny_bundles, tmp_path):
    from melanoma_desktop.ui.metrics_panel import MetricsPanel

    models_dir, _, _ = tiny_bundles
    panel = MetricsPanel([str(models_dir / "cnn"), str(models_dir / "mobilenetv2"), str(tmp_path / "missing")])
    qtbot.addWidget(panel)
    assert [c.report.card.name for c in panel.columns] == ["cnn", "mobilenetv2"]
    column = panel.columns[0]
    assert set(column.figures) == {"confusion_matrix", "roc", "learning_curves"}
    from melanoma_desktop.core.metrics_report import summary_rows

    rows = dict(summary_rows(column.report))
    seed = column.report.card.hyperparameters["seed"]
    assert rows["Protocol, seeds"] == f"full, training seed {seed}, split seed {seed}"
    pages = panel.export_pdf(str(tmp_path / "metrics.pdf"))
    assert pages == 8 and (tmp_path / "metrics.pdf").read_bytes().startswith(b"%PDF")
    column.figures["roc"].savefig(tmp_path / "roc.png")
    assert (tmp_path / "roc.png").stat().st_size > 1000


def test_self_test_passes_then_catches_a_changed_value(tiny_bundles, tmp_path):
    import shutil

    from trainer.evaluation.probes import EXPECTATIONS_FILE, record_expectations

    models_dir, backbones, _ = tiny_bundles
    shipped = tmp_path / "models"
    shutil.copytree(models_dir, shipped)
    record_expectations(load_models(shipped, backbones).loaded, shipped)
    cmd = [sys.executable, "-m", "melanoma_desktop", "--self-test", "--models", str(shipped),
           "--backbones", str(backbones)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "SELF-TEST PASSED" in ok.stdout
    assert "PASS  probabilities of cnn: 7 probe images" in ok.stdout
    assert "PASS  backbone of mobilenetv2" in ok.stdout
    assert "Traceback" not in ok.stdout + ok.stderr
    expected = json.loads((shipped / EXPECTATIONS_FILE).read_text())
    expected["expected"]["rings"]["cnn"] += 0.01
    (shipped / EXPECTATIONS_FILE).write_text(json.dumps(expected))
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "SELF-TEST FAILED" in bad.stdout
    assert "FAIL  probabilities of cnn" in bad.stdout and "rings" in bad.stdout
    (shipped / EXPECTATIONS_FILE).unlink()
    missing = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 1 and "no recorded expectations" in missing.stdout and "trainer export" in missing.stdout


def test_evaluate_and_calibrate_commands_read_a_labels_csv(tiny_bundles, tmp_path):
    models_dir, backbones, data = tiny_bundles
    base = [sys.executable, "-m", "melanoma_desktop"]
    common = ["--labels", str(data / "labels.csv"), "--models", str(models_dir), "--backbones", str(backbones),
              "--data-dir", str(tmp_path / "home"), str(data / "images")]
    evaluated = subprocess.run(base + ["evaluate", *common], capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["confirmed_total"] == 20 and "verdict" in result and "not a medical device" in result["disclaimer"]
    assert "20 confirmed diagnosis(es) recorded" in evaluated.stderr
    refused = subprocess.run(base + ["calibrate", "--install", *common], capture_output=True, text=True, timeout=600)
    assert refused.returncode == 3 and "a flag line needs at least 20 melanomas and 50 benign lesions" in refused.stderr
    assert not (tmp_path / "home" / "models" / "site_rule.json").exists()  # nothing installed


def test_triage_with_a_manifest_and_no_path_stores_each_images_patient_lesion_and_date(tiny_bundles, tmp_path):
    from melanoma_desktop.core.database import CaseDatabase

    models_dir, backbones, data = tiny_bundles
    images = sorted((data / "images").glob("*.png"))[:2]
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("path,patient_id,lesion_id,body_site,taken\n"
                        f"{images[0]},P5,left calf,lower leg,2026-02-02\n{images[1]},P5,left calf,lower leg,2026-08-08\n")
    home = tmp_path / "clinic-data"
    proc = subprocess.run([sys.executable, "-m", "melanoma_desktop", "triage", "--json", "--models", str(models_dir),
                           "--backbones", str(backbones), "--manifest", str(manifest), "--data-dir", str(home)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 2  # the manifest's two images, no PATH given
    with CaseDatabase(home / "cases.sqlite3") as db:
        history = db.history("P5")
    assert [v["date"] for v in history["lesions"][0]["visits"]] == ["2026-02-02", "2026-08-08"]
    assert history["lesions"][0]["body_site"] == "lower leg"
