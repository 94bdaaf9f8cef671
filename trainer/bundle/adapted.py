"""A loaded model with a clinic's adapter on its head (trainer.bundle.adapter): a model of its own, with its own
version (the base version + the clinic's adaptation), flag line and display name, reading the base's embedding.

It answers like any loaded bundle (``name``, ``version``, ``card``, ``predict_proba``,
``predict_with_embeddings``); its embeddings are the base model's, so they are stored under the base
version (``embedding_version``) and a later adaptation starts from the same features.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from trainer.bundle.adapter import Adapter, HeadArrays
from trainer.bundle.model_card import ModelCard

IDENTITY_CALIBRATION = {"method": "temperature", "temperature": 1.0,
                        "fitted_on": "the clinic's confirmed cases (the adapter holds its own calibration)"}


@dataclass
class AdaptedBundle:
    base: object  # trainer.bundle.io.LoadedBundle
    adapter: Adapter
    version: str
    threshold: float
    description: str = ""  # e.g. "adapted to the clinic on 412 confirmed cases"
    _head: HeadArrays | None = field(default=None, repr=False)
    _card: ModelCard | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def embedding_version(self) -> str:
        return self.base.version

    @property
    def directory(self) -> Path:
        return self.base.directory

    @property
    def model(self):
        """The base model (Grad-CAM reads its convolutions: the adapter does not change where it looks)."""
        return self.base.model

    @property
    def class_names(self) -> list[str]:
        return self.base.class_names

    @property
    def card(self) -> ModelCard:
        if self._card is None:  # built and checked once: the window asks for the models' cards often
            self._card = self._adapted_card()
        return self._card

    def _adapted_card(self) -> ModelCard:
        base = self.base.card
        training = {**dict(base.training), "adapted": {"from": base.version, "how": self.description}}
        return base.replace(version=self.version, display_name=f"{base.display_name}, adapted to this clinic",
                            threshold=round(float(self.threshold), 9), calibration=dict(IDENTITY_CALIBRATION),
                            threshold_rule="highest flag line keeping the target share of the clinic's confirmed "
                                           "melanomas (out-of-fold)", training=training)

    def head(self) -> HeadArrays:
        if self._head is None:
            from trainer.bundle.embedding import head_arrays

            self._head = head_arrays(self.base)
        return self._head

    def _adapted(self, embeddings: np.ndarray) -> np.ndarray:
        p = self.adapter.p_positive(self.head().logit(embeddings), embeddings)
        out = np.zeros((len(p), 2))
        positive = self.base.card.positive_index
        out[:, positive], out[:, 1 - positive] = p, 1.0 - p
        return out

    def predict_with_embeddings(self, images: np.ndarray, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
        _, embeddings = self.base.predict_with_embeddings(images, batch_size)
        return self._adapted(embeddings), embeddings

    def predict_proba(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        return self.predict_with_embeddings(images, batch_size)[0]
