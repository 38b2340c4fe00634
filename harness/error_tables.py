"""What the rounding bound needs to know of each activation and cost beyond σ, σ' and C_x.

Per activation (:data:`ACTIVATION_ERRORS`): the first three derivatives of σ (the Taylor jet of
the FD oracle's truncation bound, :mod:`harness.rounding`), where each |σ^{(n)}| peaks (so a
bound over an interval checks the ends, the centre and the peaks inside), and κ(z), the absolute
error of the computed σ'(z) in units of ε: a saturated sigmoid's s(1 − s) errs by ≈ ε·s, not ε·σ'.

Per cost (:data:`COST_ERRORS`): the rounding of δ^L by BP1, C_x's derivatives in z^L over an
interval, and the rounding of C_x itself (what a finite difference of the cost divides by h).

A new activation or cost is one entry in each table (``tests/test_vocabulary.py`` checks that
every table names the same set, :mod:`reference.vocabulary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference.activations import ACTIVATIONS
from reference.types import Array
from reference.vocabulary import LEAKY_RELU_ALPHA

#: ulps within which a library evaluates σ(z) (exp, log1p, tanh, a division: ~1 each).
SIGMA_ULPS = 2.0


def _logistic(z: Array) -> Array:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_derivatives(z: Array) -> tuple[Array, Array, Array]:
    s = _logistic(z)
    d1 = s * (1 - s)
    return d1, d1 * (1 - 2 * s), d1 * (1 - 6 * d1)


def _tanh_derivatives(z: Array) -> tuple[Array, Array, Array]:
    t = np.tanh(z)
    d1 = 1 - t * t
    return d1, -2 * t * d1, d1 * (6 * t * t - 2)


def _softplus_derivatives(z: Array) -> tuple[Array, Array, Array]:
    s = _logistic(z)
    d2 = s * (1 - s)
    return s, d2, d2 * (1 - 2 * s)


def _piecewise_linear(leak: float) -> Callable[[Array], tuple[Array, Array, Array]]:
    def derivatives(z: Array) -> tuple[Array, Array, Array]:
        zero = np.zeros_like(z)
        return np.where(z > 0, 1.0, leak), zero, zero

    return derivatives


def _sigmoid_prime_rounding(z: Array) -> Array:
    # s(1 − s): s carries SIGMA_ULPS·s, 1 − s inherits it absolutely; then two roundings.
    s = _logistic(z)
    return SIGMA_ULPS * s * s + 3 * s * (1 - s)


def _tanh_prime_rounding(z: Array) -> Array:
    # 1 − t²: t carries SIGMA_ULPS·|t|, t² twice that and its own rounding; then the subtraction.
    t = np.tanh(z)
    return (2 * SIGMA_ULPS + 1) * t * t + (1 - t * t)


def _softplus_prime_rounding(z: Array) -> Array:
    return (SIGMA_ULPS + 1) * _logistic(z)


def _exact(z: Array) -> Array:
    return np.zeros_like(z)


@dataclass(frozen=True)
class ActivationErrors:
    """``derivatives(z)`` = (σ', σ'', σ'''); ``peaks[n]``: the z where |σ^{(n+1)}| has a local
    maximum; ``prime_rounding(z)``: κ, the error of the computed σ'(z) in units of ε."""

    derivatives: Callable[[Array], tuple[Array, Array, Array]]
    peaks: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    prime_rounding: Callable[[Array], Array]

    def bounds(self, z: Array, radius: Array) -> tuple[Array, Array, Array]:
        """max |σ^{(n)}(u)| over |u − z| ≤ radius for n = 1, 2, 3: the ends, the centre, and
        every peak inside (between peaks each |σ^{(n)}| is monotone)."""
        at = [self.derivatives(p) for p in (z - radius, z, z + radius)]
        found = [
            np.maximum(np.maximum(abs(at[0][n]), abs(at[1][n])), abs(at[2][n])) for n in range(3)
        ]
        for n, peaks in enumerate(self.peaks):
            for peak in peaks:
                inside = np.abs(z - peak) <= radius
                if inside.any():
                    top = abs(float(self.derivatives(np.array([peak]))[n][0]))
                    found[n] = np.where(inside, np.maximum(found[n], top), found[n])
        return found[0], found[1], found[2]


_SIGMOID_PEAK_2 = float(np.log(2 + np.sqrt(3)))  # |σ''| peaks where σ = (3 ± √3)/6
_SIGMOID_PEAK_3 = float(np.log(5 + 2 * np.sqrt(6)))  # |σ'''| has side peaks there
_TANH_PEAK_2 = float(np.arctanh(1 / np.sqrt(3)))
_TANH_PEAK_3 = float(np.arctanh(np.sqrt(2 / 3)))

#: Per activation: derivatives, where they peak, and how exactly σ' is computed. relu and
#: leaky_relu are linear off the kink (a difference across the kink is the kink detector's
#: business) with an exact σ'; identity is exact.
ACTIVATION_ERRORS: dict[str, ActivationErrors] = {
    "sigmoid": ActivationErrors(
        _sigmoid_derivatives,
        ((0.0,), (-_SIGMOID_PEAK_2, _SIGMOID_PEAK_2), (-_SIGMOID_PEAK_3, 0.0, _SIGMOID_PEAK_3)),
        _sigmoid_prime_rounding,
    ),
    "tanh": ActivationErrors(
        _tanh_derivatives,
        ((0.0,), (-_TANH_PEAK_2, _TANH_PEAK_2), (-_TANH_PEAK_3, 0.0, _TANH_PEAK_3)),
        _tanh_prime_rounding,
    ),
    "softplus": ActivationErrors(
        _softplus_derivatives,
        ((), (0.0,), (-_SIGMOID_PEAK_2, _SIGMOID_PEAK_2)),
        _softplus_prime_rounding,
    ),
    "relu": ActivationErrors(_piecewise_linear(0.0), ((), (), ()), _exact),
    "leaky_relu": ActivationErrors(_piecewise_linear(LEAKY_RELU_ALPHA), ((), (), ()), _exact),
    "identity": ActivationErrors(_piecewise_linear(1.0), ((), (), ()), _exact),
}


def activation_errors(name: str) -> ActivationErrors:
    if name not in ACTIVATION_ERRORS:
        raise KeyError(f"no error model for activation {name!r}: add it to ACTIVATION_ERRORS")
    return ACTIVATION_ERRORS[name]


@dataclass(frozen=True)
class OutputLayer:
    """The last layer as the error model sees it: z^L, a^L, y, and σ's model there."""

    z: Array
    a: Array
    y: Array
    errors: ActivationErrors


def _quadratic_delta_rounding(out: OutputLayer, zeta: Array, alpha: Array) -> Array:
    """δ^L = (a − y) ⊙ σ'(z^L): a − y errs by α^L + |a − y|, σ' by κ + |σ''|ζ^L, the product."""
    d1, d2, _ = out.errors.derivatives(out.z)
    g = np.abs(out.a - out.y)
    return (alpha + 2 * g) * np.abs(d1) + g * (out.errors.prime_rounding(out.z) + np.abs(d2) * zeta)


def _cross_entropy_delta_rounding(out: OutputLayer, zeta: Array, alpha: Array) -> Array:
    """δ^L = a − y: any formula's terms are y(1 − a) and (1 − y)a, so 2(|a| + |y|); plus α^L.

    A formula that differentiates C_x's softplus terms through their values, σ(x) =
    exp(x − softplus(x)) (JAX's log_sigmoid, whose gradient gives σ(33.3) as exactly 1, 31 ulps
    off), errs in σ(x) by ε·softplus(x) relative: y(1 − a) by y(1 − a)·softplus(−z) and
    (1 − y)a by (1 − y)a·softplus(z), up to ε|z| where the output saturates the wrong way.
    """
    z, a, y, softplus = out.z, out.a, out.y, ACTIVATIONS["softplus"].fn
    through_values = np.abs(y) * (1 - a) * softplus(-z) + np.abs(1 - y) * a * softplus(z)
    return 2 * (np.abs(a) + np.abs(y)) + through_values + alpha


def _quadratic_z_derivatives(out: OutputLayer, radius: Array) -> tuple[Array, Array, Array]:
    """|∂ⁿC_x/∂(z^L_j)ⁿ| over the interval, n = 1, 2, 3, for C_x = ½Σ(σ(z) − y)²."""
    d1, d2, d3 = out.errors.bounds(out.z, radius)
    r = np.abs(out.a - out.y) + d1 * radius  # |σ(u) − y| over the interval
    return r * d1, d1 * d1 + r * d2, 3 * d1 * d2 + r * d3


def _cross_entropy_z_derivatives(out: OutputLayer, radius: Array) -> tuple[Array, Array, Array]:
    """∂C_x/∂z^L = σ(z) − y, so the second and third derivatives are σ' and σ''."""
    d1, d2, _ = out.errors.bounds(out.z, radius)
    return np.abs(out.a - out.y) + d1 * radius, d1, d2


def _quadratic_cost_rounding(out: OutputLayer) -> Array:
    """½Σ(a − y)²: n_L + 2 roundings of C_x, and a^L's own rounding times |a − y|."""
    c = 0.5 * np.sum((out.a - out.y) ** 2, axis=0)
    return (out.a.shape[0] + 2) * c + np.sum(np.abs(out.a - out.y) * SIGMA_ULPS * np.abs(out.a), 0)


def _cross_entropy_cost_rounding(out: OutputLayer) -> Array:
    """Σ[y softplus(−z) + (1 − y) softplus(z)], the form every oracle evaluates from z^L: each
    softplus within SIGMA_ULPS, then the products and the sum's n_L + 2 roundings of its terms."""
    z, y, softplus = out.z, out.y, ACTIVATIONS["softplus"].fn
    terms = np.abs(y) * softplus(-z) + np.abs(1 - y) * softplus(z)
    return (z.shape[0] + 2 + SIGMA_ULPS) * terms.sum(axis=0)


@dataclass(frozen=True)
class CostErrors:
    """Per cost: δ^L's rounding (BP1), C_x's derivatives in z^L, C_x's own rounding."""

    delta_rounding: Callable[[OutputLayer, Array, Array], Array]
    z_derivatives: Callable[[OutputLayer, Array], tuple[Array, Array, Array]]
    cost_rounding: Callable[[OutputLayer], Array]


COST_ERRORS: dict[str, CostErrors] = {
    "quadratic": CostErrors(
        _quadratic_delta_rounding, _quadratic_z_derivatives, _quadratic_cost_rounding
    ),
    "cross_entropy": CostErrors(
        _cross_entropy_delta_rounding, _cross_entropy_z_derivatives, _cross_entropy_cost_rounding
    ),
}
