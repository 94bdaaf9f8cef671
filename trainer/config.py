"""The resolved training configuration, saved beside every run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from trainer.bundle.calibration import CALIBRATION_METHODS
from trainer.data.samples import DEFAULT_MALIGNANT_DX
from trainer.data.splits import PROTOCOLS
from trainer.errors import ConfigError
from trainer.models.registry import check_architecture, names, spec, transfer_names
from trainer.names import CNN_HEADS

# Fields that change where things are kept or found, not what is trained: a run trained with another --cache-dir,
# or with downloads allowed or not (the backbone is checked by content either way), is the same run (the
# benchmark reuses it; training more models into it counts it as the same configuration).
NOT_TRAINING_FIELDS = ("cache_dir", "allow_download")


@dataclass
class TrainConfig:
    data: str
    out: str
    models: tuple[str, ...] = names()  # every registered architecture (trainer.models.registry)
    protocol: str = "paper"
    fractions: tuple[float, float, float] | None = None  # protocol "custom": train, val, test
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 3
    seed: int = 42
    # The seed of the train/validation/test split when it should differ from ``seed`` (None: ``seed``), e.g. to
    # measure how much results move with initialisation and augmentation alone, on the same test images.
    split_seed: int | None = None
    augment: bool = True
    augmentation: str = "paper"
    aug_copies: int = 2  # augmented copies per training image in the feature cache
    backbones: str | None = None
    mobilenet_alpha: float = 1.0
    malignant_dx: tuple[str, ...] = DEFAULT_MALIGNANT_DX
    cache_dir: str | None = None
    feature_cache: bool = True  # False: the naive path, whole model per batch (benchmarks, tests)
    allow_download: bool = True
    class_weight: bool = True
    preset: str | None = None  # the named preset this configuration came from (trainer.presets), if any
    cnn_head: str = "flatten"  # "flatten": the paper's network; "gap": global average pooling (trainer.models.architectures)
    cnn_epochs: int | None = None  # the CNN's epoch limit when it differs from ``epochs``
    cnn_patience: int | None = None  # the CNN's early-stopping patience when it differs from ``patience``
    # Fine-tuning after the head has converged on frozen features, per transfer model:
    # {name: {"epochs": 6, "learning_rate": 1e-5}, ...} (optional "patience"; "from_block" for an architecture
    # fine-tuned by blocks); see trainer.training.finetune for which layers.
    finetune: dict = field(default_factory=dict)
    # Learning rate times "factor" after "patience" epochs without a lower val_loss, per model:
    # {name: {"factor": 0.5, "patience": 4}}; for a transfer model it applies to its fine-tuning phase.
    plateau: dict = field(default_factory=dict)
    # Wall-clock budget per model (all its phases): past it, training ends after the current epoch and the
    # best epoch so far is saved, as with early stopping. None: no limit. (Results then depend on the machine.)
    max_minutes_per_model: float | None = None
    # More images to train on, from other sources: [{"data": DIR, "source_split": "train" or None}] (source_split:
    # only the rows of DIR/labels.csv with that source_split). They join the training split only: validation and
    # test still come from ``data`` alone, so thresholds, calibration and test results stay comparable.
    extra_data: list = field(default_factory=list)
    # How P(malignant) is calibrated on validation (trainer.bundle.calibration): "temperature" or "logistic" (a slope and
    # an intercept). Fitted after training: a finished run can be recalibrated without training (trainer.training.recalibrate).
    calibration: str = "temperature"
    # Several data sources, each split by lesion / patient into train / validation / test on its own
    # (trainer.data.sources): [{"data": DIR, "protocol": "full", "split_seed": N}] ("protocol" and "split_seed" are
    # filled in by validate(): the first source takes ``protocol`` and the run's split seed, as it would alone; the
    # others "full" and the split seed plus a hash of their name, so that leaving a source out changes no other's
    # split).
    # Training, validation and test are the union of the sources' parts. Empty: ``data`` alone.
    sources: list = field(default_factory=list)
    # The name of one of ``sources`` that is scored, whole, and never trained on, validated on or tuned on:
    # the leave-one-source-out estimate of a clinic the models have never seen.
    leave_out: str | None = None
    # Diagnosis codes left out of the data (where the labels give one, e.g. HAM10000's bcc, scc, akiec):
    # a melanoma-vs-benign set without the other malignant and pre-malignant lesions on its benign side.
    exclude_dx: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def resolved_split_seed(self) -> int:
        return self.seed if self.split_seed is None else int(self.split_seed)

    def validate(self) -> "TrainConfig":
        if not self.models:
            raise ConfigError("no model chosen; pass --models with one or more of " + ", ".join(names()))
        self.models = tuple(check_architecture(m.strip()) for m in self.models)
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; use one of {', '.join(PROTOCOLS)}")
        if self.protocol == "custom" and not self.fractions:
            raise ConfigError("protocol custom needs split fractions (train, val, test), e.g. 0.7,0.15,0.15")
        for name, low in (("epochs", 1), ("batch_size", 1), ("patience", 0), ("aug_copies", 0)):
            if int(getattr(self, name)) < low:
                raise ConfigError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(f"learning rate must be between 0 and 1, got {self.learning_rate}")
        if self.cnn_head not in CNN_HEADS:
            raise ConfigError(f"unknown CNN head {self.cnn_head!r}; use one of {', '.join(CNN_HEADS)}")
        if self.cnn_epochs is not None and int(self.cnn_epochs) < 1:
            raise ConfigError(f"cnn_epochs must be at least 1, got {self.cnn_epochs}")
        if self.max_minutes_per_model is not None and not float(self.max_minutes_per_model) > 0:
            raise ConfigError(f"max_minutes_per_model must be above 0, got {self.max_minutes_per_model}")
        if self.cnn_patience is not None and int(self.cnn_patience) < 0:
            raise ConfigError(f"cnn_patience must be at least 0, got {self.cnn_patience}")
        for name, settings in self.plateau.items():
            check_architecture(name)
            if (not isinstance(settings, dict) or set(settings) != {"factor", "patience"}
                    or not 0 < float(settings["factor"]) < 1 or int(settings["patience"]) < 0):
                raise ConfigError(f"plateau[{name!r}] must be {{'factor': 0 < f < 1, 'patience': N >= 0}}, "
                                  f"got {settings!r}")
        by_blocks_specs = [spec(n) for n in transfer_names() if spec(n).last_block]
        by_blocks = " and ".join(s.name for s in by_blocks_specs)  # the architectures fine-tuned by blocks
        blocks = max((s.last_block for s in by_blocks_specs), default=0)
        for name, settings in self.finetune.items():
            if name not in transfer_names():
                raise ConfigError(f"fine-tuning is defined for {' and '.join(transfer_names())}, not {name!r}")
            if not isinstance(settings, dict) or set(settings) - {"epochs", "learning_rate", "patience", "from_block"}:
                raise ConfigError(f"finetune[{name!r}] must be {{'epochs': N, 'learning_rate': X[, 'patience': P]"
                                  f"[, 'from_block': B ({by_blocks})]}}, got {settings!r}")
            last_block = spec(name).last_block
            if "from_block" in settings and (not last_block or int(settings["from_block"]) not in range(1, last_block + 1)):
                raise ConfigError(f"finetune[{name!r}]: from_block (1-{blocks}) is defined for {by_blocks} only, "
                                  f"got {settings!r}")
            if int(settings.get("epochs", 0)) < 0 or not 0 < float(settings.get("learning_rate", 1e-5)) < 1:
                raise ConfigError(f"finetune[{name!r}]: epochs >= 0 and 0 < learning_rate < 1, got {settings!r}")
        self._validate_extra_data()
        if self.sources or self.leave_out:
            from trainer.data.sources import validate_sources  # (no Keras)

            validate_sources(self)
        self.exclude_dx = tuple(str(dx).strip().lower() for dx in self.exclude_dx if str(dx).strip())
        if self.calibration not in CALIBRATION_METHODS:
            raise ConfigError(f"unknown calibration {self.calibration!r}; use one of {', '.join(CALIBRATION_METHODS)}")
        if self.mobilenet_alpha not in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4):
            raise ConfigError(f"MobileNetV2 alpha {self.mobilenet_alpha} has no ImageNet weights; "
                              "use 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4")
        return self

    def _validate_extra_data(self) -> None:
        if not isinstance(self.extra_data, (list, tuple)):
            raise ConfigError(f"extra_data must be a list of {{'data': DIR, 'source_split': NAME or None}}, "
                              f"got {self.extra_data!r}")
        main = Path(self.data).expanduser().resolve()
        for source in self.extra_data:
            if not isinstance(source, dict) or not isinstance(source.get("data"), str) or \
                    set(source) - {"data", "source_split"}:
                raise ConfigError(f"each extra_data entry must be {{'data': DIR, 'source_split': NAME or None}}, "
                                  f"got {source!r}")
            if Path(source["data"]).expanduser().resolve() == main:
                raise ConfigError(f"extra data {source['data']!r} is the training data itself; name another folder")
        self.extra_data = [{"data": s["data"], "source_split": s.get("source_split")} for s in self.extra_data]

    def to_json(self) -> dict:
        return asdict(self)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")

    @classmethod
    def from_json(cls, data: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("models", "malignant_dx", "exclude_dx"):
            if key in values:
                values[key] = tuple(values[key])
        if values.get("fractions"):
            values["fractions"] = tuple(values["fractions"])
        return cls(**values)
