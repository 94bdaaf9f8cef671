"""Command line: ``python -m trainer train|evaluate`` (also installed as ``melanoma-train``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from trainer.bundle.calibration import describe_calibration
from trainer.config import TrainConfig
from trainer.errors import BundleError, ConfigError, TrainerError
from trainer.evaluation.probes import record_expectations
from trainer.models.registry import names, retrained_with_extra_data
from trainer.presets import PRESETS, preset_config
from trainer.quiet import import_tensorflow_quietly

EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected three numbers like 0.7,0.15,0.15, got {text!r}") from None
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected three numbers (train,val,test), got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="melanoma-train", description="Train and evaluate the melanoma triage models.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train models and write one bundle per model")
    train.add_argument("--data", required=True, action="append", metavar="DIR",
                       help="data folder (class folders, labels.csv or HAM10000 metadata); more than once: several "
                            "sources, each split on its own (the first with --protocol, the others 70/15/15)")
    train.add_argument("--leave-out", metavar="NAME",
                       help="with several --data: the source (folder name) scored whole and never trained on")
    train.add_argument("--exclude-dx", metavar="CODES",
                       help="diagnosis codes left out where the labels give one, e.g. bcc,scc,akiec,ak")
    train.add_argument("--models", default=",".join(names()), help=f"comma-separated: {','.join(names())}")
    train.add_argument("--preset", choices=sorted(PRESETS),
                       help="start from a named configuration (paper: the paper's recipe; best: see README); "
                            "options given explicitly override it")
    train.add_argument("--protocol", choices=["paper", "extended", "full", "custom"], help="default: paper")
    train.add_argument("--split-fractions", type=_fractions, help="protocol custom: train,val,test e.g. 0.7,0.15,0.15")
    train.add_argument("--out", required=True, help="output folder; bundles go to OUT/<model>/")
    train.add_argument("--epochs", type=int, help="default: 20")
    train.add_argument("--batch-size", type=int, help="default: 32")
    train.add_argument("--learning-rate", type=float, help="default: 1e-3")
    train.add_argument("--patience", type=int, help="default: 3")
    train.add_argument("--extra-data", action="append", metavar="DIR",
                       help="another data folder whose images join the training split only (repeatable); "
                            "validation and test come from --data alone")
    train.add_argument("--extra-data-split", metavar="NAME",
                       help="use only the extra data's labels.csv rows with this source_split (e.g. train)")
    train.add_argument("--max-minutes-per-model", type=float,
                       help="wall-clock budget per model: past it, training ends after the epoch and keeps the best one")
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--split-seed", type=int,
                       help="seed of the train/validation/test split (default: --seed); fix it to compare seeds "
                            "on the same test images")
    train.add_argument("--calibration", choices=["temperature", "logistic"],
                       help="how P(malignant) is calibrated on validation (default temperature; preset best: logistic)")
    train.add_argument("--no-augment", action="store_true", help="train without augmentation")
    train.add_argument("--augmentation", choices=["paper", "strong"], help="default: paper")
    train.add_argument("--aug-copies", type=int, help="augmented copies per image in the feature cache")
    train.add_argument("--backbones", help="file or folder with ImageNet weights (else $MELANOMA_BACKBONES, Keras)")
    train.add_argument("--mobilenet-alpha", type=float, help="MobileNetV2 width (default 1.0; presets: 0.35)")
    train.add_argument("--malignant-dx", default="mel", help="HAM10000 layout: dx codes counted as malignant")
    train.add_argument("--cache-dir", help="feature cache folder (default: $MELANOMA_CACHE or ~/.cache)")
    train.add_argument("--no-feature-cache", action="store_true",
                       help="run the whole model on every batch (slow; for comparison only)")
    train.add_argument("--no-download", action="store_true", help="never download backbone weights")

    ev = sub.add_parser("evaluate", help="evaluate existing bundles on a dataset")
    ev.add_argument("--models", required=True, help="folder of bundles (or one bundle)")
    ev.add_argument("--data", required=True)
    ev.add_argument("--out", required=True)
    ev.add_argument("--split", default="test", choices=["test", "all"])
    ev.add_argument("--backbones")
    en = sub.add_parser("ensemble", help="fit the mean-of-models ensemble's calibration and threshold on a run's "
                                           "validation split")
    en.add_argument("--run", required=True, help="a training run folder (bundles + split.csv)")
    en.add_argument("--add-member", action="append", metavar="BUNDLE",
                    help="first put this bundle (trained elsewhere, never on the run's validation or test images) "
                         "into the run as one more member")
    en.add_argument("--backbones")
    en.add_argument("--data", help="also evaluate the fitted ensemble on every image of this dataset")

    bm = sub.add_parser("benchmark", help="train the paper and best presets and regenerate the README results table")
    bm.add_argument("--data", required=True, action="append", metavar="DIR",
                    help="HAM10000 folder (../shared/data/ham10000); more than once: the multi-source benchmark "
                         "(trainer.experiments.loso: every source, and one run per --leave-out)")
    bm.add_argument("--leave-out", action="append", metavar="NAME", default=[],
                    help="several --data: also train without this source and score it whole (repeatable)")
    bm.add_argument("--models", default=",".join(names()), help="several --data: the models to train")
    bm.add_argument("--backbones", help="ImageNet weights folder (else $MELANOMA_BACKBONES, Keras)")
    bm.add_argument("--out", required=True, help="output folder: OUT/paper, OUT/best, OUT/results.md")
    bm.add_argument("--external", help="external validation data (ISIC 2017), used for nothing but evaluation")
    bm.add_argument("--presets", default="paper,best", help="comma-separated presets (default paper,best)")
    bm.add_argument("--seed", type=int, default=42)
    bm.add_argument("--cache-dir", help="feature cache folder (default: $MELANOMA_CACHE or ~/.cache)")
    bm.add_argument("--extra-data", action="append", metavar="DIR",
                    help="also train --extra-models with the best preset on these images too (run OUT/best-extra; "
                         "the other models are kept from OUT/best); with --external the same folder, the external "
                         "tables say which of its images no run trained on")
    bm.add_argument("--extra-data-split", metavar="NAME", help="only the extra data's rows with this source_split")
    extra = ",".join(retrained_with_extra_data())
    bm.add_argument("--extra-models", default=extra, help=f"models retrained with the extra data (default {extra})")
    bm.add_argument("--retrain", action="store_true", help="train again even where a finished run matches")
    bm.add_argument("--update-doc", "--update-readme", dest="update_doc", metavar="DOC",
                    help="replace the tables between this file's benchmark markers (e.g. docs/results.md; "
                         "--update-readme is the old name, kept for one release)")

    rc = sub.add_parser("recalibrate", help="refit a finished run's calibration and thresholds (no training)")
    rc.add_argument("run", help="a training run folder (bundles, config.json, predictions.csv)")
    rc.add_argument("--method", required=True, choices=["temperature", "logistic"],
                    help="temperature: one scale; logistic: a slope and an intercept on the logit")

    wk = sub.add_parser("worker", help=argparse.SUPPRESS)  # the desktop app's training child process
    wk.add_argument("config", help="a TrainConfig JSON file")

    ex = sub.add_parser("export", help="copy bundles for shipping (CNN weights as float16, checked)")
    ex.add_argument("--models", required=True, help="folder of bundles")
    ex.add_argument("--out", required=True, help="destination, e.g. resources/models")
    ex.add_argument("--backbones")
    ex.add_argument("--no-float16", action="store_true", help="keep float32 weights")
    ex.add_argument("--probe-data", help="data folder whose first 32 images check the export (else random images)")
    return parser


class _Printer:
    """Turns progress events into readable lines, at most a few per model stage."""

    def __init__(self, stream=sys.stdout):
        self.stream = stream
        self._last_features = 0.0

    def __call__(self, event):
        line = None
        if event.stage in ("stage", "model_done", "done", "log", "evaluate"):
            line = event.message
        elif event.stage == "epoch":
            line = f"[{event.model}] {event.message} | ETA <= {_fmt(event.eta_s)}"
        elif event.stage in ("features", "data"):
            now = time.monotonic()
            if event.step == event.steps or now - self._last_features > 20:
                self._last_features = now
                eta = f" | ETA {_fmt(event.eta_s)}" if event.eta_s else ""
                line = f"{event.message}{eta}"
        if line:
            print(line, file=self.stream, flush=True)


def _fmt(seconds) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def _ensemble(args) -> None:
    from trainer.evaluation.metric_files import metrics_table
    from trainer.evaluation.metrics import operating_point
    from trainer.training.ensemble import evaluate_ensemble, fit_ensemble

    if args.add_member:
        from trainer.training.ensemble import add_member

        for bundle in args.add_member:
            add_member(args.run, bundle, args.backbones)
    fitted = fit_ensemble(args.run, args.backbones)
    print(f"ensemble of {', '.join(fitted['members'])}: calibration {describe_calibration(fitted['calibration'])}, "
          f"threshold {fitted['threshold']:.3f} (validation)")
    print("member weights (validation): " + ", ".join(f"{n} {w:.1f}" for n, w in fitted["weights"].items())
          + f"; validation AUC {fitted['weights_validation']['val_auc']:.3f} "
            f"(equal weights: {fitted['weights_validation']['val_auc_equal']:.3f})")
    print(metrics_table({"ensemble": fitted["test"]}, with_paper=False))
    if args.data:
        external = evaluate_ensemble(args.run, args.data, args.backbones)
        ext = dict(external["at_0.5"], operating_point=operating_point(external["at_threshold"]),
                   calibration=dict(external["calibration"] or {"method": "none (the members' mean)"},
                                    ece_test_before=external["ece_before"], ece_test_after=external["at_0.5"]["ece"]))
        print(f"on {args.data}:")
        print(metrics_table({"ensemble": ext}, with_paper=False))


def _extra_data(folders, source_split) -> list[dict]:
    if source_split and not folders:
        raise ConfigError("--extra-data-split needs --extra-data DIR")
    return [{"data": folder, "source_split": source_split} for folder in folders or ()]


def _train_config(args):
    given = dict(protocol=args.protocol, fractions=args.split_fractions, epochs=args.epochs,
                 batch_size=args.batch_size, learning_rate=args.learning_rate, patience=args.patience,
                 augmentation=args.augmentation, aug_copies=args.aug_copies, mobilenet_alpha=args.mobilenet_alpha,
                 calibration=args.calibration)
    common = dict(models=tuple(m for m in args.models.split(",") if m), seed=args.seed, split_seed=args.split_seed,
                  backbones=args.backbones,
                  cache_dir=args.cache_dir, feature_cache=not args.no_feature_cache,
                  allow_download=not args.no_download, malignant_dx=tuple(args.malignant_dx.split(",")),
                  max_minutes_per_model=args.max_minutes_per_model,
                  extra_data=_extra_data(args.extra_data, args.extra_data_split),
                  sources=list(args.data) if len(args.data) > 1 else [], leave_out=args.leave_out,
                  exclude_dx=tuple(c for c in (args.exclude_dx or "").split(",") if c))
    if args.no_augment:
        common["augment"] = False
    if args.preset:
        return preset_config(args.preset, args.data[0], args.out, **common, **given)
    values = {k: v for k, v in given.items() if v is not None}
    return TrainConfig(data=args.data[0], out=args.out, **common, **values).validate()


def _benchmark(args) -> None:
    from trainer.experiments.benchmark import results_markdown, run_benchmark, update_doc

    if len(args.data) > 1:
        from trainer.experiments.loso import run_source_benchmark, sources_markdown

        results = run_source_benchmark(args.data, args.out, leave_out=args.leave_out, backbones=args.backbones,
                                       models=tuple(m for m in args.models.split(",") if m), cache_dir=args.cache_dir,
                                       seed=args.seed, reuse=not args.retrain, on_progress=_Printer())
        print(sources_markdown(results))
        if args.update_doc:
            from trainer.experiments.loso import SOURCES_MARKERS

            update_doc(args.update_doc, results, sources_markdown(results), SOURCES_MARKERS)
            print(f"tables written to {args.update_doc}")
        print(f"results written to {args.out}/results.md and results.json")
        return
    if args.leave_out:
        raise ConfigError("--leave-out needs several sources: pass --data more than once")
    results = run_benchmark(args.data[0], args.out, backbones=args.backbones, external=args.external,
                            presets=tuple(p for p in args.presets.split(",") if p), cache_dir=args.cache_dir,
                            seed=args.seed, reuse=not args.retrain, on_progress=_Printer(),
                            extra_data=_extra_data(args.extra_data, args.extra_data_split),
                            extra_models=tuple(m for m in args.extra_models.split(",") if m))
    print(results_markdown(results))
    if args.update_doc:
        update_doc(args.update_doc, results)
        print(f"table written to {args.update_doc}")
    print(f"results written to {args.out}/results.md and results.json")


def _export(args) -> None:
    from trainer.bundle.io import export_bundle, find_bundles

    probe = None
    if args.probe_data:
        from trainer.data.samples import decode_samples, discover

        probe = decode_samples(discover(args.probe_data).samples[:32]).images
    bundles = find_bundles(args.models)
    if not bundles:
        raise BundleError(f"no model bundle (a folder with card.json) in {args.models}")
    if any(Path(args.out).resolve() == Path(b).resolve().parent for b in bundles):
        raise BundleError(f"--out {args.out} is the folder the bundles come from; export into another folder "
                          "and copy it over")
    exported = []
    for bundle in bundles:
        report = export_bundle(bundle, Path(args.out) / bundle.name, float16=not args.no_float16,
                               backbones=args.backbones, probe=probe)
        exported.append(report["bundle"])
        print(f"{bundle.name}: {report['bytes'] / 1e6:.1f} MB, max |difference| to the original "
              f"{report['max_abs_difference']:.1e}")

    print(f"{record_expectations(exported, args.out).name}: what each model says about the self-test's probe "
          "images (melanoma-desktop --self-test compares)")
    from trainer.training.ensemble import ENSEMBLE_FILE

    ensemble = Path(args.models) / ENSEMBLE_FILE
    if ensemble.is_file():  # the ensemble's threshold travels with its members (the app checks their versions)
        import shutil

        shutil.copy2(ensemble, Path(args.out) / ENSEMBLE_FILE)
        print(f"{ENSEMBLE_FILE}: copied")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    import_tensorflow_quietly()
    try:
        if args.command == "train":
            from trainer.evaluation.metric_files import metrics_table
            from trainer.training.train import run_training

            config = _train_config(args)
            result = run_training(config, on_progress=_Printer())
            if result.skipped:
                print(f"{len(result.skipped)} unreadable file(s) skipped:")
                for path, reason in result.skipped:
                    print(f"  {path}: {reason}")
            print(metrics_table(result.metrics))
            print(f"bundles and summary.md written to {result.out}")
        elif args.command == "evaluate":
            from trainer.evaluation.evaluate import run_evaluation
            from trainer.evaluation.metric_files import metrics_table

            results = run_evaluation(args.models, args.data, args.out, args.split, args.backbones,
                                     on_progress=_Printer())
            print(metrics_table(results, with_paper=False))
            print(f"results written to {args.out}")
        elif args.command == "export":
            _export(args)
        elif args.command == "benchmark":
            _benchmark(args)
        elif args.command == "ensemble":
            _ensemble(args)
        elif args.command == "recalibrate":
            from trainer.evaluation.metric_files import metrics_table
            from trainer.training.recalibrate import recalibrate_run

            print(metrics_table(recalibrate_run(args.run, args.method)))
            print(f"cards, predictions and ensemble.json of {args.run} recalibrated ({args.method})")
        elif args.command == "worker":
            from trainer.worker import main as worker_main

            return worker_main(args.config)
    except TrainerError as exc:
        print(f"melanoma-train: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("melanoma-train: interrupted", file=sys.stderr)
        return 130
    return 0
