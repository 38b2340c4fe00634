"""Per-sample costs C_x and the output error δ^L they give (BP1), one small frozen object each.

A cost satisfies :class:`Cost`: ``fn(z, a, y)`` is C_x for every column (sample) of the output
layer's z^L and a^L = σ(z^L), and ``delta(z, a, y, sigma)`` is δ^L by BP1 for the output
activation ``sigma``. The cost of a mini-batch is the mean of the per-sample costs,
``C = (1/m) Σ_x C_x`` (see :mod:`reference.backprop`). ``one_hot`` says the cost wants one-hot
targets y (a class per sample), as the log-likelihood does.

Each δ^L reads as the book's, with a − y (∇_a C of the quadratic cost; δ^L itself for the
cross-entropy and the log-likelihood) formed by :func:`residual`: where the output saturates at 1,
a rounds to 1 and a − y would lose every digit of a small error (σ(37.43) − 1 is −5.6e-17, not 0).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reference.activations import OUTPUT_ONLY, Activation, Softmax, Softplus
from reference.equations import output_error, output_error_general
from reference.types import Array


class Cost(Protocol):
    """C_x per sample, and δ^L by BP1, from the output layer z^L, a^L and y."""

    @property
    def name(self) -> str: ...

    @property
    def requires_output(self) -> str | None:
        """The output activation the cost needs, or None if any will do."""
        ...

    @property
    def one_hot(self) -> bool:
        """Whether targets must be one-hot columns (one class per sample)."""
        ...

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        """C_x for each column (sample): sums over axis −2, the neurons, so stacks work too."""
        ...

    def delta(self, z: Array, a: Array, y: Array, sigma: Activation) -> Array:
        """δ^L by BP1, the same shape as a; ``sigma`` is the output layer's activation."""
        ...


def residual(z: Array, a: Array, y: Array, sigma: Activation) -> Array:
    """a − y. Where σ saturates at 1 (:class:`~reference.activations.Saturating`), computed as
    a(1 − y) − (1 − a)y with 1 − a = ``sigma.complement(z, a)`` from z: the same number, and for
    y ∈ {0, 1} one term is exactly 0, so nothing cancels however close a is to y."""
    # getattr, not isinstance(sigma, Saturating): a Protocol's isinstance takes microseconds,
    # a tenth of a small net's whole backprop
    complement: Callable[[Array, Array], Array] | None = getattr(sigma, "complement", None)
    if complement is None:
        return a - y
    return a * (1.0 - y) - complement(z, a) * y


@dataclass(frozen=True)
class Quadratic:
    """C_x = ½‖a − y‖² (book eq. 6), so ∇_a C_x = a − y."""

    name: str = "quadratic"
    requires_output: str | None = None
    one_hot: bool = False

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        r = a - y
        r *= r  # (a − y)², in place
        c = r.sum(axis=-2)
        c *= 0.5
        return c

    def delta(self, z: Array, a: Array, y: Array, sigma: Activation) -> Array:
        """BP1, δ^L = ∇_a C ⊙ σ'(z^L) with ∇_a C = a − y (:func:`residual`); on a softmax output
        its general form J_σ(z^L)ᵀ ∇_a C."""
        if isinstance(sigma, Softmax):
            return output_error_general(residual(z, a, y, sigma), sigma.jacobian(z, a))
        if sigma.name in OUTPUT_ONLY:
            raise TypeError(f"no Jacobian for the non-elementwise output {sigma.name!r}")
        return output_error(residual(z, a, y, sigma), sigma.prime(z, a))


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
    one_hot: bool = False

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        return np.sum(y * _SOFTPLUS.fn(-z) + (1.0 - y) * _SOFTPLUS.fn(z), axis=-2)

    def delta(self, z: Array, a: Array, y: Array, sigma: Activation) -> Array:
        """BP1 with ∇_a C = (a − y) / (a(1 − a)) and σ'(z) = a(1 − a): the factors cancel, so
        δ^L = a − y (book eq. 66; network2.py's ``CrossEntropyCost.delta``). Multiplied out it
        would be ∞ · 0 where σ(z) rounds to 1. Stable: a(1 − y) − σ(−z)y (:func:`residual`)."""
        return residual(z, a, y, sigma)


_SOFTMAX = Softmax()


@dataclass(frozen=True)
class LogLikelihood:
    """C_x = −ln a^L_y (book eq. 80) for a softmax output and a one-hot y: −Σ_j y_j ln a_j.

    Evaluated from z^L as −Σ_j y_j (z_j − ln Σ_k e^{z_k}), the log-sum-exp max-shifted
    (``Softmax.log_fn``): finite where a_y underflows to 0 and ln a_y would be −∞.
    """

    name: str = "log_likelihood"
    requires_output: str | None = "softmax"
    one_hot: bool = True

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        return -np.sum(y * _SOFTMAX.log_fn(z, axis=-2), axis=-2)

    def delta(self, z: Array, a: Array, y: Array, sigma: Activation) -> Array:
        """BP1 in general form with ∇_a C = −y/a and J = diag(a) − a aᵀ: J ᵀ(−y/a) = a·Σ_k y_k − y,
        which for one-hot y is δ^L = a − y (book eq. 81; network2's LogLikelihoodCost). Multiplied
        out it would divide by an a that underflows to 0. Stable: a(1 − y) − (1 − a)y with the
        softmax complement 1 − a_j = Σ_{k≠j} a_k for the largest a_j (:func:`residual`)."""
        return residual(z, a, y, sigma)


#: One object per cost, simplest first (hypothesis shrinks towards the first: harness.strategies;
#: the checker tries the other costs in this order). Each oracle's own C_x is in oracles/costs.py.
COSTS: dict[str, Cost] = {c.name: c for c in (Quadratic(), CrossEntropy(), LogLikelihood())}
#: Cost names, append-only (seeded random architectures draw by position: a new cost goes last,
#: never reorder or remove; reference.vocabulary re-exports it).
COST_NAMES = ("cross_entropy", "quadratic", "log_likelihood")
