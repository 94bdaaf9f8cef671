"""Wizard page 2: models, protocol and hyper-parameters; backbone check, device and time estimate."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from melanoma_desktop.ui.batch_bar import format_eta
from melanoma_desktop.ui.worker import Job
from trainer.api import (
    PRESET_MOBILENET_ALPHA,
    PRESET_SUMMARIES,
    PRESETS,
    architecture_names,
    architecture_spec,
    estimate_training,
    preset_config,
)

# What each recipe is called on screen, with a rough time on a 2-core CPU for HAM10000-sized data (the
# "Estimate time" button measures it on this computer for the chosen data).
RECIPE_WORDS = {
    "best": "Best — the shipped models' recipe (HAM10000: about 2-3 hours on a 2-core CPU; minutes on a GPU)",
    "paper": "Quick — the paper's recipe on 1,200 images (HAM10000: 6-22 minutes on a 2-core CPU)",
}


class SetupPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.estimate = None
        self.result_label = QLabel("")  # first: the recipe's fields report their changes to it
        self.result_label.setWordWrap(True)
        self.setTitle("2. Setup")
        self.setSubTitle("Choose Quick or Best, then 'Estimate time' to see how long it takes on this computer. "
                         "The settings behind each recipe are under Advanced. New model versions start with the shipped "
                         "flag line: a clinic flag line is made again for them in Models > Local performance.")
        layout = QVBoxLayout(self)
        recipe_row = QHBoxLayout()
        recipe_row.addWidget(QLabel("Recipe"))
        self.recipe = QComboBox()
        for name in ("best", "paper"):  # the stronger recipe first: it is the default
            self.recipe.addItem(RECIPE_WORDS[name], name)
        recipe_row.addWidget(self.recipe, 1)
        layout.addLayout(recipe_row)
        self.recipe_note = QLabel("")
        self.recipe_note.setWordWrap(True)
        self.recipe_note.setStyleSheet("color: #555;")
        layout.addWidget(self.recipe_note)
        models_row = QHBoxLayout()
        self.model_boxes = {}
        for name in architecture_names():
            box = QCheckBox(architecture_spec(name).short_name)
            box.setChecked(True)
            box.toggled.connect(self._invalidate)
            self.model_boxes[name] = box
            models_row.addWidget(box)
        layout.addLayout(models_row)
        form = QFormLayout()
        self.protocol = QComboBox()
        self.protocol.addItems(["paper", "extended", "full", "custom"])
        self.fractions = QLineEdit("0.7,0.15,0.15")
        self.fractions.setEnabled(False)
        self.protocol.currentTextChanged.connect(lambda text: self.fractions.setEnabled(text == "custom"))
        self.epochs = QSpinBox(minimum=1, maximum=200, value=20)
        self.batch_size = QSpinBox(minimum=1, maximum=512, value=32)
        self.learning_rate = QDoubleSpinBox(decimals=5, minimum=0.00001, maximum=0.5, singleStep=0.0001, value=0.001)
        self.augment = QCheckBox("flips, rotation, zoom, brightness, contrast")
        self.augment.setChecked(True)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=42)
        self.alpha = QComboBox()
        self.alpha.addItems(["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"])
        self.backbones = QLineEdit(wizard.backbones or "")
        self.backbones.setPlaceholderText("folder with ImageNet weights (else $MELANOMA_BACKBONES, then the shipped ones)")
        for label, widget in (("Protocol", self.protocol), ("Custom split (train,val,test)", self.fractions),
                              ("Epochs (max)", self.epochs), ("Batch size", self.batch_size),
                              ("Learning rate", self.learning_rate), ("Augmentation", self.augment),
                              ("Seed", self.seed), ("MobileNetV2 alpha", self.alpha),
                              ("Backbone weights", self.backbones)):
            form.addRow(label, widget)
            for signal in ("currentTextChanged", "valueChanged", "textChanged", "toggled"):
                if hasattr(widget, signal):
                    getattr(widget, signal).connect(self._invalidate)
                    break
        self.advanced = QGroupBox("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        holder = QWidget()
        holder.setLayout(form)
        advanced_layout = QVBoxLayout(self.advanced)
        advanced_layout.addWidget(holder)
        self.advanced.toggled.connect(holder.setVisible)
        holder.setVisible(False)
        layout.addWidget(self.advanced)
        self.recipe.currentIndexChanged.connect(self._apply_recipe)
        self._apply_recipe()
        self.check_button = QPushButton("Estimate time (checks the backbone weights too)")
        self.check_button.clicked.connect(self.check)
        layout.addWidget(self.check_button)
        layout.addWidget(self.result_label)
        layout.addStretch(1)

    def _apply_recipe(self, *_):
        self.recipe_note.setText(PRESET_SUMMARIES[self.recipe.currentData()])
        preset = PRESETS[self.recipe.currentData()]
        self.protocol.setCurrentText(preset["protocol"])
        self.epochs.setValue(preset["epochs"])
        self.learning_rate.setValue(preset["learning_rate"])
        self.augment.setChecked(True)
        self.alpha.setCurrentText(str(PRESET_MOBILENET_ALPHA))

    def config(self, data: str, out: str):
        fractions = None
        if self.protocol.currentText() == "custom":
            fractions = tuple(float(v) for v in self.fractions.text().split(","))
        return preset_config(
            self.recipe.currentData(), data, out, models=tuple(n for n, b in self.model_boxes.items() if b.isChecked()),
            protocol=self.protocol.currentText(), fractions=fractions, epochs=self.epochs.value(),
            batch_size=self.batch_size.value(), learning_rate=self.learning_rate.value(),
            augment=self.augment.isChecked(), seed=self.seed.value(), mobilenet_alpha=float(self.alpha.currentText()),
            backbones=self.backbones.text().strip() or None, allow_download=False, cache_dir=self.wiz.cache_dir,
            extra_data=self.wiz.data_page.extra_data(),
        )

    def _invalidate(self, *_):
        self.estimate = None
        self.result_label.setText("")
        self.completeChanged.emit()

    def check(self) -> Job:
        try:
            config = self.config(str(self.wiz.data_page.report.root), "").validate()
        except Exception as exc:
            self.result_label.setText(f"✖ {exc}")
            return None
        counts = self.wiz.data_page.report.counts
        self.result_label.setText("Checking the backbone weights and timing a few images on this machine…")
        job = Job("Checking setup", lambda should_stop, on_progress: estimate_training(config, counts))
        job.signals.sig_finished.connect(self._on_estimate)
        job.signals.sig_failed.connect(lambda message, _tb: self.result_label.setText(f"✖ {message}"))
        return self.wiz.runner.submit(job)

    def _on_estimate(self, estimate) -> None:
        self.estimate = estimate
        per_model = ", ".join(f"{k} {format_eta(v).replace(' left', '')}" for k, v in estimate.seconds_per_model.items())
        self.result_label.setText(
            f"Device: <b>{estimate.device}</b><br>Estimated training time: <b>about "
            f"{format_eta(estimate.total_seconds).replace(' left', '')}</b> ({per_model}); an upper bound: early "
            f"stopping and backbone features already in the cache make it shorter<br>"
            + "<br>".join(estimate.notes))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.estimate is not None and any(b.isChecked() for b in self.model_boxes.values())
