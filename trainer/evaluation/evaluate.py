"""``run_evaluation``: existing bundles on a dataset (its test split, or all of it)."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np

from trainer import DISCLAIMER
from trainer.bundle.calibration import model_half_point
from trainer.bundle.io import find_bundles, load_bundle
from trainer.data.samples import decode_samples, discover, without_unreadable
from trainer.data.splits import make_split
from trainer.errors import BundleError, ConfigError
from trainer.evaluation.metric_files import metrics_table, write_metric_files
from trainer.evaluation.metrics import evaluate_probabilities
from trainer.progress import ProgressEvent, ProgressFn, TrainingCancelled, never_stop, no_progress


def run_evaluation(models_dir, data_dir, out_dir, split: str = "test", backbones=None, allow_download=False,
                   should_stop=never_stop, on_progress: ProgressFn = no_progress) -> dict[str, dict]:
    if split not in ("test", "all"):
        raise ConfigError(f"--split must be test or all, got {split!r}")
    bundle_dirs = find_bundles(models_dir)
    if not bundle_dirs:
        raise BundleError(f"no model bundle (a folder with card.json) in {models_dir}; train one with "
                          "'python -m trainer train' first")
    dataset, unreadable = without_unreadable(discover(data_dir), should_stop=should_stop)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results, decoded_cache, protocols = {}, {}, set()
    for bundle_dir in bundle_dirs:
        bundle = load_bundle(bundle_dir, backbones, allow_download=allow_download)
        card = bundle.card
        protocols.add(card.training.get("protocol"))
        if split == "test":
            t = card.training
            indices = make_split(dataset.labels, dataset.groups, t["protocol"], int(t["split_seed"]),
                                 tuple(t["fractions"]) if t.get("fractions") else None).test
        else:
            indices = np.arange(len(dataset.samples))
        key = tuple(indices.tolist())
        if key not in decoded_cache:
            on_progress(ProgressEvent("data", message=f"decoding {len(indices)} images"))
            decoded = decode_samples([dataset.samples[i] for i in indices], should_stop=should_stop)
            if should_stop():
                raise TrainingCancelled("evaluation cancelled")
            decoded_cache[key] = (decoded, dataset.labels[indices[decoded.kept]])
        decoded, y = decoded_cache[key]
        on_progress(ProgressEvent("evaluate", bundle.name, message=f"evaluating {bundle.name} on {len(y)} images"))
        probs = bundle.predict_proba(decoded.images, batch_size=32)
        names = tuple(bundle.class_names)
        operating = evaluate_probabilities(y, probs, names, bundle.threshold)
        metrics = {**evaluate_probabilities(y, probs, names, model_half_point(bundle.calibration)).to_json(),
                   "operating_point": operating.operating_point(),
                   "calibration": {**bundle.calibration, "ece_test_before": math.nan, "ece_test_after": operating.ece}}
        metrics["bundle_version"] = bundle.version
        metrics["skipped"] = unreadable + decoded.skipped
        target = out / bundle.name
        target.mkdir(parents=True, exist_ok=True)
        write_metric_files(target, metrics, f"{card.display_name} on {data_dir} ({split})")
        results[bundle.name] = metrics
        keras.backend.clear_session()
    text = [f"# Evaluation of {models_dir} on {data_dir} (split: {split})", "",
            f"Calibrated probabilities. First table at each model's own 0.5 (its argmax); second at each card's own threshold. "
            f"{len(unreadable)} unreadable file(s) left out.", "",
            metrics_table(results, with_paper=split == "test" and protocols == {"paper"}),
            f"_{DISCLAIMER}_", ""]
    (out / "summary.md").write_text("\n".join(text), encoding="utf-8")
    return results
