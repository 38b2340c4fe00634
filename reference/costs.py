"""Per-sample costs C_x and the output error δ^L they give (BP1), one small frozen object each.

A cost satisfies :class:`Cost`: ``fn(z, a, y)`` is C_x for every column (sample) of the output
layer's z^L and a^L = σ(z^L), and ``delta(z, a, y, sigma_prime)`` is δ^L by BP1. The cost of a
mini-batch is the mean of the per-sample costs, ``C = (1/m) Σ_x C_x`` (see
:mod:`reference.backprop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reference.activations import Softplus
from reference.equations import output_error
from reference.types import Array


class Cost(Protocol):
    """C_x per sample, and δ^L = ∇_a C ⊙ σ'(z^L) (BP1), from the output layer z^L, a^L and y."""

    @property
    def name(self) -> str: ...

    @property
    def requires_output(self) -> str | None:
        """The output activation the cost needs, or None if any will do."""
        ...

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        """C_x for each column (sample): sums over axis −2, the neurons, so stacks work too."""
        ...

    def delta(self, z: Array, a: Array, y: Array, sigma_prime: Array) -> Array:
        """δ^L by BP1, the same shape as a; ``sigma_prime`` is σ'(z^L)."""
        ...


@dataclass(frozen=True)
class Quadratic:
    """C_x = ½‖a − y‖² (book eq. 6), so ∇_a C_x = a − y."""

    name: str = "quadratic"
    requires_output: str | None = None

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        r = a - y
        r *= r  # (a − y)², in place
        c = r.sum(axis=-2)
        c *= 0.5
        return c

    def delta(self, z: Array, a: Array, y: Array, sigma_prime: Array) -> Array:
        return output_error(a - y, sigma_prime)


_SOFTPLUS = Softplus()


@dataclass(frozen=True)
class CrossEntropy:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] (book eq. 63), for sigmoid outputs.

    With a = σ(z), ln a = −softplus(−z) and ln(1 − a) = −softplus(z), so C_x is evaluated as
    Σ_j [y_j softplus(−z_j) + (1 − y_j) softplus(z_j)]: the same number in exact arithmetic, and
    finite where σ(z) rounds to 0 or 1 and ln(1 − a) would be −∞.
    """

    name: str = "cross_entropy"
    requires_output: str | None = "sigmoid"

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        return np.sum(y * _SOFTPLUS.fn(-z) + (1.0 - y) * _SOFTPLUS.fn(z), axis=-2)

    def delta(self, z: Array, a: Array, y: Array, sigma_prime: Array) -> Array:
        """BP1 with ∇_a C = (a − y) / (a(1 − a)) and σ'(z) = a(1 − a): the factors cancel, so
        δ^L = a − y (book eq. 66; network2.py's ``CrossEntropyCost.delta``). Multiplied out it
        would be ∞ · 0 where σ(z) rounds to 1."""
        return a - y


COSTS: dict[str, Cost] = {c.name: c for c in (Quadratic(), CrossEntropy())}
