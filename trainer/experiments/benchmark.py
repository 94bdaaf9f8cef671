"""``python -m trainer benchmark``: the README's results table, regenerated.

For each preset (``paper`` and ``best``, trainer.presets) it trains the three models (or reuses a
finished run with the identical configuration), fits the mean-of-models ensemble's threshold on the
validation split, and reports on the paper protocol's 240-image test set (both presets share it) and
on an external dataset (ISIC 2017, used for nothing else): accuracy, AUC, ECE before and after
temperature scaling, and sensitivity / specificity at each model's shipped threshold, with 95 %
confidence intervals. Writes ``results.json`` and ``results.md`` and, on request, replaces the table
between the README's benchmark markers.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from trainer import DISCLAIMER
from trainer.bundle.calibration import model_half_point
from trainer.bundle.cards import (
    EXTERNAL_FILE,
    PREDICTIONS_FILE,
    find_bundles,
    probability_text,
    read_card,
    read_ensemble,
)
from trainer.config import NOT_TRAINING_FIELDS, TrainConfig
from trainer.data.samples import decode_samples, discover, without_unreadable
from trainer.errors import ConfigError
from trainer.evaluation.metric_files import paper_accuracies
from trainer.evaluation.metrics import ece_noise_floor, evaluate_probabilities, summary
from trainer.evaluation.numbers import is_missing, table_with_ci
from trainer.models.devices import describe_device
from trainer.models.registry import names, retrained_with_extra_data
from trainer.presets import preset_config
from trainer.progress import ProgressEvent, ProgressFn, TrainingCancelled, never_stop, no_progress
from trainer.training.ensemble import ensemble_probability, fit_ensemble, mean_from_predictions
from trainer.training.outputs import TARGET_SENSITIVITY
from trainer.training.recalibrate import recalibrate_run
from trainer.training.rundir import SPLIT_FILE, RunDir, read_predictions
from trainer.training.train import run_training, saved_config_with_kept, trained_before

README_START = "<!-- benchmark:start -->"
README_END = "<!-- benchmark:end -->"
EXTRA_RUN = "best-extra"  # the best preset with extra training data for some models (run_benchmark)


def _two_columns(p: np.ndarray) -> np.ndarray:
    return np.stack([1 - p, p], axis=1)


def _finished_run(config, saved_as=None, ignoring=()) -> bool:
    """Whether ``config.out`` holds a finished run of ``config`` (saved as ``saved_as`` when that differs),
    whatever the fields ``ignoring`` are."""
    out = Path(config.out)
    try:
        saved = RunDir(out).saved_config()
    except (OSError, ValueError):
        return False
    # A field the saved configuration predates takes its default, which is what that run did.
    known = json.loads(json.dumps(TrainConfig.from_json(saved).to_json()))
    wanted = json.loads(json.dumps((saved_as or config).to_json()))
    ignored = NOT_TRAINING_FIELDS + tuple(ignoring)
    same = set(saved) <= set(known) and all(known[k] == wanted[k] for k in wanted if k not in ignored)
    return same and (out / PREDICTIONS_FILE).is_file() and all((out / m / "card.json").is_file() for m in config.models)


def _external_probabilities(run_dir: Path, dataset_dir: Path, images, paths, backbones, on_progress, should_stop):
    """model -> calibrated P(malignant) on every external image; cached per bundle version."""
    from trainer.bundle.io import load_bundle

    cache_path = run_dir / EXTERNAL_FILE
    cached: dict[str, dict[str, float]] = {}
    if cache_path.is_file():
        with open(cache_path, newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                cached.setdefault(row["version"], {})[row["path"]] = float(row["p_malignant"])
    result = {}
    rows = []
    for bundle_dir in find_bundles(run_dir):
        card = read_card(bundle_dir)
        known = cached.get(card.version, {})
        if all(p in known for p in paths):
            p = np.array([known[q] for q in paths])
        else:
            if should_stop():
                raise TrainingCancelled("benchmark cancelled")
            on_progress(ProgressEvent("evaluate", card.name,
                                      message=f"{card.name}: predicting {len(paths)} images of {dataset_dir}"))
            bundle = load_bundle(bundle_dir, backbones)
            probs = bundle.predict_proba(images, batch_size=32)
            p = probs[:, card.positive_index]
        result[card.name] = p
        rows.extend((card.version, q, probability_text(v)) for q, v in zip(paths, p))
    with open(cache_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["version", "path", "p_malignant"])
        writer.writerows(rows)
    return result


def _preset_results(preset, config, external, trained_on_external, backbones, on_progress, should_stop) -> dict:
    """One run's rows: each model it trained and the ensemble of every bundle in its folder.

    ``external``: (folder, images, paths, labels, held_out) where ``held_out`` marks the images no run in
    the benchmark trained on; a run that trained on none of them (``trained_on_external`` False) is scored
    on all of them as well."""
    run_dir = Path(config.out)
    preds = read_predictions(run_dir)
    members = [m for m in config.models if m in preds]
    kept = [m for m in names() if m in preds and m not in members and (run_dir / m / "card.json").is_file()]
    models = {}
    for name in members:
        card = read_card(run_dir / name)
        _, y, p = preds[name]["test"]
        at_half = evaluate_probabilities(y, _two_columns(p), threshold=model_half_point(card.calibration),
                                         seed=config.seed)
        at_op = evaluate_probabilities(y, _two_columns(p), threshold=card.threshold, seed=config.seed)
        models[name] = {"display_name": card.display_name, "version": card.version,
                        "threshold": card.threshold, "test": at_half.summary(), "test_at_threshold": at_op.summary(),
                        "ece_before": card.metrics["calibration"]["ece_test_before"],
                        "ece_after": card.metrics["calibration"]["ece_test_after"],
                        "ece_noise_floor": ece_noise_floor(p, seed=config.seed),
                        "training_seconds": card.training_seconds}
    fitted = fit_ensemble(run_dir, backbones, seed=config.seed)  # from predictions.csv, writes ensemble.json
    rule = read_ensemble(run_dir)
    ensemble_name = "Ensemble (weighted mean of the calibrated P(malignant), weights and calibration from validation)" + (
        f"; {', '.join(read_card(run_dir / m).display_name for m in kept)} as in `best`" if kept else "")
    p_test = ensemble_probability(mean_from_predictions(preds, list(rule.members), "test", rule)[0], rule)
    models["ensemble"] = {"display_name": ensemble_name,
                          "threshold": fitted["threshold"], "test": summary(fitted["test"]),
                          "ece_before": fitted["ece"]["ece_test_before"], "ece_after": fitted["ece"]["ece_test_after"],
                          "test_at_threshold": summary(fitted["test_at_threshold"]),
                          "ece_noise_floor": ece_noise_floor(p_test, seed=config.seed)}
    if external is not None:
        ext_dir, images, paths, labels, held_out = external
        scored = np.ones(len(paths), bool) if not trained_on_external else held_out
        ext = _external_probabilities(run_dir, ext_dir, images[scored], [q for q, s in zip(paths, scored) if s],
                                      backbones, on_progress, should_stop)
        ext["ensemble"] = ensemble_probability(rule.combine({m: ext[m] for m in rule.members}), rule)
        for name, p in ext.items():
            if name not in models:
                continue
            threshold = models[name]["threshold"]
            if not trained_on_external:
                models[name]["external"] = evaluate_probabilities(
                    labels, _two_columns(p), threshold=threshold, seed=config.seed).summary()
            if not held_out.all():
                p_held = p[held_out[scored]]
                models[name]["external_held_out"] = evaluate_probabilities(
                    labels[held_out], _two_columns(p_held), threshold=threshold, seed=config.seed).summary()
    saved_config = RunDir(run_dir).saved_config()
    return {"config": saved_config, "counts": read_card(run_dir / members[0]).training["counts"],
            "label": _run_label(preset, config), "trained_on_external": trained_on_external, "models": models}


def _run_label(preset: str, config) -> str:
    if not config.extra_data:
        return preset
    sources = ", ".join(Path(e["data"]).name + (f" {e['source_split']}" if e.get("source_split") else "")
                        for e in config.extra_data)
    return f"{config.preset} + {sources}"


def _trained_on(run_dir: Path, paths) -> np.ndarray:
    """Which of ``paths`` the run trained on (by its split.csv)."""
    train = RunDir(run_dir).training_paths()
    return np.array([os.path.realpath(q) in train for q in paths], dtype=bool)


def _seed_extra_run(base_dir: Path, run_dir: Path, retrained) -> None:
    """Start the extra-data run as a copy of the base run's other bundles, split and predictions: training
    ``retrained`` into it then keeps them (trainer.training.train), so its ensemble mixes both."""
    if not (base_dir / PREDICTIONS_FILE).is_file():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    for bundle in find_bundles(base_dir):
        if bundle.name not in retrained:
            shutil.copytree(bundle, run_dir / bundle.name, dirs_exist_ok=True)
    for name in (SPLIT_FILE, PREDICTIONS_FILE):
        shutil.copy2(base_dir / name, run_dir / name)


def _git_commit(where: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+uncommitted changes" if dirty else "")


def run_benchmark(data, out, backbones=None, external=None, presets=("paper", "best"), cache_dir=None,
                  seed: int = 42, reuse: bool = True, on_progress: ProgressFn = no_progress,
                  should_stop=never_stop, overrides: dict | None = None, extra_data=(),
                  extra_models=None) -> dict:
    """Train (or reuse) each preset's run under ``out/<preset>`` and write ``out/results.{json,md}``.

    ``overrides`` (TrainConfig fields) apply to every preset: for quick checks, never for the README.
    ``extra_data`` (TrainConfig.extra_data entries) adds the run ``out/best-extra``: ``extra_models``
    retrained with the best preset on the extra images as well (default: those whose spec says so, VGG16), the
    other models kept from ``out/best``.
    """
    extra_models = retrained_with_extra_data() if extra_models is None else extra_models
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ext = None
    if external:
        dataset, unreadable = without_unreadable(discover(external), should_stop=should_stop)
        decoded = decode_samples(dataset.samples, should_stop=should_stop)
        paths = [str(dataset.samples[i].path) for i in decoded.kept]
        ext = [Path(external), decoded.images, paths, dataset.labels[decoded.kept]]
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"), "commit": _git_commit(Path(__file__).parent),
               "data": str(Path(data).resolve()), "external": str(Path(external).resolve()) if external else None,
               "external_n": len(ext[2]) if ext else 0, "presets": {}}
    configs = {}
    for preset in presets:
        configs[preset] = preset_config(preset, str(data), str(out / preset), backbones=backbones,
                                        cache_dir=cache_dir, seed=seed, **(overrides or {}))
    if extra_data:
        configs[EXTRA_RUN] = preset_config("best", str(data), str(out / EXTRA_RUN), backbones=backbones,
                                           cache_dir=cache_dir, seed=seed, **dict(
                                               overrides or {}, models=tuple(extra_models),
                                               extra_data=list(extra_data)))
    for preset, config in configs.items():
        kept = [m for m in names() if m not in config.models and (out / "best" / m / "card.json").is_file()
                ] if preset == EXTRA_RUN else []
        saved_as = saved_config_with_kept(config, kept) if kept else None
        if reuse and _finished_run(config, saved_as):
            on_progress(ProgressEvent("log", message=f"{preset}: reusing the finished run in {config.out}"))
            continue
        if reuse and _finished_run(config, saved_as, ignoring=("calibration",)):
            # Calibration is fitted after training, on the run's stored validation predictions: no retraining.
            on_progress(ProgressEvent("log", message=f"{preset}: recalibrating the finished run in {config.out} "
                                                     f"({config.calibration})"))
            recalibrate_run(config.out, config.calibration)
            continue
        done = trained_before(config.out, config) if preset == EXTRA_RUN and reuse else set()
        if done and done < set(config.models):
            # More extra models than last time: train only the new ones into the run (the ones done stay).
            config = dataclasses.replace(config, models=tuple(m for m in config.models if m not in done))
        elif kept:
            shutil.rmtree(config.out, ignore_errors=True)
            _seed_extra_run(out / "best", Path(config.out), config.models)
        on_progress(ProgressEvent("stage", message=f"{preset}: training {', '.join(config.models)}"))
        run_training(config, should_stop, on_progress)
    trained = {preset: _trained_on(Path(c.out), ext[2]) for preset, c in configs.items()} if ext else {}
    if ext:
        ext.append(~np.any(list(trained.values()), axis=0) if trained else np.ones(len(ext[2]), bool))
        results["external_held_out_n"] = int(ext[4].sum())
    for preset, config in configs.items():
        results["presets"][preset] = _preset_results(preset, config, ext, bool(ext) and trained[preset].any(),
                                                     backbones, on_progress, should_stop)

    results["device"] = describe_device()
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float), encoding="utf-8")
    (out / "results.md").write_text(results_markdown(results), encoding="utf-8")
    return results


def _ece(v) -> str:
    return "-" if is_missing(v) else f"{v:.3f}"


def _ece_cell(m: dict) -> str:
    floor = f" [{_ece(m['ece_noise_floor'])}]" if m.get("ece_noise_floor") is not None else ""
    return f"{_ece(m['ece_before'])} -> {_ece(m['ece_after'])}{floor}"


CALIBRATION_WORDS = {"temperature": "a temperature", "logistic": "a slope and an intercept on the logit"}


def _calibrations(results: dict) -> str:
    methods = {block.get("label", preset): block.get("config", {}).get("calibration", "temperature")
               for preset, block in results["presets"].items()}
    return "; ".join(f"{label}: {CALIBRATION_WORDS.get(m, m)}" for label, m in methods.items())


def results_markdown(results: dict) -> str:
    """The two README tables: the paper protocol's test set, then the external set."""
    lines = [f"Measured {results['date']} at commit `{results['commit']}` on {results.get('device', 'this machine')} "
             f"by `python -m trainer benchmark`. 95 % confidence intervals: Wilson (proportions), bootstrap (AUC).",
             "", "**HAM10000, the paper protocol's 240 test images (120 melanoma, 120 other).** Accuracy at the "
             "model's own 0.5 (its argmax, as in the paper; the ensemble: its members' mean at 0.5); sensitivity and "
             f"specificity at each model's threshold, chosen on validation for sensitivity >= {TARGET_SENSITIVITY:.0%}. "
             f"ECE before -> after calibration on validation ({_calibrations(results)}; the ensemble: its members' mean, "
             "then the mean calibrated the same way). ECE in brackets: what a "
             "perfectly calibrated model with the same probabilities would show on these images on average "
             "(sampling noise).", "",
             "| preset | model | paper acc. % | acc. % | AUC | ECE before -> after [noise] | threshold | sens. % | "
             "spec. % |",
             "|---|---|---|---|---|---|---|---|---|"]
    papers = paper_accuracies()
    for preset, block in results["presets"].items():
        preset = block.get("label", preset)
        for name, m in block["models"].items():
            t, op = m["test"], m["test_at_threshold"]
            paper = f"{100 * papers[name]:.0f}" if name in papers else ("90 (target)" if name == "ensemble" else "-")
            lines.append(f"| {preset} | {m['display_name']} | {paper} | {table_with_ci(t['accuracy'], t['accuracy_ci'])} | "
                         f"{table_with_ci(t['roc_auc'], t['roc_auc_ci'], 1, 3)} | {_ece_cell(m)} | {m['threshold']:.3f} | "
                         f"{table_with_ci(op['sensitivity'], op['sensitivity_ci'])} | "
                         f"{table_with_ci(op['specificity'], op['specificity_ci'])} |")
    if results.get("external"):
        name = Path(results["external"]).name
        untouched = [p for p, b in results["presets"].items() if not b.get("trained_on_external")]
        if untouched:
            lines += ["", f"**External: {results['external_n']:,} ISIC 2017 images ({name}), used for no training, "
                          "threshold or model choice.** At each model's shipped threshold.", ""]
            lines += _external_rows(results, untouched, "external")
        if results.get("external_held_out_n", results["external_n"]) < results["external_n"]:
            lines += ["", f"**External, the {results['external_held_out_n']:,} ISIC 2017 images ({name}) that no run "
                          "here trained on, every run.** At each model's shipped threshold; a run trained on the "
                          "others is scored only here.", ""]
            lines += _external_rows(results, list(results["presets"]), "external_held_out")
    counts = {b.get("label", p): b["counts"] for p, b in results["presets"].items()}
    lines += ["", "Training images (benign / malignant): " + "; ".join(
        f"{p}: train {c['train']['benign']} / {c['train']['malignant']}, validation {c['val']['benign']} / "
        f"{c['val']['malignant']}" for p, c in counts.items()) + ".", "", f"_{DISCLAIMER}_", ""]
    return "\n".join(lines)


def _external_rows(results: dict, presets, key: str) -> list[str]:
    lines = ["| preset | model | AUC | sens. % | spec. % |", "|---|---|---|---|---|"]
    for preset in presets:
        block = results["presets"][preset]
        for m in block["models"].values():
            e = m.get(key)
            if e:
                lines.append(f"| {block.get('label', preset)} | {m['display_name']} | "
                             f"{table_with_ci(e['roc_auc'], e['roc_auc_ci'], 1, 3)} | "
                             f"{table_with_ci(e['sensitivity'], e['sensitivity_ci'])} | "
                             f"{table_with_ci(e['specificity'], e['specificity_ci'])} |")
    return lines


def update_readme(*args, **kwargs):
    """The old name of ``update_doc`` (kept for one release)."""
    return update_doc(*args, **kwargs)


def update_doc(readme: str | Path, results: dict, markdown: str | None = None,
                  markers: tuple[str, str] = (README_START, README_END)) -> None:
    """Replace the text between the file's ``markers`` with ``markdown`` (default: the presets' tables)."""
    path = Path(readme)
    start, end = markers
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ConfigError(f"{path} has no '{start}' ... '{end}' markers to put the table between")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    body = results_markdown(results) if markdown is None else markdown
    path.write_text(f"{head}{start}\n{body}\n{end}{tail}", encoding="utf-8")
