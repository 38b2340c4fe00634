"""Mini-batch stochastic gradient descent, the book's way.

One step on a mini-batch of m samples (network2.py's form; λ = 0 gives network.py's):

    w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w,    b ← b − (η/m) Σ_x ∂C_x/∂b,

where n is the size of the whole training set; biases are not decayed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
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


Update = Callable[[Architecture, Params, Array, Array, Step], Params]
"""One SGD step: :func:`update_mini_batch` or :func:`update_mini_batch_per_sample`."""


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
    _check_batch(x, y, arch)
    for batch in mini_batch_order(x.shape[1], mini_batch_size, epochs, seed):
        params = update_mini_batch(arch, params, x[:, batch], y[:, batch], step)
    return params


def sgd_steps(
    arch: Architecture,
    params: Params,
    x: Array,
    y: Array,
    order: Sequence[np.ndarray[Any, Any]],
    step: Step,
    update: Update = update_mini_batch,
) -> Iterator[Params]:
    """The parameters after each step, one step per mini-batch of ``order`` (sample indices).

    ``order`` is :func:`mini_batch_order`'s list, or any other: the same order and starting
    parameters drive every implementation of a training run, step for step. The run is checked
    (:func:`check_run`) before the first step.
    """
    check_run(arch, params, x, y, order)

    def steps(params: Params) -> Iterator[Params]:
        for batch in order:
            params = update(arch, params, x[:, batch], y[:, batch], step)
            yield params

    return steps(params)


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


def check_run(
    arch: Architecture, params: Params, x: Array, y: Array, order: Sequence[np.ndarray[Any, Any]]
) -> None:
    """Raise ValueError, one line naming the architecture, unless a training run is well formed.

    x is (n_1, n) and y (n_L, n); the parameters have the architecture's shapes; every
    mini-batch of ``order`` holds 1…n sample indices in 0…n−1.
    """
    _check_batch(x, y, arch)
    sizes = arch.sizes
    want = [(n_out, n_in) for n_in, n_out in itertools.pairwise(sizes)]
    got = [w.shape for w in params.weights]
    if got != want or [b.shape for b in params.biases] != [(n_out, 1) for n_out, _ in want]:
        raise ValueError(
            f"{arch.id}: weights and biases have shapes {got} and "
            f"{[b.shape for b in params.biases]}, expected {want} and {[(r, 1) for r, _ in want]}"
        )
    n = x.shape[1]
    for t, batch in enumerate(order, start=1):
        indices = np.asarray(batch)
        if indices.ndim != 1 or not 1 <= indices.size <= n:
            raise ValueError(
                f"{arch.id}: mini-batch {t} has {indices.size} samples; "
                f"must be 1…{n} (the data size)"
            )
        if indices.dtype.kind not in "iu" or indices.min() < 0 or indices.max() >= n:
            raise ValueError(
                f"{arch.id}: mini-batch {t} has sample indices outside 0…{n - 1}: {indices}"
            )


def _check_batch(x: Array, y: Array, arch: Architecture) -> None:
    sizes = arch.check().sizes
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != sizes[0] or y.shape[0] != sizes[-1]:
        raise ValueError(
            f"{arch.id}: x must be ({sizes[0]}, m) and y ({sizes[-1]}, m), "
            f"got {x.shape} and {y.shape}"
        )
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"{arch.id}: x has {x.shape[1]} samples but y has {y.shape[1]}")
