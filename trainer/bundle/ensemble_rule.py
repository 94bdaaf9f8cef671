"""The combination rule as a typed, frozen record: which model versions are combined, with what weights,
through which calibration, and where the flag line is (ensemble.json, or a clinic's own flag line).

``EnsembleRule.from_dict`` checks a rule file's content and says what is wrong; ``to_dict`` gives the
same JSON object back (same keys, same order). Needs no Keras: the app reads rules before TensorFlow.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

from trainer.bundle.combine import combine, member_weights
from trainer.bundle.model_card import validate_calibration
from trainer.bundle.site_rule import SITE_MODELS_KIND, SiteRule, as_read
from trainer.errors import BundleError

_TYPED = ("members", "threshold", "calibration", "weights", "site_rule")
RECORD_KEYS = ("members", "weights", "threshold", "calibration")  # what a saved case keeps of the rule it was read with


@dataclass(frozen=True, kw_only=True)
class EnsembleRule:
    members: Mapping[str, str]  # model name -> the exact version the rule was fitted for
    threshold: float  # the flag line on the combined (calibrated) risk
    calibration: Mapping[str, Any] | None = None  # None: files written before the ensemble was calibrated
    weights: Mapping[str, float] | None = None  # None: the plain mean (files written before weights)
    site_rule: SiteRule | None = None  # a clinic's own flag line, or its adapted models' rule
    extra: Mapping[str, Any] = field(default_factory=dict)  # rule texts, validation and test numbers
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def from_dict(cls, data: object, where: str = "ensemble.json") -> "EnsembleRule":
        members = data.get("members") if isinstance(data, dict) else None
        threshold = data.get("threshold") if isinstance(data, dict) else None
        if not (isinstance(members, dict) and members and all(isinstance(v, str) for v in members.values())
                and isinstance(threshold, (int, float)) and not isinstance(threshold, bool) and 0 <= threshold <= 1):
            raise BundleError(f"{where}: expected 'members' (model name -> version) and a 'threshold' in [0, 1]")
        calibration = data.get("calibration")
        if calibration is not None:
            if not isinstance(calibration, dict):
                raise BundleError(f"{where}: 'calibration' must be an object, got {calibration!r}")
            validate_calibration(calibration, 2, where)
        weights = data.get("weights")
        if weights is not None and not (isinstance(weights, dict) and all(
                isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0 for w in weights.values())):
            raise BundleError(f"{where}: 'weights' must map member names to numbers >= 0, got {weights!r}")
        site_rule = data.get("site_rule")
        site_rule = SiteRule.from_dict(site_rule, where) if site_rule is not None else None
        return cls(members=dict(members), threshold=threshold, calibration=copy.deepcopy(calibration),
                   weights=dict(weights) if weights is not None else None, site_rule=site_rule,
                   extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _TYPED}, key_order=tuple(data))

    def to_dict(self) -> dict:
        """The JSON object, keys in the order they were read (new keys last)."""
        values = {"members": dict(self.members), "threshold": self.threshold,
                  "calibration": copy.deepcopy(self.calibration), "weights": dict(self.weights) if self.weights
                  is not None else None, "site_rule": self.site_rule.to_dict() if self.site_rule else None, **copy.deepcopy(dict(self.extra))}
        return as_read(values, self.key_order)

    def replace(self, **changes) -> "EnsembleRule":
        """A checked copy with these entries changed."""
        return EnsembleRule.from_dict({**self.to_dict(), **changes})

    @property
    def site_version(self) -> str | None:
        """The clinic flag line's version, or None for a shipped or trained rule."""
        return self.site_rule.version if self.site_rule is not None else None

    @property
    def test(self) -> Mapping[str, Any]:
        """The rule's numbers on its run's test split at the combined risk's 0.5 ({} when none are stored)."""
        return self.extra.get("test") or {}

    @property
    def test_at_threshold(self) -> Mapping[str, Any]:
        return self.extra.get("test_at_threshold") or {}

    def applies_to(self, versions: Mapping[str, str]) -> bool:
        """Whether the loaded models (name -> version) are exactly this rule's members."""
        return dict(self.members) == dict(versions)

    def member_weights(self, names=None) -> dict[str, float]:
        """Each member's weight (equal for a rule without weights)."""
        return member_weights(self.weights, self.members if names is None else names)

    def combine(self, p_by_member: Mapping):
        """The members' P(malignant) combined under the rule's weights (before its calibration)."""
        return combine(p_by_member, self.weights)

    def record_entry(self) -> dict:
        """What a saved case keeps of the rule it was read with (core.records.Consensus reads it back)."""
        values = {"members": dict(self.members), "weights": dict(self.weights) if self.weights is not None else None,
                  "threshold": self.threshold, "calibration": copy.deepcopy(self.calibration)}
        entry = {k: values[k] for k in RECORD_KEYS if k in self.key_order or values[k] is not None}
        if self.site_rule:
            entry["site_rule"] = {"version": self.site_rule.version}
            if self.site_rule.adapted_models:  # a flag line alone keeps the entry of before
                entry["site_rule"]["kind"] = SITE_MODELS_KIND
        return entry
