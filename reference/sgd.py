"""Mini-batch stochastic gradient descent, the book's way.

One step on a mini-batch of m samples (network2.py's form; λ = 0 gives network.py's):

    w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w,    b ← b − (η/m) Σ_x ∂C_x/∂b,

where n is the size of the whole training set; biases are not decayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.architecture import Architecture
from reference.backprop import backprop, backprop_per_sample
from reference.gradients import Gradients
from reference.params import Params
from reference.types import Array


@dataclass(frozen=True)
class Step:
    """Learning rate η, L2 strength λ and training-set size n (n only matters when λ > 0)."""

    eta: float
    lmbda: float = 0.0
    n: int = 1

    def __post_init__(self) -> None:
        if not self.eta > 0:
            raise ValueError(f"learning rate eta must be > 0, got {self.eta}")
        if self.lmbda < 0:
            raise ValueError(f"L2 strength lmbda must be >= 0, got {self.lmbda}")
        if self.n < 1:
            raise ValueError(f"training-set size n must be >= 1, got {self.n}")


def apply_gradients(params: Params, grads: Gradients, step: Step) -> Params:
    """w ← (1 − ηλ/n) w − η ∂C/∂w and b ← b − η ∂C/∂b, with ∂C/∂· already the batch mean."""
    decay = 1.0 - step.eta * step.lmbda / step.n
    weights = tuple(
        decay * w - step.eta * nw for w, nw in zip(params.weights, grads.nabla_w, strict=True)
    )
    biases = tuple(b - step.eta * nb for b, nb in zip(params.biases, grads.nabla_b, strict=True))
    return Params(weights, biases)


def update_mini_batch(arch: Architecture, params: Params, x: Array, y: Array, step: Step) -> Params:
    """One SGD step on the mini-batch (x, y), gradients in matrix form."""
    _check_batch(x, y, arch)
    return apply_gradients(params, backprop(arch, params, x, y), step)


def update_mini_batch_per_sample(
    arch: Architecture, params: Params, x: Array, y: Array, step: Step
) -> Params:
    """network.py's ``update_mini_batch``: backprop each sample, sum, then step with η/m."""
    _check_batch(x, y, arch)
    return apply_gradients(params, backprop_per_sample(arch, params, x, y), step)


def sgd(
    arch: Architecture,
    params: Params,
    x: Array,
    y: Array,
    *,
    epochs: int,
    mini_batch_size: int,
    step: Step,
    seed: int,
) -> Params:
    """The book's SGD: each epoch shuffles the training set (seeded) and steps per mini-batch."""
    for batch in mini_batch_order(x.shape[1], mini_batch_size, epochs, seed):
        params = update_mini_batch(arch, params, x[:, batch], y[:, batch], step)
    return params


def mini_batch_order(
    n: int, mini_batch_size: int, epochs: int, seed: int
) -> list[np.ndarray[Any, Any]]:
    """Sample indices of every mini-batch of every epoch, shuffled per epoch from ``seed``.

    As network.py does, the last mini-batch of an epoch may be smaller.
    """
    if not 1 <= mini_batch_size <= n:
        raise ValueError(f"mini-batch size must be in 1…{n} (the data size), got {mini_batch_size}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    rng = np.random.default_rng(seed)
    order: list[np.ndarray[Any, Any]] = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        order.extend(perm[k : k + mini_batch_size] for k in range(0, n, mini_batch_size))
    return order


def _check_batch(x: Array, y: Array, arch: Architecture) -> None:
    sizes = arch.check().sizes
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != sizes[0] or y.shape[0] != sizes[-1]:
        raise ValueError(
            f"{arch.id}: x must be ({sizes[0]}, m) and y ({sizes[-1]}, m), "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{arch.id}: x has {x.shape[1]} samples but y has {y.shape[1]}")
