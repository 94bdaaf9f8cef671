"""A clinic's own flag line, or its adapted models' rule, as the ``site_rule`` entry of an ensemble rule: a typed,
frozen record instead of a dict. ``SiteRule.from_dict`` checks the entry and ``to_dict`` gives the same JSON object
back (same keys, same order), so that files kept by a registry read and write unchanged."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Mapping

from trainer.errors import BundleError

SITE_RULE_KIND = "site flag line"  # a clinic's flag line fitted on its confirmed cases (core.local_performance)
SITE_MODELS_KIND = "site model set"  # the rule of a clinic's adapted models (core.site_models)


@dataclass(frozen=True)
class ExpectedPerformance:
    """What the flag line is expected to catch and clear at the clinic, each case judged out of fold."""

    sensitivity: float
    sensitivity_ci: tuple[float, float]
    specificity: float
    specificity_ci: tuple[float, float]
    how: str = ""
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the entry as read

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> "ExpectedPerformance":
        try:
            return cls(float(data["sensitivity"]), tuple(data["sensitivity_ci"]), float(data["specificity"]),
                       tuple(data["specificity_ci"]), str(data.get("how", "")), copy.deepcopy(dict(data)))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"{where}: 'expected' needs sensitivity, specificity and their intervals ({exc})") \
                from exc

    def to_dict(self) -> dict:
        """The entry as it was read (keys, order and numbers kept), or as made here."""
        if self.source:
            return copy.deepcopy(dict(self.source))
        return {"sensitivity": self.sensitivity, "sensitivity_ci": list(self.sensitivity_ci),
                "specificity": self.specificity, "specificity_ci": list(self.specificity_ci), "how": self.how}


@dataclass(frozen=True, kw_only=True)
class SiteRule:
    kind: str  # SITE_RULE_KIND or SITE_MODELS_KIND
    version: str
    created_at: str = ""  # ISO time, UTC
    target_sensitivity: float | None = None
    cases: Mapping[str, Any] = field(default_factory=dict)  # melanomas, benign (numbers; left_out: why, how many)
    expected: ExpectedPerformance | None = None  # a flag line's; adapted models keep their evidence elsewhere
    extra: Mapping[str, Any] = field(default_factory=dict)  # base_rule, note, adapted_from, ...
    key_order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def adapted_models(self) -> bool:
        return self.kind == SITE_MODELS_KIND

    @property
    def melanomas(self) -> int:
        return int(self.cases.get("melanomas", 0))

    @property
    def benign(self) -> int:
        return int(self.cases.get("benign", 0))

    @property
    def misses_target(self) -> bool:
        """Whether the expected sensitivity falls short of the target the clinic asked for."""
        return (self.expected is not None and self.target_sensitivity is not None
                and self.expected.sensitivity < self.target_sensitivity)

    @classmethod
    def from_dict(cls, data: object, where: str = "site_rule") -> "SiteRule":
        if not isinstance(data, dict):
            raise BundleError(f"{where}: 'site_rule' must be an object, got {data!r}")
        if not isinstance(data.get("version"), str) or not data["version"]:
            raise BundleError(f"{where}: 'site_rule' has no version")
        cases = data.get("cases") or {}
        if not isinstance(cases, dict):
            raise BundleError(f"{where}: 'site_rule' cases must be an object, got {cases!r}")
        expected = data.get("expected")
        return cls(kind=str(data.get("kind", "")), version=data["version"], created_at=str(data.get("created_at", "")),
                   target_sensitivity=data.get("target_sensitivity"), cases=dict(cases),
                   expected=ExpectedPerformance.from_dict(expected, where) if expected is not None else None,
                   extra={k: copy.deepcopy(v) for k, v in data.items() if k not in _TYPED}, key_order=tuple(data))

    def to_dict(self) -> dict:
        """The JSON object, keys in the order they were read (new keys last)."""
        kept = set(self.key_order)
        values = {"kind": self.kind if self.kind or "kind" in kept else None, "version": self.version,
                  "created_at": self.created_at if self.created_at or "created_at" in kept else None,
                  "target_sensitivity": self.target_sensitivity,
                  "cases": dict(self.cases) if self.cases or "cases" in kept else None,
                  "expected": self.expected.to_dict() if self.expected is not None else None,
                  **copy.deepcopy(dict(self.extra))}
        return as_read(values, self.key_order)


_TYPED = ("kind", "version", "created_at", "target_sensitivity", "cases", "expected")


def as_read(values: Mapping[str, Any], key_order: tuple[str, ...]) -> dict:
    """A JSON object written back as it was read: the keys it had, in their order, then new keys that have a
    value (a None the file did not have stays out). The rules' ``to_dict`` use it."""
    kept = {k: v for k, v in values.items() if v is not None or k in key_order}
    return {k: kept[k] for k in [k for k in key_order if k in kept] + [k for k in kept if k not in key_order]}
