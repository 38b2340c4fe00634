"""Activation functions σ and their derivatives σ', one small frozen object each.

Every activation satisfies :class:`Activation`: ``fn(z)`` is σ(z) and ``prime(z)`` is σ'(z),
both elementwise; ``prime(z, a)`` may reuse a = σ(z) from the forward pass (the same values, less
work). The equations BP1 and BP2 only ever ask for σ'(z^l), so a new activation is one
object here and one line in :data:`ACTIVATIONS`; the equations do not change.

The exception is :class:`Softmax` (book ch. 3): a^L_j depends on every z^L_k, so its σ' is a
Jacobian J_σ(z^L) (``Softmax.jacobian``) and BP1 takes its general form δ^L = J_σ(z^L)ᵀ ∇_a C
(:func:`reference.equations.output_error_general`). It is valid only at the output layer
(:data:`OUTPUT_ONLY`), so BP2 never meets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reference.types import Array
from reference.vocabulary import LEAKY_RELU_ALPHA


class Activation(Protocol):
    """σ and σ', applied elementwise to a weighted input z."""

    @property
    def name(self) -> str: ...

    def fn(self, z: Array) -> Array:
        """σ(z)."""
        ...

    def prime(self, z: Array, a: Array | None = None) -> Array:
        """σ'(z); ``a``, if given, is σ(z) already computed."""
        ...


@dataclass(frozen=True)
class Sigmoid:
    """The book's logistic neuron: σ(z) = 1 / (1 + e^{−z}), σ'(z) = σ(z)(1 − σ(z))."""

    name: str = "sigmoid"

    def fn(self, z: Array) -> Array:
        # 1/(1 + e^{−z}) is accurate to a few ulps for every z (1 + e^{−z} ≥ 1: no cancellation)
        # in four passes over memory, each in place after the first. Only where e^{−z} overflows
        # (z < −709.78 in float64) would it give 0 for σ(z) = e^z, a subnormal: then, and only
        # then, the branch form below. (It took twice as long on the book's layers.)
        s = np.negative(z)
        with np.errstate(over="raise"):
            try:
                np.exp(s, out=s)
            except FloatingPointError:
                return self.fn_branchwise(z)
        s += 1.0
        np.reciprocal(s, out=s)
        return s

    @staticmethod
    def fn_branchwise(z: Array) -> Array:
        """σ(z) as 1/(1 + e) for z ≥ 0 and e/(1 + e) for z < 0, with e = exp(−|z|) ≤ 1."""
        # The numerator max(sign z, e) is 1 or e without a branch per element.
        e = np.copysign(z, -1.0)  # −|z|
        np.exp(e, out=e)
        s = np.sign(z)
        np.maximum(s, e, out=s)
        e += 1.0
        s /= e
        return s

    def prime(self, z: Array, a: Array | None = None) -> Array:
        s = self.fn(z) if a is None else a
        p = 1.0 - s
        p *= s  # s(1 − s)
        return p


@dataclass(frozen=True)
class Tanh:
    """σ(z) = tanh z, σ'(z) = 1 − tanh² z."""

    name: str = "tanh"

    def fn(self, z: Array) -> Array:
        return np.tanh(z)

    def prime(self, z: Array, a: Array | None = None) -> Array:
        t = np.tanh(z) if a is None else a
        return 1.0 - t * t


@dataclass(frozen=True)
class ReLU:
    """σ(z) = max(0, z), σ'(z) = 1 for z > 0 and 0 otherwise (the convention σ'(0) = 0)."""

    name: str = "relu"

    def fn(self, z: Array) -> Array:
        return np.maximum(z, 0.0)

    def prime(self, z: Array, a: Array | None = None) -> Array:
        return (z > 0).astype(z.dtype)


@dataclass(frozen=True)
class LeakyReLU:
    """σ(z) = z for z > 0 and αz otherwise; σ'(z) = 1 or α (σ'(0) = α)."""

    alpha: float = LEAKY_RELU_ALPHA
    name: str = "leaky_relu"

    def fn(self, z: Array) -> Array:
        return np.where(z > 0, z, self.alpha * z)

    def prime(self, z: Array, a: Array | None = None) -> Array:
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype)


@dataclass(frozen=True)
class Softplus:
    """σ(z) = ln(1 + e^z), σ'(z) = 1 / (1 + e^{−z}), the logistic function."""

    name: str = "softplus"

    def fn(self, z: Array) -> Array:
        return np.logaddexp(0.0, z).astype(z.dtype, copy=False)  # a float32 z stays float32

    def prime(self, z: Array, a: Array | None = None) -> Array:
        return Sigmoid().fn(z)


@dataclass(frozen=True)
class Identity:
    """σ(z) = z, σ'(z) = 1: a linear layer."""

    name: str = "identity"

    def fn(self, z: Array) -> Array:
        return z

    def prime(self, z: Array, a: Array | None = None) -> Array:
        return np.ones_like(z)


@dataclass(frozen=True)
class Softmax:
    """a_j = e^{z_j} / Σ_k e^{z_k} over each column (neurons are axis 0), book eq. 78.

    Not elementwise: ∂a_k/∂z_j = a_k(δ_kj − a_j), the Jacobian of :meth:`jacobian`. Evaluated
    max-shifted, e^{z_j − max z} / Σ_k e^{z_k − max z}: no exponential overflows, the largest is
    exactly 1, so a saturated column gives 0s and a 1, never inf or NaN.
    """

    name: str = "softmax"

    def fn(self, z: Array) -> Array:
        e = np.exp(z - z.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    def log_fn(self, z: Array, axis: int = 0) -> Array:
        """ln a_j = z_j − ln Σ_k e^{z_k} (log-sum-exp, max-shifted) along ``axis``."""
        shifted = z - z.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def prime(self, z: Array, a: Array | None = None) -> Array:
        raise TypeError(
            "softmax is not elementwise: its σ'(z) is the Jacobian diag(a) − a aᵀ "
            "(Softmax.jacobian), and BP1 takes the general form δ^L = J_σ(z^L)ᵀ ∇_a C"
        )

    def jacobian(self, z: Array, a: Array | None = None) -> Array:
        """J[k, j, x] = ∂a_k/∂z_j = a_k(δ_kj − a_j) for sample (column) x, shape (n, n, m)."""
        s = self.fn(z) if a is None else a
        eye = np.eye(s.shape[0], dtype=s.dtype)[:, :, None]
        return s[:, None, :] * (eye - s[None, :, :])


ACTIVATIONS: dict[str, Activation] = {
    a.name: a for a in (Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Softplus(), Identity(), Softmax())
}
#: Activations that are not elementwise (a_j depends on every z_k): valid only at the output layer.
OUTPUT_ONLY = frozenset({"softmax"})
