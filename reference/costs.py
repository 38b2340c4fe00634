"""Per-sample costs C_x and their gradients ∇_a C_x, one small frozen object each.

A cost satisfies :class:`Cost`: ``fn(a, y)`` is C_x for every column (sample) of ``a`` and
``gradient(a, y)`` is ∇_a C_x, the vector BP1 multiplies by σ'(z^L). The cost of a mini-batch is
the mean of the per-sample costs, ``C = (1/m) Σ_x C_x`` (see :mod:`reference.backprop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reference.types import Array


class Cost(Protocol):
    """C_x(a, y) per sample and its gradient with respect to the output activation a^L."""

    @property
    def name(self) -> str: ...

    @property
    def requires_output(self) -> str | None:
        """The output activation the cost needs, or None if any will do."""
        ...

    def fn(self, a: Array, y: Array) -> Array:
        """C_x for each column (sample): sums over axis −2, the neurons, so stacks work too."""
        ...

    def gradient(self, a: Array, y: Array) -> Array:
        """∇_a C_x, the same shape as a."""
        ...


@dataclass(frozen=True)
class Quadratic:
    """C_x = ½‖a − y‖², so ∇_a C_x = a − y (book eq. 6)."""

    name: str = "quadratic"
    requires_output: str | None = None

    def fn(self, a: Array, y: Array) -> Array:
        return 0.5 * np.sum((a - y) ** 2, axis=-2)

    def gradient(self, a: Array, y: Array) -> Array:
        return a - y


@dataclass(frozen=True)
class CrossEntropy:
    """C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)] (book eq. 63), for sigmoid outputs.

    ∇_a C_x = (a − y) / (a(1 − a)); times σ'(z) = a(1 − a) in BP1 this is the book's δ^L = a − y.
    """

    name: str = "cross_entropy"
    requires_output: str | None = "sigmoid"

    def fn(self, a: Array, y: Array) -> Array:
        return -np.sum(y * np.log(a) + (1.0 - y) * np.log1p(-a), axis=-2)

    def gradient(self, a: Array, y: Array) -> Array:
        return (a - y) / (a * (1.0 - a))


COSTS: dict[str, Cost] = {c.name: c for c in (Quadratic(), CrossEntropy())}
