"""A model's head in NumPy, and a clinic adapter on top of it (NumPy; SciPy only to fit).

Every model of a bundle ends in a small head that reads one vector per image, the *embedding* (the pooled
features of the base for VGG16 and MobileNetV2, the pooled convolution features for the CNN): Dense 256 ReLU,
then a two-class softmax. ``HeadArrays`` holds those weights and the card's calibration, so that a model's
calibrated P(melanoma) can be recomputed from a stored embedding without the image or Keras.

A clinic adapter refits that head on the clinic's confirmed cases, anchored to the shipped one:

    adapted logit = alpha * z + beta + w . ((e - mean) / scale)

``z`` is the shipped model's calibrated logit, ``e`` the embedding. ``alpha = 1, beta = 0, w = 0`` is the
shipped model exactly; ``w`` carries an L2 penalty (``penalty``), so with few cases the adapter stays near
the shipped head and moves away from it only as far as the clinic's cases carry it. ``alpha`` and ``beta``
are not penalised (they recalibrate). Classes are weighted equally, as in the shipped calibration, so the
adapted P(melanoma) is on the same scale the screens use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer.bundle.calibration import apply_calibration

EMBEDDING_DTYPE = np.float16  # how embeddings are stored with each case (half the bytes, ample precision)
PENALTIES = (30.0, 10.0, 3.0, 1.0, 0.3, 0.1, 0.03)  # the grid the adapter's penalty is chosen from, strongest first


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True)
class HeadArrays:
    """A model's head from the embedding to the calibrated P(positive): ``hidden`` (Dense + ReLU, or None when
    the embedding is already the last hidden layer), then ``out`` (the softmax layer), then ``calibration``."""

    out_kernel: np.ndarray  # (d, 2)
    out_bias: np.ndarray  # (2,)
    positive_index: int
    calibration: dict
    hidden_kernel: np.ndarray | None = None  # (embedding dim, 256)
    hidden_bias: np.ndarray | None = None

    @property
    def embedding_dim(self) -> int:
        return int((self.hidden_kernel if self.hidden_kernel is not None else self.out_kernel).shape[0])

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities, (n, 2), as the whole model gives them."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.embedding_dim:
            raise ValueError(f"embeddings of shape {x.shape} do not fit a head reading {self.embedding_dim} features")
        if self.hidden_kernel is not None:
            x = np.maximum(x @ self.hidden_kernel + self.hidden_bias, 0.0)
        logits = (x @ self.out_kernel + self.out_bias).astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return apply_calibration(probs, self.calibration)

    def p_positive(self, embeddings: np.ndarray) -> np.ndarray:
        return self.probabilities(embeddings)[:, self.positive_index]

    def logit(self, embeddings: np.ndarray) -> np.ndarray:
        """The calibrated logit z the adapter starts from."""
        return _logit(self.p_positive(embeddings))


@dataclass(frozen=True)
class Adapter:
    """One model's clinic adapter (see the module docstring); JSON-able through ``to_dict`` / ``from_dict``."""

    alpha: float
    beta: float
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    penalty: float

    def logit(self, base_logit: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        x = (np.asarray(embeddings, dtype=np.float64) - self.mean) / self.scale
        return self.alpha * np.asarray(base_logit, dtype=np.float64) + self.beta + x @ self.weights

    def p_positive(self, base_logit: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(base_logit, embeddings))

    def to_dict(self) -> dict:
        return {"alpha": float(self.alpha), "beta": float(self.beta), "penalty": float(self.penalty),
                "mean": _compact(self.mean), "scale": _compact(self.scale), "weights": _compact(self.weights)}

    @classmethod
    def from_dict(cls, data: dict, dim: int | None = None, where: str = "adapter") -> "Adapter":
        try:
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
            alpha, beta, penalty = float(data["alpha"]), float(data["beta"]), float(data["penalty"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: not an adapter ({type(exc).__name__}: {exc}); export it again") from None
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1 or arrays[0].ndim != 1 or (dim is not None and arrays[0].shape[0] != dim):
            raise ValueError(f"{where}: its arrays have shapes {[a.shape for a in arrays]}, expected ({dim},) each")
        if not (np.all(np.isfinite(arrays[2])) and np.all(arrays[1] > 0) and np.isfinite(alpha + beta)):
            raise ValueError(f"{where}: holds non-finite weights or a scale <= 0")
        return cls(alpha, beta, arrays[0], arrays[1], arrays[2], penalty)


def _compact(values: np.ndarray) -> list[float]:
    """Eight significant digits (relative, so that a tiny scale never rounds to zero)."""
    return [float(f"{float(v):.8g}") for v in values]


def _balanced(y: np.ndarray) -> np.ndarray:
    n_pos, n_neg = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    return np.where(y, 0.5 / n_pos, 0.5 / n_neg)


def fit_adapter(base_logit: np.ndarray, embeddings: np.ndarray, is_positive: np.ndarray, penalty: float,
                replay: tuple | None = None, replay_share: float = 0.5) -> Adapter:
    """The adapter minimising the class-balanced log-loss plus ``penalty / 2 * |w|^2``, starting from the shipped
    head (alpha 1, beta 0, w 0). ``replay``: (base logits, embeddings, is_positive) of public-source cases fitted
    alongside, weighing ``replay_share`` of the clinic's cases (an experiment: experiments/adaptation_probe.py)."""
    from scipy.optimize import minimize  # fitting only

    z = np.asarray(base_logit, dtype=np.float64)
    e = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(is_positive, dtype=bool)
    if len(np.unique(y)) < 2:
        raise ValueError(f"an adapter needs melanomas and benign lesions; got {int(y.sum())} and {int((~y).sum())}")
    mean = e.mean(axis=0)
    scale = e.std(axis=0)
    scale = np.where(scale > 1e-6 * max(float(scale.max()), 1e-12), scale, 1.0)
    c = _balanced(y)
    if replay is not None:
        rz, re, ry = (np.asarray(a) for a in replay)
        z, e, y = np.concatenate([z, rz]), np.concatenate([e, re.astype(np.float64)]), np.concatenate([y, ry.astype(bool)])
        c = np.concatenate([c, replay_share * _balanced(ry.astype(bool))])
    x = (e - mean) / scale
    sign = np.where(y, 1.0, -1.0)
    d = x.shape[1]

    def objective(theta):
        alpha, beta, w = theta[0], theta[1], theta[2:]
        s = alpha * z + beta + x @ w
        margin = sign * s
        loss = np.logaddexp(0.0, -margin)
        g = -sign * sigmoid(-margin) * c  # d loss / d s, weighted
        grad = np.concatenate(([g @ z, g.sum()], x.T @ g + penalty * w))
        return float(c @ loss + 0.5 * penalty * w @ w), grad

    theta0 = np.concatenate(([1.0, 0.0], np.zeros(d)))
    result = minimize(objective, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    theta = result.x
    return Adapter(float(theta[0]), float(theta[1]), mean, scale, theta[2:].copy(), float(penalty))
