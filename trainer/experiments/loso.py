"""The multi-source benchmark: one run on every source, and one run per left-out source.

``python -m trainer benchmark --data A --data B ... [--leave-out NAME ...]`` trains the ``multisource``
preset on all sources (``OUT/all``) and, for each ``--leave-out``, on the others (``OUT/without-NAME``), then
scores every model and the combined risk:

* on each source's own test part (in-source), at the flag line chosen on the pooled validation set;
* on the left-out source, whole, at the flag line chosen without it: the honest estimate of a clinic the
  models have never seen.

Every number carries a 95 % interval (Wilson for proportions, bootstrap for AUC). Results go to
``OUT/results.json`` and ``OUT/results.md``; the latter is what docs/results.md quotes.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from trainer.bundle.calibration import model_half_point
from trainer.bundle.cards import find_bundles, read_card, read_ensemble
from trainer.evaluation.metrics import evaluate_probabilities
from trainer.evaluation.numbers import table_with_ci
from trainer.models.devices import describe_device
from trainer.models.registry import names as architecture_names
from trainer.presets import preset_config
from trainer.progress import ProgressEvent, ProgressFn, never_stop, no_progress
from trainer.training.ensemble import ensemble_probability
from trainer.training.rundir import RunDir, read_predictions

COMBINED = "combined"
SOURCES_MARKERS = ("<!-- sources:start -->", "<!-- sources:end -->")  # docs/results.md, --update-doc
MIN_MELANOMAS_TO_SCORE = 50  # a left-out source with fewer is not scored alone (its interval says nothing)


def _two(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def _scores(run_dir: Path) -> dict[str, dict]:
    """Model (and "combined") -> split -> (paths, labels, calibrated P(malignant), flag line, 0.5 point)."""
    preds = read_predictions(run_dir)
    out = {}
    for bundle in find_bundles(run_dir):
        card = read_card(bundle)
        half = model_half_point(card.calibration or {})
        out[card.name] = {split: (*preds[card.name][split], float(card.threshold), half)
                             for split in preds[card.name]}
    rule = read_ensemble(run_dir)
    if rule:
        members = list(rule.members)
        half = model_half_point(rule.calibration or {})
        out[COMBINED] = {}
        for split in preds[members[0]]:
            paths, labels, _ = preds[members[0]][split]
            p = ensemble_probability(rule.combine({m: preds[m][split][2] for m in members}), rule)
            out[COMBINED][split] = (paths, labels, p, float(rule.threshold), half)
    return out


def _metrics(labels, p, threshold, half) -> dict:
    at_line = evaluate_probabilities(labels, _two(p), threshold=threshold).summary()
    at_half = evaluate_probabilities(labels, _two(p), threshold=half)
    return dict(at_line, accuracy_at_half=at_half.accuracy, accuracy_at_half_ci=at_half.accuracy_ci,
                melanomas=int(np.sum(labels == 1)), others=int(np.sum(labels == 0)))


def run_results(run_dir: str | Path) -> dict:
    """Every model's and the combined risk's numbers in one finished run (see the module docstring)."""
    run_dir = Path(run_dir)
    source = RunDir(run_dir).sources()
    rule = read_ensemble(run_dir)
    result = {"models": {}, "weights": rule.weights if rule else None,
              "weights_validation": rule.extra.get("weights_validation") if rule else None}
    for name, splits in _scores(run_dir).items():
        block = {}
        paths, labels, p, line, half = splits["test"]
        block["test"] = _metrics(labels, p, line, half)
        by_source = {}
        for src in sorted({source.get(q, "") for q in paths}):
            keep = np.array([source.get(q, "") == src for q in paths])
            by_source[src] = _metrics(labels[keep], p[keep], line, half)
        block["test_by_source"] = by_source
        if "left_out" in splits:
            paths, labels, p, line, half = splits["left_out"]
            block["left_out"] = _metrics(labels, p, line, half)
        result["models"][name] = block
    return result


def run_source_benchmark(sources, out, leave_out=(), preset: str = "multisource", models=architecture_names(),
                         backbones=None, cache_dir=None, seed: int = 42, reuse: bool = True,
                         on_progress: ProgressFn = no_progress, should_stop=never_stop,
                         overrides: dict | None = None, include_all: bool = True) -> dict:
    """Train (or reuse) ``OUT/all`` (unless ``include_all`` is False) and one ``OUT/without-NAME`` per left-out
    source; write the results."""
    from trainer.experiments.benchmark import _finished_run, _git_commit
    from trainer.training.train import run_training

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = {**({"all": None} if include_all else {}), **{f"without-{name}": name for name in leave_out}}
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "commit": _git_commit(Path(__file__).parent),
               "preset": preset, "sources": [Path(s).name for s in sources], "runs": {}}
    for key, left in runs.items():
        config = preset_config(preset, str(sources[0]), str(out / key), sources=[str(s) for s in sources],
                               leave_out=left, models=tuple(models), backbones=backbones, cache_dir=cache_dir,
                               seed=seed, **(overrides or {}))
        if not (reuse and _finished_run(config)):
            on_progress(ProgressEvent("stage", message=f"{key}: training {', '.join(config.models)}"))
            run_training(config, should_stop, on_progress)
        else:
            on_progress(ProgressEvent("log", message=f"{key}: reusing the finished run in {config.out}"))
        results["runs"][key] = dict(run_results(config.out), left_out=left, config=RunDir(config.out).saved_config())

    results["device"] = describe_device()
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    (out / "results.md").write_text(sources_markdown(results), encoding="utf-8")
    return results


def _cell(m: dict, key: str) -> str:
    return table_with_ci(m[key], m[f"{key}_ci"], scale=1, digits=3) if key == "roc_auc" else table_with_ci(m[key], m[f"{key}_ci"])


def _row(label: str, m: dict) -> str:
    return (f"| {label} | {m['melanomas']} / {m['others']} | {_cell(m, 'roc_auc')} | {_cell(m, 'sensitivity')} | "
            f"{_cell(m, 'specificity')} | {_cell(m, 'accuracy_at_half')} |")


HEADER = ["| model | melanomas / others | AUC | sensitivity at flag line | specificity at flag line | "
          "accuracy at 0.5 |", "|---|---|---|---|---|---|"]


def _order(names) -> list[str]:
    return [n for n in (*architecture_names(), COMBINED) if n in names]


def sources_markdown(results: dict) -> str:
    """The leave-one-source-out table, then each source's own test part."""
    lines = [f"Measured {results['date']} at commit `{results['commit']}` on {results.get('device', 'this machine')} "
             f"by `python -m trainer benchmark` (preset `{results['preset']}`, sources: "
             f"{', '.join(results['sources'])}). 95 % intervals: Wilson (proportions), bootstrap (AUC). The flag "
             "line of each model and of the combined risk was chosen on the pooled validation set of the sources "
             "trained on (sensitivity >= 95 %), never on the source it is scored on.", ""]
    for key, run in results["runs"].items():
        if not run.get("left_out"):
            continue
        models = run["models"]
        mel = next(iter(models.values()))["left_out"]["melanomas"]
        lines += [f"**{run['left_out']} left out** (trained on the other sources; scored on all of "
                  f"{run['left_out']}{', too few melanomas to say much' if mel < MIN_MELANOMAS_TO_SCORE else ''})."
                  + (f" Member weights: {_weights(run)}." if run.get("weights") else ""), "", *HEADER]
        lines += [_row(name, models[name]["left_out"]) for name in _order(models)]
        lines.append("")
    full = results["runs"].get("all")
    if full:
        lines += ["**Every source, each one's own test part** (run `all`)."
                  + (f" Member weights: {_weights(full)}." if full.get("weights") else ""), ""]
        for src in sorted(next(iter(full["models"].values()))["test_by_source"]):  # noqa: PERF102
            lines += [f"*{src}*", "", *HEADER]
            lines += [_row(name, full["models"][name]["test_by_source"][src]) for name in _order(full["models"])]
            lines.append("")
    return "\n".join(lines)


def _weights(run: dict) -> str:
    return ", ".join(f"{n} {w:.1f}" for n, w in run["weights"].items())
