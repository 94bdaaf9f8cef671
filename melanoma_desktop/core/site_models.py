"""A clinic's adapted models, as one versioned, self-describing file (like the clinic's flag line, but for the
models themselves): which model versions they were adapted from, each model's adapter and flag line, the
combination rule, how many confirmed cases, and the evidence measured before adoption.

``make_site_model_set`` builds it from an adaptation (core.adaptation); ``SiteModelSet.from_dict`` checks an
imported or stored file and says what is wrong; ``applies_to`` says whether it fits the installed models.
The registry (core.registry) keeps them, one JSON file each, and names the active one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

from trainer.bundle.adapter import Adapter
from trainer.bundle.ensemble_rule import SITE_MODELS_KIND, EnsembleRule

FORMAT = "melanoma-desktop site model set"
FORMAT_VERSION = 1


class SiteModelsRefused(ValueError):
    """A site model set that cannot be made, read or used; the message says what and what to do."""


@dataclass(frozen=True)
class SiteModelSet:
    version: str
    created_at: str
    base_members: Mapping[str, str]  # model name -> the installed version it was adapted from
    members: Mapping[str, str]  # model name -> the adapted model's version
    adapters: Mapping[str, Adapter]
    thresholds: Mapping[str, float]  # each adapted model's own flag line
    rule: EnsembleRule  # members = the adapted versions; weights, calibration, flag line
    cases: Mapping  # {"melanomas", "benign", "lesions", "left_out"}
    evidence: Mapping  # core.adaptation.compare, and how it was measured
    target_sensitivity: float
    note: str = ""

    def applies_to(self, versions: Mapping[str, str]) -> bool:
        """Whether the installed models (name -> version) are exactly the ones this set was adapted from."""
        return dict(self.base_members) == dict(versions)

    def description(self) -> str:
        c = self.cases
        return (f"adapted on {self.created_at[:10]} to {c['melanomas']} confirmed melanomas and {c['benign']} "
                f"benign lesions of this clinic")

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "kind": SITE_MODELS_KIND,
                "version": self.version, "created_at": self.created_at, "target_sensitivity": self.target_sensitivity,
                "base_members": dict(self.base_members), "members": dict(self.members),
                "thresholds": {k: float(v) for k, v in self.thresholds.items()}, "cases": dict(self.cases),
                "evidence": dict(self.evidence), "note": self.note, "rule": self.rule.to_dict(),
                "adapters": {k: a.to_dict() for k, a in self.adapters.items()}}

    @classmethod
    def from_dict(cls, data: object, where: str = "site model set") -> "SiteModelSet":
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SiteModelsRefused(f"{where} is not a site model set (expected format {FORMAT!r}); export it again "
                                    "from Models > Versions")
        if int(data.get("format_version", 0)) > FORMAT_VERSION:
            raise SiteModelsRefused(f"{where} was written by a newer program (format {data.get('format_version')}); "
                                    "update this program")
        try:
            base, members = dict(data["base_members"]), dict(data["members"])
            if set(base) != set(members) or set(data["adapters"]) != set(members):
                raise SiteModelsRefused(f"{where}: its models ({sorted(members)}), base models ({sorted(base)}) and "
                                        f"adapters ({sorted(data['adapters'])}) do not match")
            adapters = {k: Adapter.from_dict(v, where=f"{where}, {k}") for k, v in data["adapters"].items()}
            rule = EnsembleRule.from_dict(data["rule"], where)
            if dict(rule.members) != members or not (rule.site_rule and rule.site_rule.adapted_models):
                raise SiteModelsRefused(f"{where}: its combination rule is not for its adapted models")
            return cls(version=str(data["version"]), created_at=str(data["created_at"]), base_members=base,
                       members=members, adapters=adapters, thresholds={k: float(v) for k, v in data["thresholds"].items()},
                       rule=rule, cases=dict(data["cases"]), evidence=dict(data.get("evidence") or {}),
                       target_sensitivity=float(data["target_sensitivity"]), note=str(data.get("note", "")))
        except SiteModelsRefused:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SiteModelsRefused(f"{where}: malformed ({type(exc).__name__}: {exc}); export it again") from None


def make_site_model_set(fit, base_members: Mapping[str, str], cases: Mapping, evidence: Mapping, target: float,
                        note: str = "") -> SiteModelSet:
    """A site model set from ``core.adaptation.fit_adaptation``'s result."""
    created = datetime.now(timezone.utc)
    digest = hashlib.sha256(json.dumps({k: a.to_dict() for k, a in fit.adapters.items()}, sort_keys=True)
                            .encode()).hexdigest()[:8]
    version = f"adapted-{created:%Y%m%d-%H%M%S}-{cases['melanomas']}m{cases['benign']}b-{digest}"
    members = {name: f"{base}+{version}" for name, base in base_members.items()}
    combination = fit.combination
    rule = EnsembleRule.from_dict({
        "members": members, **({"weights": dict(combination.weights)} if combination.weights else {}),
        "calibration": combination.calibration, "threshold": round(float(combination.threshold), 9),
        "threshold_rule": (f"highest flag line keeping {target:.0%} of the clinic's {cases['melanomas']} confirmed "
                           "melanomas (out-of-fold predictions of the adapted models)"),
        "site_rule": {"kind": SITE_MODELS_KIND, "version": version, "created_at": created.isoformat(timespec="seconds"),
                      "target_sensitivity": target, "cases": dict(cases), "adapted_from": dict(base_members)},
    }, "the adapted models' rule")
    return SiteModelSet(version=version, created_at=created.isoformat(timespec="seconds"), base_members=dict(base_members),
                        members=members, adapters=dict(fit.adapters),
                        thresholds={k: round(float(v), 9) for k, v in fit.thresholds.items()}, rule=rule,
                        cases=dict(cases), evidence=dict(evidence), target_sensitivity=target, note=note)


def read_site_model_file(path) -> SiteModelSet:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise SiteModelsRefused(f"cannot read {path}: {exc}") from None
    return SiteModelSet.from_dict(data, str(path))
