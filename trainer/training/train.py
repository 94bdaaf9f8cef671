"""``run_training``: data -> split -> decode -> fit each model -> evaluate -> bundles + summary.

A job body in the house style: plain function, ``should_stop()`` and ``on_progress(event)``.
Each bundle is written to ``OUT/.partial/<model>`` and moved into ``OUT/<model>`` in one step
once complete, so a cancelled or failed run never leaves a half-written bundle behind.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

import keras
import numpy as np

from trainer import __version__
from trainer.bundle.calibration import apply_calibration
from trainer.bundle.io import TunedParts, read_card
from trainer.config import NOT_TRAINING_FIELDS, TrainConfig
from trainer.data.augment import Augmenter
from trainer.data.samples import (
    decode_samples,
    discover,
    only_source_split,
    without_unreadable,
)
from trainer.data.sources import PreparedData, load_and_split, prepare_sources
from trainer.errors import DatasetLayoutError
from trainer.models.architectures import (
    assemble,
    base_of,
    build_head,
    feature_extractor,
    load_backbone,
)
from trainer.models.devices import describe_device, distribution_scope, enable_determinism
from trainer.models.features import FeatureCache, compute_features, images_fingerprint
from trainer.models.registry import names, spec
from trainer.names import dataset_name
from trainer.progress import (
    ProgressEvent,
    ProgressFn,
    TrainingCancelled,
    never_stop,
    no_progress,
)
from trainer.training.ensemble import fit_run_ensemble
from trainer.training.finetune import (
    finetune_end_to_end,
    finetune_last_block,
    merge_histories,
    tuned_layer_names,
)
from trainer.training.fitting import fit
from trainer.training.outputs import write_bundle_outputs, write_summary
from trainer.training.rundir import RunDir, RunResult


def prepare_data(config: TrainConfig, on_progress: ProgressFn = no_progress, should_stop=never_stop) -> PreparedData:
    """Discover, split (grouped by lesion) and decode the images a run needs (several sources: trainer.data.sources)."""
    if config.sources:
        return prepare_sources(config, on_progress, should_stop)
    dataset, split, parts, skipped = load_and_split(config.data, config.protocol, config.resolved_split_seed,
                                                    config, on_progress, should_stop)
    labels = dataset.labels
    x, y, paths = ({part: parts[part][k] for part in parts} for k in range(3))
    for path, reason in skipped:
        on_progress(ProgressEvent("log", message=f"skipped {path}: {reason}"))
    counts = split.summary(labels, dataset.class_names)
    data = PreparedData(dataset, split, x, y, paths, skipped, counts)
    for source in config.extra_data:
        _add_extra_training_data(data, source, config, on_progress, should_stop)
    return data


def _add_extra_training_data(data: PreparedData, source: dict, config, on_progress, should_stop) -> None:
    """Append another source's images to the training split (never to validation or test)."""
    extra = only_source_split(discover(source["data"], config.malignant_dx), source.get("source_split"))
    where = source["data"] + (f" ({source['source_split']})" if source.get("source_split") else "")
    extra, skipped = without_unreadable(extra, should_stop=should_stop)
    held_out = {os.path.realpath(p) for part in ("val", "test") for p in data.paths[part]}
    clash = [str(s.path) for s in extra.samples if os.path.realpath(s.path) in held_out]
    if clash:
        raise DatasetLayoutError(f"extra data {where} holds {len(clash)} image(s) of the validation or test split "
                                 f"(e.g. {clash[0]}); training on them would invalidate the results")

    def report(done, total):
        on_progress(ProgressEvent("data", message=f"decoding extra training images of {where} {done}/{total}",
                                  step=done, steps=total))

    decoded = decode_samples(extra.samples, on_progress=report, should_stop=should_stop)
    if should_stop():
        raise TrainingCancelled("cancelled while decoding images")
    samples = [extra.samples[i] for i in decoded.kept]
    labels = extra.labels[decoded.kept]
    data.x["train"] = np.concatenate([data.x["train"], decoded.images])
    data.y["train"] = np.concatenate([data.y["train"], labels])
    data.paths["train"] = data.paths["train"] + [str(s.path) for s in samples]
    data.extra_samples.extend(samples)
    data.skipped.extend(skipped + decoded.skipped)
    for path, reason in skipped + decoded.skipped:
        on_progress(ProgressEvent("log", message=f"skipped {path}: {reason}"))
    added = {name: int(np.sum(labels == k)) for k, name in enumerate(extra.class_names)}
    for name, n in added.items():
        data.counts["train"][name] += n
    data.extra_counts.append(
        {"data": dataset_name(source["data"]), "source_split": source.get("source_split"), **added})
    on_progress(ProgressEvent("log", message=f"added {len(samples)} training images from {where} "
                                             f"({', '.join(f'{k}: {v}' for k, v in added.items())})"))


def _seed_everything(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    enable_determinism()


def _deadline(config) -> float | None:
    """The ``time.monotonic()`` at which this model's training must end, from now."""
    if config.max_minutes_per_model is None:
        return None
    return time.monotonic() + 60.0 * float(config.max_minutes_per_model)


def _train_from_scratch(config, name, data, on_progress, should_stop):
    """A model built by its spec's builder, trained end to end on pixels (the CNN)."""
    registered = spec(name)
    with distribution_scope():
        model = registered.build(len(data.dataset.class_names), registered.variant_of(config))
    augmenter = Augmenter(config.seed, config.augmentation) if config.augment else None
    history = fit(model, name, data.x["train"], data.y["train"], data.x["val"], data.y["val"],
                  n_classes=len(data.dataset.class_names), epochs=config.cnn_epochs or config.epochs,
                  batch_size=config.batch_size,
                  learning_rate=config.learning_rate,
                  patience=config.patience if config.cnn_patience is None else config.cnn_patience, seed=config.seed,
                  on_progress=on_progress, should_stop=should_stop,
                  use_class_weight=config.class_weight, augmenter=augmenter, plateau=config.plateau.get(name),
                  deadline=_deadline(config))
    probs = model.predict(data.x["test"].astype("float32"), verbose=0, batch_size=32)
    val_probs = model.predict(data.x["val"].astype("float32"), verbose=0, batch_size=32)
    left = _left_out_probabilities(data, lambda x: model.predict(x.astype("float32"), verbose=0, batch_size=32))
    return model, model, "full", history, probs, val_probs, None, left


def _features(config, backbone, extractor, data, on_progress, should_stop):
    """Cached features: val and test once, train as the original plus ``aug_copies`` augmented copies, and the
    left-out source (if any) once. Several sources: cached per source and part (a left-out run reuses them)."""
    cache = FeatureCache(config.cache_dir, enabled=True)
    out: dict[str, object] = {}
    pieces = {part: [(data.x[part], data.chunks_of(part))] for part in ("val", "test", "train")}
    if data.left_out is not None:
        pieces["left_out"] = [(data.left_out.x, data.left_out.chunks)]
    jobs = [("val", "none", None), ("test", "none", None), ("train", "none", None)]
    if config.augment:
        jobs += [("train", f"{config.augmentation}:{config.seed}:{c}", c) for c in range(1, config.aug_copies + 1)]
    if data.left_out is not None:
        jobs.append(("left_out", "none", None))
    for number, (part, aug_key, copy) in enumerate(jobs, start=1):
        label = f"{part}" + (f" (augmented copy {copy})" if copy else "")
        started = time.perf_counter()
        feats = []
        for images, chunks in pieces[part]:
            for source, begin, end in chunks:
                chunk = images[begin:end] if source is not None else images
                key = cache.key(backbone.sha256, backbone.alpha, images_fingerprint(chunk), aug_key)
                transform = Augmenter(config.seed + 1000 * copy, config.augmentation) if copy else None
                where = f" of {source}" if source else ""

                def on_batch(done, total, label=label, number=number, started=started, where=where):
                    rate = (time.perf_counter() - started) / max(done, 1)
                    on_progress(ProgressEvent("features", backbone.architecture,
                                              message=f"{backbone.architecture} features, {label}{where}: "
                                                      f"{done}/{total} (set {number}/{len(jobs)})",
                                              step=done, steps=total, eta_s=rate * (total - done)))

                part_feats = cache.get_or_compute(
                    key, lambda chunk=chunk, transform=transform, on_batch=on_batch: compute_features(
                        extractor, chunk, 32, should_stop, on_batch, transform))
                if part_feats is None:
                    raise TrainingCancelled(f"cancelled while computing {backbone.architecture} features")
                feats.append(part_feats)
        feats = np.concatenate(feats) if len(feats) > 1 else feats[0]
        if part == "train":
            out.setdefault("train", []).append(feats)
        else:
            out[part] = feats
    return out


def _left_out_probabilities(data, predict) -> np.ndarray | None:
    """The model's output on the left-out source (None without one); ``predict`` maps images to probabilities."""
    return None if data.left_out is None else predict(data.left_out.x)


def _train_transfer(config, name, data, on_progress, should_stop):
    registered = spec(name)
    backbone = load_backbone(name, registered.width(config.mobilenet_alpha), config.backbones, allow_download=config.allow_download)
    with distribution_scope():
        extractor = feature_extractor(backbone)
        head = build_head(extractor.output_shape[-1], len(data.dataset.class_names))
    n_classes = len(data.dataset.class_names)
    common = dict(n_classes=n_classes, epochs=config.epochs, batch_size=config.batch_size,
                  learning_rate=config.learning_rate, patience=config.patience, seed=config.seed,
                  on_progress=on_progress, should_stop=should_stop,
                  use_class_weight=config.class_weight, deadline=_deadline(config))
    settings = config.finetune.get(name) or {}
    if int(settings.get("epochs", 0)) > 0:
        base = base_of(extractor)
        if registered.cached_split_layer and int(settings.get("from_block", registered.last_block)) == \
                registered.last_block:
            frozen, tuning, probs, val_probs = finetune_last_block(config, backbone, extractor, head, data, settings,
                                                              common, on_progress, should_stop)
        else:
            feats = _features(config, backbone, extractor, data, on_progress, should_stop)
            frozen = fit(head, name, feats["train"], data.y["train"], feats["val"], data.y["val"], **common)
            tuning, probs, val_probs = finetune_end_to_end(config, name, extractor, head, data, settings, common,
                                                           frozen)
        model = assemble(extractor, head, name)
        parts = TunedParts(extractor, head, tuned_layer_names(name, base, settings.get("from_block")))
        history = merge_histories(frozen, tuning)
        history["frozen_epochs"] = len(frozen.get("loss", []))
        history["fine_tuning_kept"] = tuning["kept"]
        left = _left_out_probabilities(data, lambda x: model.predict(x.astype("float32"), verbose=0, batch_size=32))
        return model, parts, "tuned", history, probs, val_probs, backbone, left
    if config.feature_cache:
        feats = _features(config, backbone, extractor, data, on_progress, should_stop)
        history = fit(head, name, feats["train"], data.y["train"], feats["val"], data.y["val"], **common)
        model = assemble(extractor, head, name)
        probs = head.predict(feats["test"], verbose=0, batch_size=256)
        val_probs = head.predict(feats["val"], verbose=0, batch_size=256)
    else:  # the naive path: the whole model, frozen base included, on every batch of every epoch
        model = assemble(extractor, head, name)
        augmenter = Augmenter(config.seed, config.augmentation) if config.augment else None
        history = fit(model, name, data.x["train"], data.y["train"], data.x["val"], data.y["val"],
                      augmenter=augmenter, **common)
        probs = model.predict(data.x["test"].astype("float32"), verbose=0, batch_size=32)
        val_probs = model.predict(data.x["val"].astype("float32"), verbose=0, batch_size=32)
    if config.feature_cache:
        left = _left_out_probabilities(data, lambda _: head.predict(feats["left_out"], verbose=0, batch_size=256))
    else:
        left = _left_out_probabilities(data, lambda x: model.predict(x.astype("float32"), verbose=0, batch_size=32))
    return model, head, "head", history, probs, val_probs, backbone, left


def run_training(config: TrainConfig, should_stop=never_stop, on_progress: ProgressFn = no_progress) -> RunResult:
    """Train every model in ``config.models``; see the module docstring."""
    config.validate()
    out = Path(config.out)
    partial_root = out / ".partial"
    data = prepare_data(config, on_progress, should_stop)
    out.mkdir(parents=True, exist_ok=True)
    kept_rows = RunDir(out).rows_of_other_models(data, config.models)
    # The run folder holds the retrained models and the kept ones (each bundle's card says how it was trained);
    # kept models that an earlier training of this same configuration made count as trained by it.
    kept_models = {row[0] for row in kept_rows}
    saved = config if not kept_models else saved_config_with_kept(
        config, kept_models, also_trained=trained_before(out, config) & kept_models)
    RunDir(out).write_config(saved.to_json())
    RunDir(out).write_split(data)
    device = describe_device()
    bundles, all_metrics, all_probs, prediction_rows = {}, {}, {}, {}
    started_run = time.perf_counter()
    for name in config.models:
        _seed_everything(config.seed)
        work_dir = partial_root / name
        shutil.rmtree(work_dir, ignore_errors=True)
        work_dir.mkdir(parents=True)
        on_progress(ProgressEvent("stage", name, message=f"training {name} on {device}"))
        started = time.perf_counter()
        try:
            if spec(name).from_scratch:
                model, saved_part, part_kind, history, probs, val_probs, backbone, left_probs = _train_from_scratch(
                    config, name, data, on_progress, should_stop)
            else:
                model, saved_part, part_kind, history, probs, val_probs, backbone, left_probs = _train_transfer(
                    config, name, data, on_progress, should_stop)
        except BaseException:
            shutil.rmtree(work_dir, ignore_errors=True)
            raise
        metrics, probs = write_bundle_outputs(
            work_dir, name=name, config=config, data=data, saved_part=saved_part,
            part_kind=part_kind, backbone=backbone, history=history,
            probabilities=probs, val_probabilities=val_probs, device=device,
            seconds=time.perf_counter() - started, preprocessing=spec(name).preprocessing, trainer_version=__version__,
        )
        calibration = read_card(work_dir).calibration
        prediction_rows[name] = {"val": apply_calibration(val_probs, calibration), "test": probs}
        if left_probs is not None:
            prediction_rows[name]["left_out"] = apply_calibration(left_probs, calibration)
        final = out / name
        if final.exists():
            old = out / f".old-{name}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            os.replace(work_dir, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work_dir, final)
        bundles[name], all_metrics[name], all_probs[name] = final, metrics, probs
        on_progress(ProgressEvent("model_done", name, message=f"{name}: test accuracy {metrics['accuracy']:.3f}, "
                                                              f"AUC {metrics['roc_auc']:.3f}", logs=metrics))
        keras.backend.clear_session()
    shutil.rmtree(partial_root, ignore_errors=True)
    RunDir(out).write_predictions(data, prediction_rows, kept_rows)
    fitted = fit_run_ensemble(out, seed=config.seed)
    if fitted is not None:
        on_progress(ProgressEvent("log", message=f"ensemble of {', '.join(fitted['members'])}: threshold "
                                                 f"{fitted['threshold']:.3f} (validation), test AUC "
                                                 f"{fitted['test']['roc_auc']:.3f}"))
    write_summary(out, config, data, all_metrics, seconds=time.perf_counter() - started_run, device=device)
    RunDir(out).write_skipped(data.skipped)
    on_progress(ProgressEvent("done", message=f"run written to {out}"))
    return RunResult(out, bundles, all_metrics, data.skipped, data.counts, all_probs, data.paths["test"])


def saved_config_with_kept(config: TrainConfig, kept_models, also_trained=()) -> TrainConfig:
    """What config.json says of a run that kept some models of an earlier training: every model in the
    folder, and which of them this configuration did not train (their cards say how they were).
    ``also_trained``: kept models that an earlier training of this same configuration made."""
    trained = set(config.models) | set(also_trained)
    kept = sorted(set(kept_models) - trained)
    extra = dict(config.extra, kept_models=kept) if kept else dict(config.extra)
    return dataclasses.replace(config, models=tuple(m for m in names() if m in kept or m in trained),
                               extra=extra)


def _what_was_trained(config: TrainConfig) -> dict:
    """A configuration as json, without which models it names and where its features were cached."""
    saved = json.loads(json.dumps(config.to_json()))
    saved["extra"] = {k: v for k, v in saved.get("extra", {}).items() if k != "kept_models"}
    for key in ("models", *NOT_TRAINING_FIELDS):
        saved.pop(key, None)
    return saved


def trained_before(out: str | Path, config: TrainConfig) -> set[str]:
    """The models in the run ``out`` that an earlier training with this configuration (other models aside)
    made, by its config.json; empty when there is none or it differs."""
    try:
        saved = TrainConfig.from_json(RunDir(out).saved_config())
    except (OSError, ValueError, TypeError):
        return set()
    if _what_was_trained(saved) != _what_was_trained(config):
        return set()
    return {m for m in saved.models if m not in saved.extra.get("kept_models", ())
            and (Path(out) / m / "card.json").is_file()}
