"""``--self-test``: is this installation whole, and do its models compute what they computed when shipped?

One line per check: every model bundle loads, each backbone holds the ImageNet weights its model was
trained with (by content fingerprint), the recorded expectations (``selftest.json``, written by
``trainer export`` beside the bundles) are for exactly the loaded versions, every model gives the
recorded probability on every probe image (``trainer.evaluation.probes``, within 1e-3), the combined rule and
the image-quality gate load. Exit 0 when all hold; otherwise every failing check says why.
"""

from __future__ import annotations

import time

from melanoma_desktop import DISCLAIMER
from trainer.evaluation.probes import Check, check_expectations


def self_test_checks(models) -> list[Check]:
    """The checks of one loaded :class:`~melanoma_desktop.core.classifier.ModelSet`."""
    checks = []
    for info in models.model_infos():
        checks.append(Check(f"model {info.name}", info.available,
                            f"{info.version} loaded" if info.available else info.reason))
    if not models.loaded:
        checks.append(Check("models", False, models.empty_reason or "no model could be loaded"))
        return checks
    for bundle in models.loaded:
        if bundle.backbone is not None:
            checks.append(Check(f"backbone file for {bundle.name}", True,
                                f"{bundle.backbone.weights_path}: {bundle.backbone_match}"))
    checks += check_expectations(models.loaded, models.directory)
    if len(models.loaded) > 1:
        checks.append(Check("combined risk rule", models.ensemble is not None,
                            "ensemble.json matches the loaded models" if models.ensemble is not None
                            else models.ensemble_note or "no ensemble.json beside the models"))
    checks.append(Check("image-quality gate", models.quality_gate is not None,
                        "loaded" if models.quality_gate is not None else models.quality_note))
    return checks


def run_self_test(models, out=print) -> int:
    started = time.perf_counter()
    out("Melanoma triage self-test")
    out(f"  {DISCLAIMER}")
    out(f"  models from {models.directory}")
    checks = self_test_checks(models)
    for check in checks:
        out(f"  {check.line()}")
    failed = [c for c in checks if not c.ok]
    out(f"  took {time.perf_counter() - started:.1f} s")
    if failed:
        out(f"SELF-TEST FAILED: {len(failed)} of {len(checks)} checks failed")
        return 1
    out(f"SELF-TEST PASSED: {len(checks)} checks")
    return 0
