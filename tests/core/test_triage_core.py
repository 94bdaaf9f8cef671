import os

import pytest

from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.records import Consensus, ModelPrediction
from melanoma_desktop.core.triage import expand_paths, triage_paths
from trainer.bundle.ensemble_rule import EnsembleRule

from fakes import FakeClassifier, grey_image


def test_consensus_rules():
    preds = [ModelPrediction("a", "1", 0.4, 0.3), ModelPrediction("b", "1", 0.4, 0.5)]
    c = Consensus.of(preds)  # no combined rule for these versions: flagged when most models are above their line
    assert c.n_malignant == 1 and not c.flagged and c.rule == "majority" and c.risk is None
    assert not c.disagreement  # one above its line and one below, but neither clearly (DISAGREEMENT_MARGIN)
    clear = Consensus.of([ModelPrediction("a", "1", 0.7, 0.3), ModelPrediction("b", "1", 0.2, 0.5)])
    assert clear.disagreement and clear.clearly_above == ("a",) and clear.clearly_below == ("b",)
    assert Consensus.of(preds[:1]).flagged and Consensus.of(preds[:1]).rule == "single model"
    single = Consensus.of(preds[1:])  # one model: its own risk and flag line
    assert single.risk == pytest.approx(0.4) and single.flag_line == 0.5 and not single.flagged
    three = preds + [ModelPrediction("c", "1", 0.9, 0.5)]
    assert Consensus.of(three).flagged  # two of three above their own line


def test_folders_are_walked_and_symlink_loops_end(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    grey_image(tmp_path / "a" / "one.png", 10)
    grey_image(tmp_path / "a" / "b" / "two.jpg", 10)
    (tmp_path / "a" / "notes.txt").write_text("x")
    os.symlink(tmp_path / "a", tmp_path / "a" / "b" / "loop")
    files, problems = expand_paths([tmp_path / "a", tmp_path / "missing.jpg"])
    assert sorted(f.name for f in files) == ["one.png", "two.jpg"]
    assert problems == [(str(tmp_path / "missing.jpg"), "no such file or folder")]


def test_bad_file_is_reported_and_batch_goes_on(tmp_path):
    good = [grey_image(tmp_path / f"g{i}.png", 40 * i) for i in range(3)]
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    items = list(triage_paths([good[0], bad, good[1], good[2]], FakeClassifier(), batch_size=2))
    assert len(items) == 4 and items[-1].done == 4
    errors = [i.error for i in items if i.error]
    assert len(errors) == 1 and errors[0][0] == str(bad)
    records = [i.record for i in items if i.record]
    assert len(records) == 3 and all(len(r.predictions) == 3 for r in records)
    assert records[0].to_json()["models"][0].keys() >= {"name", "version", "p_malignant", "label"}


def test_same_image_twice_is_not_reclassified_nor_duplicated(tmp_path):
    a = grey_image(tmp_path / "a.png", 100)
    copy = tmp_path / "copy_of_a.png"
    copy.write_bytes(a.read_bytes())
    fake = FakeClassifier()
    with CaseDatabase(tmp_path / "c.db") as db:
        list(triage_paths([a], fake, save=db.save, known=db.find_by_sha))
        calls = fake.calls
        list(triage_paths([copy], fake, save=db.save, known=db.find_by_sha))
        assert db.count() == 1 and fake.calls == calls


def test_stop_request_ends_the_batch(tmp_path):
    files = [grey_image(tmp_path / f"{i}.png", i) for i in range(10)]
    seen = []
    items = list(triage_paths(files, FakeClassifier(), should_stop=lambda: len(seen) >= 2,
                              on_progress=seen.append, batch_size=2))
    assert len(items) == 2


def test_ensemble_threshold_applies_only_to_its_exact_members():
    preds = [ModelPrediction("a", "1", 0.30, 0.5), ModelPrediction("b", "1", 0.20, 0.5)]
    rule = {"members": {"a": "1", "b": "1"}, "threshold": 0.2}
    c = Consensus.of(preds, rule)
    assert c.n_malignant == 0 and c.ensemble_label == "malignant" and c.flagged  # mean 0.25 >= 0.2
    assert c.to_json()["flag_line"] == 0.2 and c.to_json()["rule"] == "ensemble"
    assert c.risk == pytest.approx(0.25)
    assert Consensus.of(preds, dict(rule, threshold=0.3)).ensemble_label == "benign"
    other_version = {"members": {"a": "2", "b": "1"}, "threshold": 0.2}
    assert Consensus.of(preds, other_version).ensemble_label is None
    assert Consensus.of(preds[:1], rule).ensemble_label is None  # a member is missing
    assert not Consensus.of(preds).flagged


def test_member_weights_decide_the_combined_risk_and_are_said():
    preds = [ModelPrediction("cnn", "1", 0.90, 0.5), ModelPrediction("vgg16", "1", 0.20, 0.5),
             ModelPrediction("mobilenetv2", "1", 0.40, 0.5)]
    rule = {"members": {"cnn": "1", "vgg16": "1", "mobilenetv2": "1"}, "threshold": 0.35,
            "weights": {"cnn": 0.0, "vgg16": 0.6, "mobilenetv2": 0.4}}
    c = Consensus.of(preds, rule)
    assert c.risk == pytest.approx(0.28) and not c.flagged  # the CNN's 0.90 does not count
    assert c.to_json()["member_weights"] == {"cnn": 0.0, "vgg16": 0.6, "mobilenetv2": 0.4}
    assert c.weights_text() == "combined from vgg16 60%, mobilenetv2 40%; cnn shown but not counted"
    plain = Consensus.of(preds, {k: v for k, v in rule.items() if k != "weights"})
    assert plain.risk == pytest.approx(0.5) and plain.to_json()["member_weights"]["cnn"] == pytest.approx(1 / 3, abs=1e-4)
    assert plain.weights_text() == ""  # equal weights: the screens say "read together"
    assert "member_weights" not in Consensus.of(preds).to_json()  # no rule: no combination


def test_a_calibrated_ensemble_compares_its_calibrated_probability_with_its_threshold():
    import math

    preds = [ModelPrediction("a", "1", 0.30, 0.5), ModelPrediction("b", "1", 0.20, 0.5)]  # mean 0.25
    calibration = {"method": "logistic", "slope": 2.0, "intercept": 0.5, "positive_index": 1}
    rule = {"members": {"a": "1", "b": "1"}, "threshold": 0.2, "calibration": calibration}
    expected = 1 / (1 + math.exp(-(2.0 * math.log(0.25 / 0.75) + 0.5)))  # 0.156
    c = Consensus.of(preds, rule)
    assert c.mean_p_malignant == pytest.approx(0.25) and c.ensemble_p_malignant == pytest.approx(expected)
    assert c.ensemble_label == "benign" and not c.flagged  # the plain mean would be above 0.2
    assert c.to_json()["risk"] == pytest.approx(expected, abs=1e-6) and "mean_p_malignant" not in c.to_json()
    assert Consensus.of(preds, dict(rule, threshold=0.15)).ensemble_label == "malignant"
    # a rule saved before the ensemble was calibrated: its probability is the plain mean
    older = {"members": {"a": "1", "b": "1"}, "threshold": 0.2}
    assert Consensus.of(preds, older).ensemble_p_malignant == pytest.approx(0.25)
    assert Consensus.of(preds).ensemble_p_malignant is None and Consensus.of(preds).to_json()["risk"] is None


def test_triage_records_carry_the_classifiers_ensemble_rule(tmp_path):
    from fakes import skin_image

    skin_image(tmp_path / "mid.png", 0.41)  # only the cnn (0.3) is above its own line
    classifier = FakeClassifier()
    calibration = {"method": "temperature", "temperature": 1.0}
    classifier.ensemble = EnsembleRule.from_dict({"members": {i.name: i.version for i in classifier.model_infos()},
                                                  "threshold": 0.4, "threshold_rule": "test", "calibration": calibration})
    with CaseDatabase(tmp_path / "c.db") as db:
        items = list(triage_paths([tmp_path / "mid.png"], classifier, save=db.save))
        record = db.get(items[0].record.id)
        assert record.ensemble == {"members": classifier.ensemble.members, "threshold": 0.4,
                                   "calibration": calibration}
        assert record.consensus.ensemble_label == "malignant"
        assert [r.id for r in db.list("flagged")] == [record.id]


def test_triage_json_gives_the_combined_risk_and_sets_aside_what_cannot_be_assessed(tmp_path):
    from fakes import document_photo, skin_image

    files = [skin_image(tmp_path / "lesion.png", 0.65), document_photo(tmp_path / "letter.png"),
             grey_image(tmp_path / "patch.png", 100, 12)]
    lines = {item.record.file_name: item.record.to_json() for item in triage_paths(files, FakeClassifier())}
    lesion = lines["lesion.png"]
    assert lesion["assessable"] and lesion["flagged"] and lesion["flag_line"] == FakeClassifier.FLAG_LINE
    assert lesion["risk"] == pytest.approx(0.65, abs=0.02) and "reason" not in lesion and lesion["rule"] == "ensemble"
    for name, words in (("letter.png", "does not look like skin"), ("patch.png", "too small")):
        line = lines[name]
        assert not line["assessable"] and line["risk"] is None and not line["flagged"] and line["flag_line"] is None
        assert words in line["reason"] and line["models"] and line["consensus"]  # detail stays
