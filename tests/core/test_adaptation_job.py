"""The adaptation job over the case database with the fake models: embeddings kept when a case is read and
computed again (checked by SHA-256) for older cases, refusals with the counts, files that are gone listed,
and a result that is offered, never installed."""

import numpy as np
import pytest

from melanoma_desktop.core.adaptation import AdaptationCancelled
from melanoma_desktop.core.adaptation_job import adapt_to_clinic
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.site_models import SiteModelsRefused
from melanoma_desktop.core.triage import triage_paths

from fakes import FakeClassifier, skin_image


def read_clinic(tmp_path, n_melanoma=24, n_benign=56, seed=0):
    """Cases read by the fake models and confirmed: melanomas a little darker, with overlap."""
    rng = np.random.default_rng(seed)
    folder = tmp_path / "images"
    folder.mkdir()
    labels = ["melanoma"] * n_melanoma + ["benign"] * n_benign
    files = []
    for i, label in enumerate(labels):
        darkness = float(np.clip(rng.normal(0.55 if label == "melanoma" else 0.45, 0.08), 0.26, 0.74))
        files.append(skin_image(folder / f"case{i:03d}.png", darkness))
    db = CaseDatabase(tmp_path / "cases.sqlite3")
    classifier = FakeClassifier()
    records = [item.record for item in triage_paths(files, classifier, save=db.save)]
    for record, label in zip(records, labels):
        db.set_confirmed(record.id, label, "histopathology")
    return db, classifier, records


def test_a_case_is_saved_with_what_each_model_saw(tmp_path):
    db, classifier, records = read_clinic(tmp_path, 2, 3)
    versions = {name: version for name, (version, _) in classifier.heads().items()}
    stored = db.embeddings_of([r.id for r in records], versions)
    assert set(stored) == {r.id for r in records}
    first = stored[records[0].id]["cnn"]
    assert first.shape == (4,) and first.dtype == np.float32
    # float16 storage keeps the model's answer: the head recomputes P(melanoma) from it
    head = classifier.heads()["cnn"][1]
    assert head.p_positive(first[None])[0] == pytest.approx(records[0].predictions[0].p_malignant, abs=2e-3)
    db.delete(records[0].id)
    assert records[0].id not in db.embeddings_of([records[0].id], versions)  # erased with the case


def test_too_few_confirmed_cases_are_refused_with_the_counts(tmp_path):
    db, classifier, _ = read_clinic(tmp_path, 5, 60)
    with pytest.raises(SiteModelsRefused, match="5 melanomas and 60 benign"):
        adapt_to_clinic(db.list(), classifier, db)
    one_class = [r for r in db.list() if r.confirmed_label == "benign"]
    with pytest.raises(SiteModelsRefused, match="0 melanomas"):
        adapt_to_clinic(one_class, classifier, db)


def test_older_cases_get_their_embeddings_from_the_image_and_missing_files_are_listed(tmp_path):
    db, classifier, records = read_clinic(tmp_path)
    with db._write() as c:  # as if read before this version
        c.exec_driver_sql("DELETE FROM embeddings")
    gone = records[-1]
    (tmp_path / "images" / gone.file_name).unlink()
    changed = records[-2]
    (tmp_path / "images" / changed.file_name).write_bytes(b"not the same picture")
    events = []
    outcome = adapt_to_clinic(db.list(), classifier, db, target=0.9, on_progress=events.append)
    assert outcome.computed == len(records) - 2
    assert {f for f, _ in outcome.unreadable} == {gone.path, changed.path}
    assert any("SHA-256" in why for _, why in outcome.unreadable)
    assert outcome.site_models.cases["left_out"]["image gone or changed"] == 2
    assert outcome.site_models.cases["melanomas"] + outcome.site_models.cases["benign"] == len(records) - 2
    assert any("read before this version" in e.text for e in events)
    versions = {name: version for name, (version, _) in classifier.heads().items()}
    assert len(db.embeddings_of([r.id for r in records], versions)) == len(records) - 2  # kept for next time


def test_the_outcome_is_offered_with_evidence_and_nothing_is_installed(tmp_path):
    from melanoma_desktop.core.registry import ModelRegistry

    db, classifier, _ = read_clinic(tmp_path)
    registry = ModelRegistry(tmp_path / "registry")
    outcome = adapt_to_clinic(db.list(), classifier, db, target=0.9)
    evidence = outcome.evidence
    assert evidence["active_rule"] == "shipped" and evidence["cases"]["melanomas"] == 24
    assert set(evidence["active"]["models"]) == {"cnn", "vgg16", "mobilenetv2"}
    assert outcome.site_models.base_members == {n: f"{n}-fake-1" for n in ("cnn", "vgg16", "mobilenetv2")}
    assert outcome.to_json()["note"].startswith("Confirmed cases are usually")
    assert registry.active_site_models() is None and not (registry.root / "site_models").exists()


def test_cancelling_changes_nothing(tmp_path):
    db, classifier, _ = read_clinic(tmp_path)
    calls = []

    def stop_after_a_few():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(AdaptationCancelled):
        adapt_to_clinic(db.list(), classifier, db, should_stop=stop_after_a_few)


def test_the_fake_reads_new_cases_with_the_adapted_models_and_names_them(tmp_path):
    db, classifier, _ = read_clinic(tmp_path)
    site = adapt_to_clinic(db.list(), classifier, db, target=0.9).site_models
    adapted = FakeClassifier(site_models=site)
    new = skin_image(tmp_path / "new.png", 0.6)
    record = next(iter(triage_paths([new], adapted))).record
    assert record.model_versions() == dict(site.members)
    assert record.to_json()["rule"] == "clinic-adapted models"
    other = FakeClassifier(site_models=site.__class__(**{**site.__dict__, "base_members": {"cnn": "other"}}))
    assert other.site_models is None and "other model versions" in other.site_models_note
