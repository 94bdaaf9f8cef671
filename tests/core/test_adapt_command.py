"""``melanoma-desktop adapt`` with real tiny bundles: a SIGKILL while it fits leaves the registry as it was; a
whole run prints the evidence as JSON and, with --install, makes the adapted set active; ``triage --json``
then reads new images with it and names it."""

import json
import signal
import subprocess
import sys

import numpy as np

from fakes import tinted_skin


def write_clinic(root, n_melanoma=25, n_benign=55, seed=7):
    """Skin-like images that pass the quality checks, two per lesion, with a labels.csv naming the lesion; the
    clinic's melanomas look bluer through its camera, which the tiny models never learnt."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    rows = ["image,label,lesion_id"]
    for i in range(n_melanoma + n_benign):
        label = "malignant" if i < n_melanoma else "benign"
        blue = float(np.clip(rng.normal(0.1 if label == "malignant" else 0.03, 0.03), 0, 0.15))
        tinted_skin(root / "images" / f"case{i:03d}.png", float(rng.uniform(0.35, 0.6)), blue)
        rows.append(f"case{i:03d}.png,{label},L{i // 2}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


def _cli(*args):
    return [sys.executable, "-m", "melanoma_desktop", *args]


def test_adapt_command_installs_atomically_and_triage_names_the_adapted_models(tiny_bundles, tmp_path, capsys):
    models_dir, backbones, _ = tiny_bundles
    clinic = write_clinic(tmp_path / "clinic")
    home = tmp_path / "home"
    common = ["--models", str(models_dir), "--backbones", str(backbones), "--data-dir", str(home)]
    adapt = _cli("adapt", "--labels", str(clinic / "labels.csv"), "--install", *common, str(clinic / "images"))
    registry = home / "models"

    # killed while fitting (its progress lines come from the fit): nothing of it is left in the registry
    proc = subprocess.Popen(adapt, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if "%" in line and "cross-validation" in line:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (registry / "site_models.json").exists() and not list(registry.glob("site_models/*.json"))

    # the same command whole, in this process (TensorFlow is loaded already: seconds, not a fresh start)
    from melanoma_desktop.__main__ import main

    assert main(adapt[3:]) == 0  # the bluer melanomas are learnt: not worse, installed
    done = capsys.readouterr()
    result = json.loads(done.out)
    evidence = result["evidence"]
    assert result["cases"]["melanomas"] == 25 and result["cases"]["benign"] == 55
    assert result["cases"]["lesions"] == 40  # two images a lesion, kept together in every split
    for side in ("active", "adapted"):
        assert 0 <= evidence[side]["auc"] <= 1 and len(evidence[side]["auc_ci"]) == 2
        assert set(evidence[side]["models"]) == {"cnn", "mobilenetv2"}
    assert evidence["difference"]["auc"] >= 0 and "not a medical device" in result["disclaimer"].lower()
    assert result["offered"] and "installed" in done.err
    active = json.loads((registry / "site_models.json").read_text())["version"]
    assert active == result["version"]

    new_images = sorted((clinic / "images").glob("*.png"))[:2]
    assert main(["triage", "--json", *common, *map(str, new_images)]) == 0
    triage = capsys.readouterr()
    line = json.loads(triage.out.splitlines()[0])
    assert line["rule"] == "clinic-adapted models" and line["rule_version"] == active, triage.err
    assert all(m["version"].endswith(f"+{active}") for m in line["models"])


def test_a_new_release_does_not_silently_drop_the_clinics_adaptation(tiny_bundles, tmp_path):
    """An adapted set made for other model versions is not applied to new models; the loaded set says so and
    points at adapting again."""
    import dataclasses

    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.site_models import SiteModelSet
    from trainer.bundle.adapter import Adapter
    from trainer.bundle.ensemble_rule import EnsembleRule

    models_dir, backbones, _ = tiny_bundles
    installed = {b.name: b.version for b in load_models(models_dir, backbones).loaded}
    old = {name: f"{version}-previous-release" for name, version in installed.items()}
    members = {name: f"{version}+adapted-x" for name, version in old.items()}
    adapter = Adapter(1.0, 0.0, np.zeros(1), np.ones(1), np.zeros(1), 1.0)
    site = SiteModelSet(version="adapted-x", created_at="2026-12-01T00:00:00+00:00", base_members=old, members=members,
                        adapters={n: adapter for n in old}, thresholds={n: 0.5 for n in old},
                        rule=EnsembleRule.from_dict({"members": members, "threshold": 0.5,
                                                     "site_rule": {"kind": "site model set", "version": "adapted-x"}}),
                        cases={"melanomas": 20, "benign": 50}, evidence={}, target_sensitivity=0.95)
    models = load_models(models_dir, backbones, site_models=site)
    assert models.site_models is None and {b.name: b.version for b in models.loaded} == installed
    assert "made for other model versions" in models.site_models_note and "adapted again" in models.site_models_note
    same = dataclasses.replace(site, base_members=installed)
    adapted = load_models(models_dir, backbones, site_models=same)
    assert adapted.site_models is same and all(b.version.endswith("+adapted-x") for b in adapted.loaded)
