"""The site rule's own type: typed fields read, the same JSON written back, a broken entry refused."""

import json

import pytest

from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.bundle.site_rule import SITE_MODELS_KIND, SITE_RULE_KIND, ExpectedPerformance, SiteRule
from trainer.errors import BundleError

FLAG_LINE = {"kind": SITE_RULE_KIND, "version": "site-20261204-101500-24m60b",
             "created_at": "2026-12-04T10:15:00+00:00",
             "target_sensitivity": 0.95, "cases": {"melanomas": 24, "benign": 60, "left_out": {"other malignant": 1}},
             "expected": {"sensitivity": 0.9583, "sensitivity_ci": [0.79, 0.99], "specificity": 0.55,
                          "specificity_ci": [0.42, 0.67], "how": "5-fold cross-validation over the confirmed cases"},
             "base_rule": {"threshold": 0.39, "calibration": None}, "note": ""}


def test_a_flag_line_reads_typed_and_writes_the_same_json_back():
    rule = SiteRule.from_dict(FLAG_LINE)
    assert (rule.melanomas, rule.benign, rule.adapted_models) == (24, 60, False)
    assert rule.expected == ExpectedPerformance(0.9583, (0.79, 0.99), 0.55, (0.42, 0.67),
                                                "5-fold cross-validation over the confirmed cases")
    assert not rule.misses_target and rule.extra["base_rule"]["threshold"] == 0.39
    assert json.dumps(rule.to_dict()) == json.dumps(FLAG_LINE)  # same keys, same order


def test_an_ensemble_rule_keeps_its_site_rule_typed_and_its_file_unchanged():
    data = {"members": {"cnn": "cnn-1"}, "threshold": 0.4, "site_rule": {"kind": SITE_MODELS_KIND, "version": "s-1",
                                                                          "adapted_from": {"cnn": "cnn-0"}}}
    rule = EnsembleRule.from_dict(data)
    assert rule.site_version == "s-1" and rule.site_rule.adapted_models and rule.site_rule.expected is None
    assert json.dumps(rule.to_dict()) == json.dumps(data)
    assert rule.record_entry()["site_rule"] == {"version": "s-1", "kind": SITE_MODELS_KIND}


@pytest.mark.parametrize("broken, words", [("not an object", "must be an object"),
                                           ({"kind": SITE_RULE_KIND}, "no version"),
                                           (dict(FLAG_LINE, expected={"sensitivity": 0.9}), "'expected' needs")])
def test_a_broken_site_rule_is_refused_saying_what_is_wrong(broken, words):
    with pytest.raises(BundleError, match=words):
        EnsembleRule.from_dict({"members": {"cnn": "cnn-1"}, "threshold": 0.4, "site_rule": broken})
