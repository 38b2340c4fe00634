"""Activation functions σ and their derivatives σ', one small frozen object each.

Every activation satisfies :class:`Activation`: ``fn(z)`` is σ(z) and ``prime(z)`` is σ'(z),
both elementwise; ``prime(z, a)`` may reuse a = σ(z) from the forward pass (the same values, less
work). The equations BP1 and BP2 only ever ask for σ'(z^l), so a new activation is one
object here and one record in :data:`ACTIVATION_INFO` (its name, its facts, the error model's
derivatives of it); the equations do not change.

Accurate in the tails. Each docstring gives the book's formula for σ'; where that formula cancels
(σ(1 − σ) and 1 − tanh² lose every digit once σ or tanh rounds to ±1: σ'(37.43) would be 0, its
true value 5.6e-17), the code evaluates the same function in a form without a subtraction of
nearly equal numbers, named beside it, within a few ulps for every float64 z (and no overflow for
any z). An activation that saturates at 1 (:class:`Saturating`: sigmoid, tanh, softmax) also
gives ``complement(z, a)`` = 1 − σ(z) from z, so BP1 can form a − y without cancelling where a
rounds to 1 (:func:`reference.costs.residual`).

The exception is :class:`Softmax` (book ch. 3): a^L_j depends on every z^L_k, so its σ' is a
Jacobian J_σ(z^L) (``Softmax.jacobian``) and BP1 takes its general form δ^L = J_σ(z^L)ᵀ ∇_a C
(:func:`reference.equations.output_error_general`). It is valid only at the output layer
(:data:`OUTPUT_ONLY`), so BP2 never meets it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from reference.types import Array

#: leaky_relu's slope for z ≤ 0: σ(z) = αz there, σ'(z) = α (σ'(0) = α). Every source reads it
#: (reference.vocabulary re-exports it).
LEAKY_RELU_ALPHA = 0.01


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


class Saturating(Protocol):
    """An activation with σ(z) → 1 as z grows: its complement 1 − σ(z), computed from z."""

    def complement(self, z: Array, a: Array | None = None) -> Array:
        """1 − σ(z), accurate where σ(z) rounds to 1; ``a``, if given, is σ(z)."""
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
        """Book: σ'(z) = σ(z)(1 − σ(z)). Stable: σ(z)σ(−z) = e/(1 + e)² with e = e^{−|z|}, which
        is 1/(2 + 2 cosh z): no 1 − σ, so no cancellation where σ(z) rounds to 1.

        cosh z makes it one pass and one new array (e/(1 + e)² takes two: half the time of a
        [784, 100, 100, 10] backprop's elementwise work); only where cosh overflows (|z| > 710.47,
        σ' < 4.6e-309) the quotient form, which keeps σ's subnormal values.
        """
        with np.errstate(over="raise"):
            try:
                c = np.cosh(z)
            except FloatingPointError:
                return self.prime_quotient(z)
        c += 1.0
        np.divide(0.5, c, out=c)
        return c

    @staticmethod
    def prime_quotient(z: Array) -> Array:
        """σ'(z) = e/(1 + e)² with e = e^{−|z|} ≤ 1, for every z."""
        e = np.copysign(z, -1.0)  # −|z|
        np.exp(e, out=e)
        d = e + 1.0
        d *= d
        e /= d
        return e

    def complement(self, z: Array, a: Array | None = None) -> Array:
        """1 − σ(z) = σ(−z) = 1/(1 + e^z), as :meth:`fn` computes σ."""
        with np.errstate(over="raise"):
            try:
                c = np.exp(z)
            except FloatingPointError:
                return self.fn_branchwise(-z)
        c += 1.0
        np.reciprocal(c, out=c)
        return c


@dataclass(frozen=True)
class Tanh:
    """σ(z) = tanh z, σ'(z) = 1 − tanh² z = sech² z."""

    name: str = "tanh"

    def fn(self, z: Array) -> Array:
        return np.tanh(z)

    def prime(self, z: Array, a: Array | None = None) -> Array:
        """Book: 1 − tanh² z. Stable: sech² z = (1/cosh z)², or where cosh overflows
        (|z| > 710.47) 4e/(1 + e)² with e = e^{−2|z|}: no 1 − tanh², which is 0 from |z| = 19.1."""
        with np.errstate(over="raise"):
            try:
                c = np.cosh(z)
            except FloatingPointError:
                e = np.copysign(z, -1.0)
                e *= 2.0  # −2|z|, exactly
                np.exp(e, out=e)
                d = e + 1.0
                d *= d
                e *= 4.0  # exact, subnormal e included
                e /= d
                return e
        np.reciprocal(c, out=c)
        c *= c
        return c

    def complement(self, z: Array, a: Array | None = None) -> Array:
        """1 − tanh z = 2e/(1 + e) for z ≥ 0 and 2/(1 + e) for z < 0, e = e^{−2|z|} ≤ 1."""
        e = np.exp(-2.0 * np.abs(z))
        return 2.0 * np.where(z >= 0, e, 1.0) / (1.0 + e)


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
    """σ(z) = ln(1 + e^z), σ'(z) = 1 / (1 + e^{−z}), the logistic function.

    Both without cancellation or overflow at either end: NumPy's logaddexp(0, z) is
    max(z, 0) + log1p(e^{−|z|}), and σ is :meth:`Sigmoid.fn`.
    """

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
    exactly 1, so a saturated column gives 0s and a 1, never inf or NaN. The shift z_j − max z
    rounds by up to ε|z_j − max z|/2, which e^x would turn into as many ulps of a_j (250 at a
    spread of 1000): its rounding error r, exact by Knuth's TwoSum, is put back as e^x·(1 + r).
    """

    name: str = "softmax"

    @staticmethod
    def _exp_shifted(z: Array) -> Array:
        """e^{z_j − max z} per column, the shift's rounding error put back (class docstring)."""
        top = z.max(axis=0, keepdims=True)
        s = z - top
        back = s - z  # TwoSum(z, −top): r = (z − (s − back)) + (−top − back), exactly
        r = (z - (s - back)) - (top + back)
        e = np.exp(s)
        r += 1.0
        e *= r
        return e

    def fn(self, z: Array) -> Array:
        e = self._exp_shifted(z)
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

    def complement(self, z: Array, a: Array | None = None) -> Array:
        """1 − a_j. Where a_j ≤ 1/2 (every j but a column's largest z_j), 1 − a_j loses nothing;
        for the largest it is Σ_{k≠j} e^{z_k − max z} / Σ_k e^{z_k − max z}, a sum of the others
        (1 − a_j would cancel where a_j rounds to 1)."""
        e = self._exp_shifted(z)
        total = e.sum(axis=0)
        c = 1.0 - (e / total if a is None else a)
        top, columns = z.argmax(axis=0), np.arange(z.shape[1])
        e[top, columns] = 0.0
        c[top, columns] = e.sum(axis=0) / total
        return c

    def jacobian(self, z: Array, a: Array | None = None) -> Array:
        """J[k, j, x] = ∂a_k/∂z_j = a_k(δ_kj − a_j) for sample (column) x, shape (n, n, m).

        Book: diag(a) − a aᵀ. Stable: −a_k a_j off the diagonal, a_j(1 − a_j) on it with
        1 − a_j from :meth:`complement` (a_j − a_j² cancels where a_j rounds to 1).
        """
        s = self.fn(z) if a is None else a
        jac = -(s[:, None, :] * s[None, :, :])
        diagonal = np.arange(s.shape[0])
        jac[diagonal, diagonal, :] = s * self.complement(z, s)
        return jac


# --- the error model's facts (errormodel.tables reads them from the records) --------------------
# Not the reference's σ': the first three derivatives of σ for the FD oracle's Taylor jet
# (errormodel.rounding), where each |σ^{(n)}| peaks (so a bound over an interval checks the ends,
# the centre and the peaks inside), and κ(z, u), the absolute error of the computed σ'(z) in units
# of ε when a library evaluates σ within u ulps (the error model's SIGMA_ULPS).
#
# The derivatives are taken in forms that do not cancel (σ' = e/(1 + e)², e = e^{−|z|};
# 1 − 2σ = −tanh(z/2); sech² = 4e/(1 + e)², e = e^{−2|z|}): s(1 − s) is 0 where σ(z) rounds to 1,
# and a bound that multiplies by it (α^l = |σ'|ζ^l, BP1's (α^L + 2|a − y|)|σ'|) would be 0 where
# the book's formulas err by ε|a|·σ' (tests/test_checker_tails.py).
#
# κ is the error of the book's σ' (s(1 − s), 1 − t²), which torch, jax and a learner's network.py
# compute: absolute, ≈ ε where σ saturates. The reference's own forms (above) err by a few ulps of
# σ' itself, far less, so κ bounds both.


def _logistic(z: Array) -> Array:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _sigmoid_prime(z: Array) -> Array:
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _sigmoid_derivatives(z: Array) -> tuple[Array, Array, Array]:
    d1 = _sigmoid_prime(z)
    return d1, -d1 * np.tanh(z / 2), d1 * (1 - 6 * d1)


def _sigmoid_prime_rounding(z: Array, sigma_ulps: float) -> Array:
    # s(1 − s): s carries sigma_ulps·s, 1 − s inherits it absolutely; then two roundings.
    s = _logistic(z)
    return sigma_ulps * s * s + 3 * _sigmoid_prime(z)


def _tanh_derivatives(z: Array) -> tuple[Array, Array, Array]:
    t = np.tanh(z)
    e = np.exp(-2 * np.abs(z))
    d1 = 4 * e / (1.0 + e) ** 2
    return d1, -2 * t * d1, d1 * (6 * t * t - 2)


def _tanh_prime_rounding(z: Array, sigma_ulps: float) -> Array:
    # 1 − t²: t carries sigma_ulps·|t|, t² twice that and its own rounding; then the subtraction.
    t = np.tanh(z)
    return (2 * sigma_ulps + 1) * t * t + _tanh_derivatives(z)[0]


def _softplus_derivatives(z: Array) -> tuple[Array, Array, Array]:
    d2 = _sigmoid_prime(z)
    return _logistic(z), d2, -d2 * np.tanh(z / 2)


def _softplus_prime_rounding(z: Array, sigma_ulps: float) -> Array:
    return (sigma_ulps + 1) * _logistic(z)


def _piecewise_linear(leak: float) -> Callable[[Array], tuple[Array, Array, Array]]:
    def derivatives(z: Array) -> tuple[Array, Array, Array]:
        zero = np.zeros_like(z)
        return np.where(z > 0, 1.0, leak), zero, zero

    return derivatives


def _exact(z: Array, sigma_ulps: float) -> Array:
    return np.zeros_like(z)


_SIGMOID_PEAK_2 = float(np.log(2 + np.sqrt(3)))  # |σ''| peaks where σ = (3 ± √3)/6
_SIGMOID_PEAK_3 = float(np.log(5 + 2 * np.sqrt(6)))  # |σ'''| has side peaks there
_TANH_PEAK_2 = float(np.arctanh(1 / np.sqrt(3)))
_TANH_PEAK_3 = float(np.arctanh(np.sqrt(2 / 3)))
#: Peaks of a piecewise-linear σ: none (σ', σ'' and σ''' are constant off the kink).
_FLAT: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]] = ((), (), ())


@dataclass(frozen=True)
class ErrorFacts:
    """What the error model needs of σ (errormodel.tables builds its ActivationErrors from it):
    ``derivatives(z)`` = (σ', σ'', σ'''); ``peaks[n]``: the z where |σ^{(n+1)}| has a local
    maximum; ``prime_rounding(z, u)``: κ, the error of the computed σ'(z) in units of ε, for a σ
    evaluated within u ulps."""

    derivatives: Callable[[Array], tuple[Array, Array, Array]]
    peaks: tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]
    prime_rounding: Callable[[Array, float], Array]


@dataclass(frozen=True)
class ActivationInfo:
    """Every fact the harness needs of one activation beyond the oracles' own σ (as torch's
    OpInfo keeps an op's facts in one record): the reference's σ object (its ``name`` is the
    activation's name everywhere), and

    - ``simplicity``: its rank in the generated architectures' order, simplest first (hypothesis
      shrinks towards it);
    - ``errors``: the error model's facts (:class:`ErrorFacts`); None for an output-only
      activation, whose model is the whole output layer's (errormodel.tables, "softmax output");
    - ``kinked``: σ' jumps at z = 0 (the FD oracle excludes differences across it);
    - ``output_only``: not elementwise (a_j depends on every z_k): only at the output layer;
    - ``holomorphic``: σ has a complex-analytic formula (else the complex step declines the net).
    """

    sigma: Activation
    simplicity: int
    errors: ErrorFacts | None
    kinked: bool = False
    output_only: bool = False
    holomorphic: bool = True

    @property
    def name(self) -> str:
        return self.sigma.name


#: One record per activation, in the append-only order (seeded random architectures draw by
#: position in it, so a new activation's record goes last; never reorder or remove). A new
#: activation is its σ class and its error facts above and its record here; each oracle's own σ
#: of it is in oracles/activations.py.
ACTIVATION_INFO: dict[str, ActivationInfo] = {
    info.name: info
    for info in (
        ActivationInfo(Identity(), 0, ErrorFacts(_piecewise_linear(1.0), _FLAT, _exact)),
        ActivationInfo(
            LeakyReLU(),
            2,
            ErrorFacts(_piecewise_linear(LEAKY_RELU_ALPHA), _FLAT, _exact),
            kinked=True,
            holomorphic=False,
        ),
        ActivationInfo(
            ReLU(),
            1,
            ErrorFacts(_piecewise_linear(0.0), _FLAT, _exact),
            kinked=True,
            holomorphic=False,
        ),
        ActivationInfo(
            Sigmoid(),
            3,
            ErrorFacts(
                _sigmoid_derivatives,
                (
                    (0.0,),
                    (-_SIGMOID_PEAK_2, _SIGMOID_PEAK_2),
                    (-_SIGMOID_PEAK_3, 0.0, _SIGMOID_PEAK_3),
                ),
                _sigmoid_prime_rounding,
            ),
        ),
        ActivationInfo(
            Softplus(),
            5,
            ErrorFacts(
                _softplus_derivatives,
                ((), (0.0,), (-_SIGMOID_PEAK_2, _SIGMOID_PEAK_2)),
                _softplus_prime_rounding,
            ),
        ),
        ActivationInfo(
            Tanh(),
            4,
            ErrorFacts(
                _tanh_derivatives,
                ((0.0,), (-_TANH_PEAK_2, _TANH_PEAK_2), (-_TANH_PEAK_3, 0.0, _TANH_PEAK_3)),
                _tanh_prime_rounding,
            ),
        ),
        ActivationInfo(Softmax(), 6, None, output_only=True),
    )
}
#: The activation names in the records' append-only order (re-exported by reference.vocabulary).
ACTIVATION_NAMES = tuple(ACTIVATION_INFO)
ACTIVATIONS: dict[str, Activation] = {name: info.sigma for name, info in ACTIVATION_INFO.items()}
#: Activations that are not elementwise (a_j depends on every z_k): valid only at the output layer.
OUTPUT_ONLY = frozenset(name for name, info in ACTIVATION_INFO.items() if info.output_only)
#: Activations whose σ' jumps at z = 0.
KINKED = frozenset(name for name, info in ACTIVATION_INFO.items() if info.kinked)
#: Activations with no holomorphic formula (a kink at 0).
NOT_HOLOMORPHIC = frozenset(name for name, info in ACTIVATION_INFO.items() if not info.holomorphic)
