"""A network2.py-style network written for this project: cost objects, L2 and ``total_cost``.

The interface is the book's ch. 3 network: ``Network2(sizes, cost=CrossEntropyCost)``, where a
cost is a class with ``fn(a, y)`` (C_x) and ``delta(z, a, y)`` (BP1's δ^L);
``update_mini_batch(mini_batch, eta, lmbda, n)`` with the L2 term; ``total_cost(data, lmbda)``.
Everything else is :class:`checker.mutants.book_network.Network`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from checker.mutants.book_network import Array, Layers, MiniBatch, Network, sigmoid_prime


class Cost(Protocol):
    """A cost as network2.py has them: a class with static methods."""

    @staticmethod
    def fn(a: Array, y: Array) -> float: ...

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array: ...


class QuadraticCost:
    """C_x = ½‖a − y‖², so δ^L = (a − y) ⊙ σ'(z^L)."""

    @staticmethod
    def fn(a: Array, y: Array) -> float:
        return 0.5 * float(np.sum((a - y) ** 2))

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array:
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)], so δ^L = a − y (σ' cancels)."""

    @staticmethod
    def fn(a: Array, y: Array) -> float:
        return -float(np.sum(y * np.log(a) + (1.0 - y) * np.log(1.0 - a)))

    @staticmethod
    def delta(z: Array, a: Array, y: Array) -> Array:
        return a - y


class Network2(Network):
    """Sigmoid layers, a choice of cost, weights drawn from N(0, 1/n_in), L2-regularised SGD."""

    def __init__(self, sizes: Sequence[int], cost: type[Cost] = CrossEntropyCost) -> None:
        super().__init__(sizes)
        self.weights = [w / np.sqrt(w.shape[1]) for w in self.weights]
        self.cost = cost

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        """BP1, as the cost object states it: δ^L = cost.delta(z^L, a^L, y)."""
        return self.cost.delta(z[self.L], a[self.L], y)

    def update_mini_batch(  # type: ignore[override]
        self, mini_batch: MiniBatch, eta: float, lmbda: float, n: int
    ) -> None:
        """w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w, b ← b − (η/m) Σ_x ∂C_x/∂b; n: training-set size."""
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        m = len(mini_batch)
        self.descend(nabla_b, nabla_w, self.step_size(eta, m), self.weight_decay(eta, lmbda, n, m))

    def weight_decay(self, eta: float, lmbda: float, n: int, m: int) -> float:
        """1 − ηλ/n, the L2 term's shrinking of every weight (m, the batch size, plays no part)."""
        return 1.0 - eta * lmbda / n

    def total_cost(self, data: MiniBatch, lmbda: float) -> float:
        """(1/n) Σ_x C_x + (λ/2n) Σ_l ‖w^l‖², n = len(data)."""
        n = len(data)
        data_cost = sum(self.cost.fn(self.feedforward(x), y) for x, y in data) / n
        return float(data_cost + self.l2_term(lmbda, n))

    def l2_term(self, lmbda: float, n: int) -> float:
        """(λ/2n) Σ_l ‖w^l‖², the squared Frobenius norms of every weight matrix."""
        return 0.5 * (lmbda / n) * sum(float(np.sum(w * w)) for w in self.weights)
