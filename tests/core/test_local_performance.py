"""The clinic's confirmed cases: importing them, scoring the models on them, and the clinic's own flag line."""

import json

import numpy as np
import pytest

from melanoma_desktop.core.confirmed import (
    ConfirmedLabelsError,
    match_rows,
    normalise_label,
    read_confirmed_csv,
)
from melanoma_desktop.core.database import CaseDatabase
from melanoma_desktop.core.local_performance import (
    SiteRuleRefused,
    evaluate_local,
    fit_site_rule,
    validate_site_rule,
)
from melanoma_desktop.core.quality import QualityReport
from melanoma_desktop.core.records import ModelPrediction, TriageRecord
from trainer.bundle.ensemble_rule import EnsembleRule

MEMBERS = {"cnn": "c1", "vgg16": "v1"}
RULE = EnsembleRule.from_dict({"members": MEMBERS, "threshold": 0.3})  # the plain mean, flagged from 0.3


def _cases(n_mel=40, n_ben=120, seed=0, shift=0.25):
    """Records whose models score melanomas higher, with noise; all benign scores pushed up by ``shift``
    (a clinic whose camera makes everything look darker)."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n_mel + n_ben):
        mel = i < n_mel
        base = np.clip(rng.normal(0.65 if mel else 0.25 + shift, 0.12), 0.01, 0.99)
        preds = [ModelPrediction(n, v, float(np.clip(base + rng.normal(0, 0.05), 0.01, 0.99)), 0.4)
                 for n, v in MEMBERS.items()]
        records.append(TriageRecord(sha256=f"{i:064x}", path=f"/clinic/img_{i:03d}.jpg", predictions=preds,
                                    created_at="2026-12-01T09:00:00+00:00", id=i + 1, ensemble=RULE.record_entry(),
                                    quality=QualityReport(), confirmed_label="melanoma" if mel else "benign"))
    return records


def test_labels_are_read_in_the_trainers_words_and_matched_by_name_or_checksum(tmp_path):
    assert normalise_label("malignant") == "melanoma" and normalise_label("BCC") == "other malignant"
    with pytest.raises(ConfirmedLabelsError, match="unknown diagnosis 'maybe'"):
        normalise_label("maybe")
    records = _cases(2, 2)
    csv = tmp_path / "labels.csv"
    csv.write_text("image,label,source\nimg_000.jpg,malignant,histopathology\n"
                   f"{records[3].sha256},benign,follow-up without change\nnot_here.jpg,benign,\n")
    pairs, report = match_rows(read_confirmed_csv(csv), records)
    assert [(case_id, row.label, row.source) for case_id, row in pairs] == [
        (1, "melanoma", "histopathology"), (4, "benign", "follow-up without change")]
    assert report.unmatched == ["not_here.jpg"] and "2 confirmed" in report.summary()
    bad = tmp_path / "bad.csv"
    bad.write_text("file,diagnosis\na.jpg,benign\n")
    with pytest.raises(ConfirmedLabelsError, match="needs the columns image and label"):
        read_confirmed_csv(bad)


def test_local_performance_counts_what_the_flag_caught_and_missed():
    records = _cases()
    result = evaluate_local(records, RULE)
    c = result.combined
    assert (c.n, c.melanomas, c.benign) == (160, 40, 120)
    assert c.caught == sum(1 for r in records[:40] if np.mean([p.p_malignant for p in r.predictions]) >= 0.3)
    assert c.sensitivity_ci[0] < c.sensitivity <= c.sensitivity_ci[1] and 0.5 < c.auc <= 1.0
    assert len(result.missed) == c.melanomas - c.caught
    assert {m.name for m in result.models} == {"cnn", "vgg16"}
    assert sum(b["n"] for b in c.calibration_curve) == 160
    assert result.verdict().startswith(f"On your 160 confirmed cases the flag caught {c.caught} of 40 melanomas")
    assert f"also flagged {c.flagged_benign} of 120 benign lesions" in result.verdict()
    json.dumps(result.to_json())  # the headless command prints it


def test_cases_read_by_other_versions_or_not_assessable_are_left_out_and_counted():
    records = _cases(3, 3)
    records[0].predictions = [ModelPrediction("cnn", "c0", 0.9, 0.4), ModelPrediction("vgg16", "v1", 0.9, 0.4)]
    records[1].quality = QualityReport(["blurred"])
    records[2].confirmed_label = "other malignant"
    result = evaluate_local(records, RULE)
    assert result.combined.n == 3 and result.left_out == {"other malignant": 1, "read by other model versions": 1,
                                                          "cannot be assessed": 1}


def test_too_few_cases_are_refused_with_the_counts():
    with pytest.raises(SiteRuleRefused, match="19 melanomas and 80 benign lesions; a flag line needs at least 20"):
        fit_site_rule(_cases(19, 80), RULE)
    with pytest.raises(SiteRuleRefused, match="30 melanomas and 49 benign"):
        fit_site_rule(_cases(30, 49), RULE)


def test_the_clinics_flag_line_keeps_the_target_on_new_cases_and_clears_more_benign_lesions():
    clinic_a, clinic_b = _cases(60, 200, seed=1), _cases(60, 200, seed=2)
    rule = validate_site_rule(fit_site_rule(clinic_a, RULE, target=0.95).to_dict())
    info = rule.site_rule
    assert info.cases == {"melanomas": 60, "benign": 200, "left_out": {"other malignant": 0,
                                                                      "read by other model versions": 0,
                                                                      "cannot be assessed": 0}}
    assert rule.members == MEMBERS and 0 < rule.threshold < 1 and info.target_sensitivity == 0.95
    e = info.expected
    assert e.sensitivity_ci[0] <= e.sensitivity <= e.sensitivity_ci[1] and "cross-validation" in e.how
    shipped, clinic = evaluate_local(clinic_b, RULE).combined, evaluate_local(clinic_b, rule).combined
    assert clinic.sensitivity_ci[0] <= 0.95 <= clinic.sensitivity_ci[1] or clinic.sensitivity >= 0.95
    assert clinic.specificity > shipped.specificity  # the shipped line flags most benign lesions at this clinic
    assert evaluate_local(clinic_b, rule).rule == info.version


def test_a_site_rule_file_is_checked_before_it_is_used():
    rule = fit_site_rule(_cases(30, 60), RULE).to_dict()
    for broken, words in ((dict(rule, threshold=1.5), "flag line 1.5"), ({"members": MEMBERS}, "not a clinic"),
                          (dict(rule, members={}), "no model versions"),
                          (dict(rule, weights={"cnn": -1}), "'weights' must map member names to numbers >= 0"),
                          (dict(rule, calibration=[1.0]), "'calibration' must be an object")):
        with pytest.raises(SiteRuleRefused, match=words):
            validate_site_rule(broken)


def test_confirmed_diagnoses_are_kept_apart_from_the_assessment(tmp_path):
    with CaseDatabase(tmp_path / "c.db") as db:
        case = db.save(_cases(1, 0)[0])
        db.update_review(case.id, clinician_label="suspicious")
        got = db.set_confirmed(case.id, "melanoma", "histopathology", "2026-11-30")
        assert got.clinician_label == "suspicious" and got.confirmed_label == "melanoma"
        assert (got.confirmed_source, got.confirmed_at) == ("histopathology", "2026-11-30")
        with pytest.raises(ValueError):
            db.set_confirmed(case.id, "probably bad")
        csv = tmp_path / "labels.csv"
        csv.write_text("image,label\nimg_000.jpg,benign\n")
        assert db.import_confirmed(csv).matched == 1 and db.get(case.id).confirmed_label == "benign"
        assert db.audit_log()[-1][1] == "confirmed diagnoses imported"


def test_the_registry_keeps_site_rules_and_load_models_uses_one_only_for_its_model_versions(tmp_path, tiny_bundles):
    from melanoma_desktop.core.classifier import load_models
    from melanoma_desktop.core.registry import ModelRegistry

    registry = ModelRegistry(tmp_path / "models")
    assert registry.active_site_rule() is None and registry.site_rules() == []
    models_dir, backbones, _ = tiny_bundles
    shipped = load_models(models_dir, backbones)
    members = {b.name: b.version for b in shipped.loaded}
    base = shipped.ensemble.replace(members=members)
    records = _cases(25, 60)
    for r in records:  # read by the tiny bundles' versions
        r.predictions = [ModelPrediction(n, v, p.p_malignant, 0.4) for (n, v), p in zip(members.items(), r.predictions)]
    rule = fit_site_rule(records, base)
    registry.keep_site_rule(rule)
    registry.activate_site_rule(rule.site_version)
    assert registry.active_site_rule() == rule and len(registry.site_rules()) == 1  # the same rule, read back
    used = load_models(models_dir, backbones, site_rule=registry.active_site_rule())
    assert used.ensemble.site_version == rule.site_version and used.site_rule_note == ""
    stale = rule.replace(members={**members, "cnn": "cnn-older"})
    other = load_models(models_dir, backbones, site_rule=stale)
    assert other.ensemble == shipped.ensemble and "made for other model versions" in other.site_rule_note
    registry.activate_site_rule(None)
    assert registry.active_site_rule() is None
    with pytest.raises(FileNotFoundError):
        registry.activate_site_rule("site-none")
