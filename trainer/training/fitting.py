"""The two training paths: the custom CNN end to end on (augmented) pixels, and a transfer
model's head on cached backbone features. Both use the paper's recipe: Adam, categorical
cross-entropy, early stopping on val_loss with the best weights restored; the Keras history is returned (the bundle's
history.csv is written from it by trainer.training.outputs)."""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from trainer.data.augment import Augmenter
from trainer.progress import ProgressEvent, ProgressFn, TrainingCancelled


class ProgressCallback(keras.callbacks.Callback):
    """Reports every batch and epoch, with an ETA; sets ``model.stop_training`` when asked to stop."""

    def __init__(self, model_name: str, epochs: int, steps: int, on_progress: ProgressFn, should_stop):
        super().__init__()
        self.model_name = model_name
        self.epochs = epochs
        self.steps = steps
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.cancelled = False
        self._epoch = 0
        self._started = time.perf_counter()
        self._epoch_times: list[float] = []
        self._epoch_start = self._started

    def _check_stop(self):
        if self.should_stop():
            self.cancelled = True
            self.model.stop_training = True

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1
        self._epoch_start = time.perf_counter()
        self._check_stop()

    def on_train_batch_end(self, batch, logs=None):
        step = batch + 1
        elapsed_epoch = time.perf_counter() - self._epoch_start
        per_step = elapsed_epoch / step
        remaining_steps = (self.steps - step) + (self.epochs - self._epoch) * self.steps
        self.on_progress(
            ProgressEvent("train", self.model_name, epoch=self._epoch, epochs=self.epochs, step=step,
                          steps=self.steps, eta_s=per_step * remaining_steps,
                          logs={k: float(v) for k, v in (logs or {}).items()})
        )
        self._check_stop()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch_times.append(time.perf_counter() - self._epoch_start)
        mean = sum(self._epoch_times) / len(self._epoch_times)
        logs = {k: float(v) for k, v in (logs or {}).items()}
        text = " ".join(f"{k}={v:.4f}" for k, v in logs.items())
        self.on_progress(
            ProgressEvent("epoch", self.model_name, message=f"epoch {epoch + 1}/{self.epochs} {text}",
                          epoch=epoch + 1, epochs=self.epochs, eta_s=mean * (self.epochs - epoch - 1), logs=logs)
        )
        self._check_stop()


def class_weights(labels: np.ndarray, n_classes: int) -> dict[int, float]:
    """Balanced weights, n / (k * count), from training counts."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    return {k: float(len(labels) / (n_classes * c)) if c else 0.0 for k, c in enumerate(counts)}


class _Batches(keras.utils.PyDataset):
    """Seeded shuffled batches with one-hot targets and per-sample class weights.

    ``inputs`` is either one array, or a list of arrays (feature copies) of which epoch ``e``
    uses copy ``e % len(list)``; ``transform`` (augmentation) is applied to each batch.
    """

    def __init__(self, inputs, labels, n_classes, batch_size, seed, weights=None, transform=None):
        super().__init__(workers=1, use_multiprocessing=False)
        self.copies = inputs if isinstance(inputs, list) else [inputs]
        self.labels = labels
        self.onehot = keras.utils.to_categorical(labels, n_classes).astype("float32")
        self.batch_size = batch_size
        self.weights = weights or {}
        self.transform = transform
        self.seed = seed
        self.epoch = 0
        self._order = np.random.default_rng(seed).permutation(len(labels))

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)

    def __getitem__(self, index):
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.copies[self.epoch % len(self.copies)][idx]
        if self.transform is not None:
            x = self.transform(x)
        w = np.array([self.weights.get(int(y), 1.0) for y in self.labels[idx]], dtype="float32")
        return x.astype("float32"), self.onehot[idx], w

    def on_epoch_end(self):
        self.epoch += 1
        self._order = np.random.default_rng(self.seed + self.epoch).permutation(len(self.labels))


class _Deadline(keras.callbacks.Callback):
    """Ends training after the epoch during which ``time.monotonic()`` passed ``deadline``."""

    def __init__(self, deadline: float):
        super().__init__()
        self.deadline = deadline

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() >= self.deadline:
            self.model.stop_training = True


def fit(
    model: keras.Model,
    name: str,
    train_inputs,
    train_labels: np.ndarray,
    val_inputs: np.ndarray,
    val_labels: np.ndarray,
    *,
    n_classes: int,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    seed: int,
    on_progress: ProgressFn,
    should_stop,
    use_class_weight: bool = True,
    augmenter: Augmenter | None = None,
    plateau: dict | None = None,
    deadline: float | None = None,
) -> dict[str, list[float]]:
    """Compile and fit ``model``; returns the Keras history. Raises TrainingCancelled on stop.

    ``plateau`` ({"factor": f, "patience": p}) multiplies the learning rate by ``f`` after ``p`` epochs
    without a lower validation loss (ReduceLROnPlateau); None keeps it constant. Past ``deadline`` (a
    ``time.monotonic()`` value) training ends after the current epoch, like early stopping: the best
    epoch's weights are kept and the bundle is written.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    weights = class_weights(train_labels, n_classes) if use_class_weight else None
    batches = _Batches(train_inputs, train_labels, n_classes, batch_size, seed, weights, augmenter)
    val_y = keras.utils.to_categorical(val_labels, n_classes).astype("float32")
    # Validation loss weighted like the training loss: with balanced class weights and an imbalanced
    # validation split, an unweighted val_loss rewards predicting the majority class and early stopping
    # would keep the wrong epoch.
    val_w = np.array([weights.get(int(y), 1.0) for y in val_labels], dtype="float32") if weights else None
    progress = ProgressCallback(name, epochs, len(batches), on_progress, should_stop)
    callbacks = [
        progress,
        # The best epoch's weights are kept in memory and restored at the end; they are what the bundle
        # saves. (No checkpoint file per epoch: writing the CNN's 89 MB each time cost seconds of I/O
        # and stalled the desktop app's event loop.)
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True),
    ]
    if deadline is not None:
        callbacks.append(_Deadline(deadline))
    if plateau:
        callbacks.insert(1, keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=float(plateau["factor"]), patience=int(plateau["patience"]), min_lr=1e-7))
    history = model.fit(
        batches,
        validation_data=(np.asarray(val_inputs, dtype="float32"), val_y) if val_w is None
        else (np.asarray(val_inputs, dtype="float32"), val_y, val_w),
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
        shuffle=False,
    )
    if progress.cancelled:
        raise TrainingCancelled(f"training of {name} was cancelled")
    return {k: [float(v) for v in vals] for k, vals in history.history.items()}
