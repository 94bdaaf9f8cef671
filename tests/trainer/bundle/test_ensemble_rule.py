"""The combination rule: checked when read, a lossless round trip, and what a saved case keeps of it."""

import json

import pytest

from trainer.bundle.cards import read_ensemble
from trainer.bundle.ensemble_rule import EnsembleRule
from trainer.errors import BundleError
from trainer.shipped import shipped_models_dir


def test_the_shipped_rule_round_trips_exactly():
    raw = json.loads((shipped_models_dir() / "ensemble.json").read_text(encoding="utf-8"))
    rule = read_ensemble(shipped_models_dir())
    assert rule.to_dict() == raw and list(rule.to_dict()) == list(raw)
    assert EnsembleRule.from_dict(rule.to_dict()) == rule and rule.weights is None  # the plain mean
    assert rule.member_weights() == {n: pytest.approx(1 / 3) for n in raw["members"]}


def test_what_a_case_keeps_and_how_members_combine():
    rule = EnsembleRule.from_dict({"members": {"a": "1", "b": "2"}, "weights": {"a": 0.25, "b": 0.75},
                                   "threshold": 0.4, "rule": "weighted mean",
                                   "site_rule": {"kind": "site flag line", "version": "site-7"}})
    assert rule.record_entry() == {"members": {"a": "1", "b": "2"}, "weights": {"a": 0.25, "b": 0.75},
                                   "threshold": 0.4, "site_rule": {"version": "site-7"}}
    assert rule.combine({"a": 0.2, "b": 0.6}) == pytest.approx(0.5) and rule.site_version == "site-7"
    assert rule.applies_to({"b": "2", "a": "1"}) and not rule.applies_to({"a": "1", "b": "3"})
    assert rule.extra == {"rule": "weighted mean"} and rule.replace(threshold=0.3).threshold == 0.3


@pytest.mark.parametrize(("content", "message"), [
    ({"members": {}, "threshold": 0.4}, "expected 'members'"),
    ({"members": {"a": "1"}, "threshold": 1.2}, r"a 'threshold' in \[0, 1\]"),
    ({"members": {"a": "1"}, "threshold": 0.4, "weights": {"a": -0.1}}, "numbers >= 0"),
    ({"members": {"a": "1"}, "threshold": 0.4, "calibration": "platt"}, "must be an object"),
    ({"members": {"a": "1"}, "threshold": 0.4, "site_rule": "mine"}, "'site_rule' must be an object"),
])
def test_a_wrong_rule_is_refused_saying_what_is_wrong(content, message):
    with pytest.raises(BundleError, match=message):
        EnsembleRule.from_dict(content, "ensemble.json")
