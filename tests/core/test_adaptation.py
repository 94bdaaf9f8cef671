"""Adapting the models to a clinic on synthetic embeddings: the adapter, the cross-validated evidence, the site
model set's file, its refusals, and the registry that keeps it."""

import json

import numpy as np
import pytest

from melanoma_desktop.core.adaptation import AdaptationCancelled, auc, compare, fit_adaptation, grouped_folds, not_worse
from melanoma_desktop.core.site_models import SiteModelSet, SiteModelsRefused, make_site_model_set
from trainer.bundle.adapter import Adapter, HeadArrays, fit_adapter, sigmoid


def clinic(n=240, melanoma_share=0.3, seed=0, dims=6):
    """A clinic where the shipped models' logit is weak and one embedding feature carries the diagnosis."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < melanoma_share
    e = rng.normal(size=(n, dims))
    e[:, 2] += 1.6 * y  # what the clinic's camera shows and the shipped head does not read
    z = 0.4 * y + rng.normal(size=n)
    groups = np.array([f"lesion{i // 2}" for i in range(n)])  # two images per lesion
    return y, groups, {"cnn": e, "vgg16": e[:, ::-1].copy()}, {"cnn": z, "vgg16": z + rng.normal(0, 0.5, n)}


@pytest.fixture(scope="module")
def fitted():
    """One adaptation of the synthetic clinic, shared by the tests that read it."""
    y, groups, e, z = clinic()
    return y, groups, e, z, fit_adaptation(e, z, y, groups, target=0.9)


def test_a_strong_penalty_keeps_the_shipped_head_and_a_weak_one_learns_the_clinic():
    y, _, e, z = clinic()
    anchored = fit_adapter(z["cnn"], e["cnn"], y, penalty=1e6)
    assert np.abs(anchored.weights).max() < 1e-3
    assert auc(y, anchored.logit(z["cnn"], e["cnn"])) == pytest.approx(auc(y, z["cnn"]), abs=1e-9)
    free = fit_adapter(z["cnn"], e["cnn"], y, penalty=0.01)
    assert np.argmax(np.abs(free.weights)) == 2
    assert auc(y, free.logit(z["cnn"], e["cnn"])) > auc(y, z["cnn"]) + 0.2


def test_an_adapter_round_trips_through_json_and_refuses_a_bad_one():
    y, _, e, z = clinic()
    adapter = fit_adapter(z["cnn"], e["cnn"], y, penalty=0.1)
    back = Adapter.from_dict(json.loads(json.dumps(adapter.to_dict())), dim=6)
    assert np.allclose(back.logit(z["cnn"], e["cnn"]), adapter.logit(z["cnn"], e["cnn"]), atol=1e-5)
    tiny = Adapter(1.0, 0.0, np.zeros(2), np.array([3e-9, 1.0]), np.zeros(2), 1.0)  # a nearly constant feature
    assert Adapter.from_dict(json.loads(json.dumps(tiny.to_dict()))).scale[0] == pytest.approx(3e-9)
    with pytest.raises(ValueError, match="shapes"):
        Adapter.from_dict({**adapter.to_dict(), "weights": [0.0] * 3}, dim=6)
    with pytest.raises(ValueError, match="not an adapter"):
        Adapter.from_dict({"alpha": 1})


def test_folds_keep_a_lesion_together():
    y, groups, _, _ = clinic()
    fold = grouped_folds(y, groups, 5, seed=0)
    for g in np.unique(groups):
        assert len(set(fold[groups == g])) == 1
    assert len(np.unique(fold)) == 5 and all(y[fold == k].any() for k in range(5))


def test_the_adaptation_is_judged_out_of_fold_and_beats_the_weak_shipped_head():
    y, groups, e, z = clinic(n=160)
    steps = []
    fit = fit_adaptation(e, z, y, groups, target=0.9, seed=0, on_progress=lambda text, f: steps.append(f))
    assert steps == sorted(steps) and steps[-1] == pytest.approx(1.0)
    assert set(fit.adapters) == {"cnn", "vgg16"} and fit.folds == 5
    assert auc(y, fit.oof_risk) > auc(y, z["cnn"]) + 0.15
    assert fit.oof_flagged[y].mean() >= 0.8  # the line, chosen without each part, still catches most melanomas
    # the final combination's flag line keeps the target on the out-of-fold risks it was fitted on
    risk = fit.combination.risk(fit.oof_p)
    assert (risk[y] >= fit.combination.threshold).mean() >= 0.9


def test_cancel_stops_the_fit():
    y, groups, e, z = clinic()
    with pytest.raises(AdaptationCancelled):
        fit_adaptation(e, z, y, groups, should_stop=lambda: True)


def _evidence(y, groups, e, z, fit):
    active_p = {n: sigmoid(z[n]) for n in z}
    active = np.mean([active_p[n] for n in z], axis=0)
    return compare(y, groups, {"risk": active, "flagged": active >= 0.4, "flag_line": 0.4, "models": active_p},
                   {"risk": fit.oof_risk, "flagged": fit.oof_flagged, "flag_line": fit.combination.threshold,
                    "models": fit.oof_p}, n_boot=200)


def test_the_evidence_pairs_both_sets_on_the_same_cases_with_intervals(fitted):
    y, groups, e, z, fit = fitted
    evidence = _evidence(y, groups, e, z, fit)
    d = evidence["difference"]
    assert d["auc"] == pytest.approx(evidence["adapted"]["auc"] - evidence["active"]["auc"])
    assert d["auc_ci"][0] > 0 and not_worse(evidence)
    for side in ("active", "adapted"):
        s = evidence[side]
        assert s["auc_ci"][0] <= s["auc"] <= s["auc_ci"][1]
        assert s["sensitivity_ci"][0] <= s["sensitivity"] <= s["sensitivity_ci"][1]
        assert set(s["models"]) == {"cnn", "vgg16"}
    assert evidence["cases"] == {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": 120}
    worse = {**evidence, "difference": {**d, "auc": -0.01}}
    assert not not_worse(worse)


def test_a_site_model_set_round_trips_and_refuses_what_is_not_one(fitted):
    y, groups, e, z, fit = fitted
    cases = {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": 120, "left_out": {}}
    site = make_site_model_set(fit, {"cnn": "cnn-1", "vgg16": "vgg16-1"}, cases, _evidence(y, groups, e, z, fit), 0.9)
    assert site.members["cnn"].startswith("cnn-1+adapted-") and site.rule.site_version == site.version
    assert site.applies_to({"cnn": "cnn-1", "vgg16": "vgg16-1"}) and not site.applies_to({"cnn": "cnn-2", "vgg16": "vgg16-1"})
    back = SiteModelSet.from_dict(json.loads(json.dumps(site.to_dict())))
    assert back.to_dict() == site.to_dict()
    assert back.rule.record_entry()["site_rule"] == {"version": site.version, "kind": "site model set"}
    with pytest.raises(SiteModelsRefused, match="not a site model set"):
        SiteModelSet.from_dict({"members": {}})
    broken = site.to_dict()
    del broken["adapters"]["vgg16"]
    with pytest.raises(SiteModelsRefused, match="do not match"):
        SiteModelSet.from_dict(broken)
    newer = {**site.to_dict(), "format_version": 99}
    with pytest.raises(SiteModelsRefused, match="newer program"):
        SiteModelSet.from_dict(newer)


def test_the_registry_keeps_site_model_sets_and_names_the_active_one(tmp_path, fitted):
    from melanoma_desktop.core.registry import ModelRegistry

    y, groups, e, z, fit = fitted
    cases = {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": 120, "left_out": {}}
    site = make_site_model_set(fit, {"cnn": "cnn-1", "vgg16": "vgg16-1"}, cases, {}, 0.9)
    registry = ModelRegistry(tmp_path / "registry")
    assert registry.active_site_models() is None and registry.site_model_sets() == []
    registry.keep_site_models(site)
    assert registry.active_site_models() is None  # kept, not active
    registry.activate_site_models(site.version)
    assert registry.active_site_models().version == site.version
    assert [s.version for s in registry.site_model_sets()] == [site.version]
    registry.activate_site_models(None)
    assert registry.active_site_models() is None
    with pytest.raises(FileNotFoundError):
        registry.activate_site_models("adapted-nothing")
    (registry.root / "site_models" / "broken.json").write_text("{", encoding="utf-8")
    assert len(registry.site_model_sets()) == 1  # an unreadable file is passed over


def test_a_record_keeps_the_adapted_rule_it_was_read_with():
    from melanoma_desktop.core.records import ModelPrediction, TriageRecord

    y, groups, e, z = clinic()
    fit = fit_adaptation(e, z, y, groups, target=0.9)
    cases = {"melanomas": int(y.sum()), "benign": int((~y).sum()), "lesions": 120, "left_out": {}}
    site = make_site_model_set(fit, {"cnn": "cnn-1", "vgg16": "vgg16-1"}, cases, {}, 0.9)
    preds = [ModelPrediction(n, site.members[n], 0.7, site.thresholds[n]) for n in ("cnn", "vgg16")]
    record = TriageRecord("a" * 64, "/x.jpg", preds, "2026-12-04", ensemble=site.rule.record_entry())
    out = record.to_json()
    assert out["rule"] == "clinic-adapted models" and out["rule_version"] == site.version
    assert out["risk"] is not None and out["models"][0]["version"].endswith(site.version)


def test_head_arrays_compute_the_calibrated_probability():
    head = HeadArrays(out_kernel=np.array([[0.0, 2.0], [0.0, 0.0]], dtype=np.float32), out_bias=np.zeros(2, np.float32),
                      positive_index=1, calibration={"method": "logistic", "slope": 0.5, "intercept": 0.1,
                                                     "positive_index": 1},
                      hidden_kernel=np.eye(2, dtype=np.float32), hidden_bias=np.zeros(2, np.float32))
    e = np.array([[1.0, 3.0], [-1.0, 0.0]])
    # hidden ReLU: [1, 3] and [0, 0]; logit 2 * h0 -> 2 and 0; calibrated sigmoid(0.5 z + 0.1)
    assert np.allclose(head.p_positive(e), sigmoid(np.array([1.1, 0.1])))
    with pytest.raises(ValueError, match="do not fit"):
        head.p_positive(np.zeros((1, 3)))
