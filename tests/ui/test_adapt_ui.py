"""Models > Adapt to this clinic with the fake models: the evidence is shown before anything changes; adopting
changes the versions of new cases only; Models > Versions brings the previous models back; too few confirmed
cases are refused with the counts; cancelling leaves the models in use as they were."""

import numpy as np
import pytest  # noqa: F401

from melanoma_desktop.core.registry import ModelRegistry
from melanoma_desktop.ui.main_window import MainWindow

from fakes import FakeClassifier, skin_image, tinted_skin


@pytest.fixture
def clinic_window(qtbot, tmp_path):
    registry = ModelRegistry(tmp_path / "registry")

    def factory(on_progress):  # as ui.app loads the models: with the clinic's active adapted set
        return FakeClassifier(site_models=registry.active_site_models())

    window = MainWindow(tmp_path / "cases.sqlite3", factory, registry=registry)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        window.start_loading_models()
    return window, registry


def _triage(qtbot, window, files):
    with qtbot.waitSignal(window.sig_batch_finished, timeout=30000):
        window.triage_paths([str(f) for f in files])
    return [window.db.find_by_sha(_sha(f)) for f in files]


def _sha(path):
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _confirmed_clinic(qtbot, window, tmp_path, n_melanoma=22, n_benign=52):
    rng = np.random.default_rng(1)
    folder = tmp_path / "clinic"
    folder.mkdir()
    labels = ["melanoma"] * n_melanoma + ["benign"] * n_benign
    files = [tinted_skin(folder / f"c{i:03d}.png", float(rng.uniform(0.35, 0.6)),
                         float(np.clip(rng.normal(0.1 if label == "melanoma" else 0.03, 0.03), 0, 0.15)))
             for i, label in enumerate(labels)]
    records = _triage(qtbot, window, files)
    for record, label in zip(records, labels):
        window.db.set_confirmed(record.id, label, "histopathology")
    return records


def test_adapting_shows_the_evidence_then_adopting_changes_new_cases_only_and_versions_restore(qtbot, clinic_window,
                                                                                                 tmp_path):
    window, registry = clinic_window
    old = _confirmed_clinic(qtbot, window, tmp_path)
    dialog = window.clinic.show_adapt_dialog()
    qtbot.addWidget(dialog)
    assert not dialog.adopt_button.isEnabled()
    failures = []
    window.clinic.adaptation.sig_failed.connect(failures.append)
    with qtbot.waitSignal(window.clinic.adaptation.sig_evidence, timeout=120000, raising=False) as waited:
        dialog.start()
    assert waited.signal_triggered, failures
    assert dialog.table.rowCount() >= 4 and "Ranking" in dialog.table.verticalHeaderItem(0).text()
    assert "AUC" in dialog.table.verticalHeaderItem(0).toolTip()  # the engineering word one hover away
    assert "confirmed melanomas" in dialog.sentences.text()
    assert dialog.table.verticalHeaderItem(4).text() == "Fake cnn alone, ranking"  # the names the screens use
    assert dialog.outcome.offered and dialog.adopt_button.isEnabled()
    assert dialog.outcome.evidence["difference"]["auc_ci"][0] > 0  # the blue tint learnt
    assert "better" in dialog.verdict.text()
    assert registry.active_site_models() is None  # measured, nothing changed
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        version = dialog.adopt(confirm=False)
    site = registry.active_site_models()
    assert site.version == version and window.classifier.site_models.version == version
    assert "adapted to this clinic" in window.models_status.text()
    assert any("models adapted to the clinic adopted" in action for _, action, _ in window.db.audit_log())
    new = _triage(qtbot, window, [skin_image(tmp_path / "new.png", 0.6)])[0]
    assert new.model_versions() == dict(site.members) and new.consensus.rule == "clinic-adapted models"
    assert window.db.get(old[0].id).model_versions() == {n: f"{n}-fake-1" for n in ("cnn", "vgg16", "mobilenetv2")}

    versions = window.clinic.show_versions()
    qtbot.addWidget(versions)
    assert versions.sets_table.rowCount() == 1 and versions.sets_table.item(0, 0).text() == "✓"
    assert versions.sets_table.item(0, 4).text() == version
    exported = tmp_path / "exported.json"
    versions.adaptation.export(version, str(exported))
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        versions.use_set(None)
    assert registry.active_site_models() is None and window.classifier.site_models is None
    later = _triage(qtbot, window, [skin_image(tmp_path / "later.png", 0.61)])[0]
    assert later.model_versions() == {n: f"{n}-fake-1" for n in ("cnn", "vgg16", "mobilenetv2")}
    with qtbot.waitSignal(window.sig_models_ready, timeout=10000):
        versions.use_set(version)
    assert window.classifier.site_models.version == version
    # one exported file brings the set to another workstation
    other = ModelRegistry(tmp_path / "other")
    from melanoma_desktop.core.site_models import read_site_model_file

    other.keep_site_models(read_site_model_file(exported))
    assert [s.version for s in other.site_model_sets()] == [version]


def test_too_few_confirmed_cases_are_refused_with_the_counts(qtbot, clinic_window, tmp_path):
    window, registry = clinic_window
    _confirmed_clinic(qtbot, window, tmp_path, n_melanoma=3, n_benign=10)
    dialog = window.clinic.show_adapt_dialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(window.clinic.adaptation.sig_failed, timeout=30000):
        dialog.start()
    assert "3 melanomas and 10 benign" in dialog.status.text()
    assert not dialog.adopt_button.isEnabled() and dialog.adapt_button.isEnabled()
    assert registry.active_site_models() is None


def test_cancelling_leaves_the_models_in_use(qtbot, clinic_window, tmp_path):
    window, registry = clinic_window
    _confirmed_clinic(qtbot, window, tmp_path)
    dialog = window.clinic.show_adapt_dialog()
    qtbot.addWidget(dialog)
    window.clinic.adaptation.sig_progress.connect(lambda *_: window.clinic.adaptation.cancel())
    with qtbot.waitSignal(window.clinic.adaptation.sig_cancelled, timeout=60000):
        dialog.start()
    assert "unchanged" in dialog.status.text() and registry.active_site_models() is None
    assert window.classifier.site_models is None
