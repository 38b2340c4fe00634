"""scikit-learn's 8×8 handwritten digits as the book's training data: a real set, no download.

``load_digits`` ships 1797 images of 64 pixels with values 0…16. Inputs are scaled to [0, 1] and
stacked as columns, X of shape (64, n); targets are one-hot columns, Y of shape (10, n), as
network.py's ``vectorized_result``. A seeded permutation splits off a held-out set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.types import Array

PIXEL_MAX = 16.0
CLASSES = 10


@dataclass(frozen=True)
class Digits:
    """Training inputs and one-hot targets (columns), held-out inputs and their labels."""

    x: Array
    y: Array
    x_test: Array
    labels_test: np.ndarray[Any, Any]

    @property
    def n(self) -> int:
        """The training-set size, the n of network2's L2 term."""
        return int(self.x.shape[1])


def one_hot(labels: np.ndarray[Any, Any]) -> Array:
    """Column j is e_{labels[j]}: shape (10, len(labels))."""
    return np.eye(CLASSES)[:, labels]


def load(n_test: int = 497, seed: int = 0, dtype: Any = np.float64) -> Digits:
    """The digits split by a permutation drawn from ``seed``: the last ``n_test`` are held out."""
    from sklearn.datasets import load_digits

    data = load_digits()
    total = len(data.target)
    if not 1 <= n_test < total:
        raise ValueError(f"held-out size must be in 1…{total - 1}, got {n_test}")
    perm = np.random.default_rng(seed).permutation(total)
    train, test = perm[: total - n_test], perm[total - n_test :]
    x = (data.data.T / PIXEL_MAX).astype(dtype)
    return Digits(
        x=x[:, train],
        y=one_hot(data.target[train]).astype(dtype),
        x_test=x[:, test],
        labels_test=data.target[test],
    )
