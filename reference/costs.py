"""Per-sample costs C_x and the output error δ^L they give (BP1), one small frozen object each.

A cost satisfies :class:`Cost`: ``fn(z, a, y)`` is C_x for every column (sample) of the output
layer's z^L and a^L = σ(z^L), and ``delta(z, a, y, sigma)`` is δ^L by BP1 for the output
activation ``sigma``. The cost of a mini-batch is the mean of the per-sample costs,
``C = (1/m) Σ_x C_x`` (see :mod:`reference.backprop`). ``one_hot`` says the cost wants one-hot
targets y (a class per sample), as the log-likelihood does.

Each cost is one record in :data:`COST_INFO` (its object, its rank in the shrink order, the error
model's facts of it, whether it is defined on a softmax output), as each activation is in
:data:`reference.activations.ACTIVATION_INFO`; each oracle's own C_x is in oracles/costs.py.

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


# --- the error model's facts of each cost (errormodel.tables builds its CostErrors from them) ---
# In units of ε, on an elementwise output layer (σ applied neuron by neuron, so C_x is a sum over
# the output neurons and δ^L_j reads neuron j alone). A cost valid only on a softmax output (the
# log-likelihood) has none: its model is the whole output layer's (errormodel.tables, "softmax
# output"), as is the quadratic cost's there.


class OutputSigma(Protocol):
    """The error model's σ at the output layer (errormodel.tables.ActivationErrors)."""

    def derivatives(self, z: Array) -> tuple[Array, Array, Array]:
        """(σ', σ'', σ''') at z."""
        ...

    def bounds(self, z: Array, radius: Array) -> tuple[Array, Array, Array]:
        """max |σ^{(n)}(u)| over |u − z| ≤ radius, n = 1, 2, 3."""
        ...

    def prime_rounding(self, z: Array) -> Array:
        """κ: the error of the computed σ'(z) in units of ε."""
        ...


class OutputModel(Protocol):
    """The output layer as the error model gives it to a cost's facts (errormodel.tables'
    OutputLayer): z^L, a^L, y (neurons on axis −2) and σ's model there."""

    @property
    def z(self) -> Array: ...

    @property
    def a(self) -> Array: ...

    @property
    def y(self) -> Array: ...

    @property
    def errors(self) -> OutputSigma: ...


@dataclass(frozen=True)
class CostErrorFacts:
    """What the error model needs of a cost on an elementwise output, in units of ε:

    - ``delta_rounding(out, ζ, α)``: the error of the computed δ^L (BP1), given the errors ζ^L of
      z^L and α^L of a^L;
    - ``z_derivatives(out, r)``: |∂ⁿC_x/∂(z^L_j)ⁿ| over |u − z^L| ≤ r, n = 1, 2, 3 (the FD
      oracle's truncation);
    - ``cost_rounding(out, u)``: the error of the computed C_x per sample, for a σ evaluated
      within u ulps (what a finite difference of the cost divides by h).
    """

    delta_rounding: Callable[[OutputModel, Array, Array], Array]
    z_derivatives: Callable[[OutputModel, Array], tuple[Array, Array, Array]]
    cost_rounding: Callable[[OutputModel, float], Array]


def _quadratic_delta_rounding(out: OutputModel, zeta: Array, alpha: Array) -> Array:
    """δ^L = (a − y) ⊙ σ'(z^L): a − y errs by α^L + |a − y|, σ' by κ + |σ''|ζ^L, the product."""
    d1, d2, _ = out.errors.derivatives(out.z)
    g = np.abs(out.a - out.y)
    return (alpha + 2 * g) * np.abs(d1) + g * (out.errors.prime_rounding(out.z) + np.abs(d2) * zeta)


def _quadratic_z_derivatives(out: OutputModel, radius: Array) -> tuple[Array, Array, Array]:
    """|∂ⁿC_x/∂(z^L_j)ⁿ| over the interval, n = 1, 2, 3, for C_x = ½Σ(σ(z) − y)²."""
    d1, d2, d3 = out.errors.bounds(out.z, radius)
    r = np.abs(out.a - out.y) + d1 * radius  # |σ(u) − y| over the interval
    return r * d1, d1 * d1 + r * d2, 3 * d1 * d2 + r * d3


def _quadratic_cost_rounding(out: OutputModel, sigma_ulps: float) -> Array:
    """½Σ(a − y)²: n_L + 2 roundings of C_x, and a^L's own rounding times |a − y|."""
    c = 0.5 * np.sum((out.a - out.y) ** 2, axis=0)
    return (out.a.shape[0] + 2) * c + np.sum(np.abs(out.a - out.y) * sigma_ulps * np.abs(out.a), 0)


def _cross_entropy_delta_rounding(out: OutputModel, zeta: Array, alpha: Array) -> Array:
    """δ^L = a − y: any formula's terms are y(1 − a) and (1 − y)a, so 2(|a| + |y|); plus α^L.

    A formula that differentiates C_x's softplus terms through their values, σ(x) =
    exp(x − softplus(x)) (JAX's log_sigmoid, whose gradient gives σ(33.3) as exactly 1, 31 ulps
    off), errs in σ(x) by ε·softplus(x) relative: y(1 − a) by y(1 − a)·softplus(−z) and
    (1 − y)a by (1 − y)a·softplus(z), up to ε|z| where the output saturates the wrong way.
    """
    z, a, y, softplus = out.z, out.a, out.y, _SOFTPLUS.fn
    through_values = np.abs(y) * (1 - a) * softplus(-z) + np.abs(1 - y) * a * softplus(z)
    return 2 * (np.abs(a) + np.abs(y)) + through_values + alpha


def _cross_entropy_z_derivatives(out: OutputModel, radius: Array) -> tuple[Array, Array, Array]:
    """∂C_x/∂z^L = σ(z) − y, so the second and third derivatives are σ' and σ''."""
    d1, d2, _ = out.errors.bounds(out.z, radius)
    return np.abs(out.a - out.y) + d1 * radius, d1, d2


def _cross_entropy_cost_rounding(out: OutputModel, sigma_ulps: float) -> Array:
    """Σ[y softplus(−z) + (1 − y) softplus(z)], the form every oracle evaluates from z^L: each
    softplus within ``sigma_ulps``, then the products and the sum's n_L + 2 roundings of its
    terms."""
    z, y, softplus = out.z, out.y, _SOFTPLUS.fn
    terms = np.abs(y) * softplus(-z) + np.abs(1 - y) * softplus(z)
    return (z.shape[0] + 2 + sigma_ulps) * terms.sum(axis=0)


@dataclass(frozen=True)
class CostInfo:
    """Every fact the harness needs of one cost beyond the oracles' own C_x (as
    :class:`~reference.activations.ActivationInfo` does of σ): the reference's cost object (its
    ``name`` is the cost's name everywhere), and

    - ``simplicity``: its rank in :data:`COSTS`' order, simplest first (hypothesis shrinks
      towards it; the checker tries the other costs in it);
    - ``errors``: the error model's facts on an elementwise output (:class:`CostErrorFacts`);
      None for a cost valid only on a softmax output, whose model is the whole output layer's;
    - ``softmax_output``: the cost is defined on a softmax output too (BP1's general form). Its
      error model and the truth's δ^L there are the whole output layer's, written beside
      softmax's (errormodel.tables ``SOFTMAX_COST_ERRORS``, oracles.exact
      ``SOFTMAX_OUTPUT_ERRORS``); an architecture pairing a softmax output with a cost whose
      record says False is malformed, and the random draws give it an elementwise output.
    """

    cost: Cost
    simplicity: int
    errors: CostErrorFacts | None
    softmax_output: bool = False

    @property
    def name(self) -> str:
        return self.cost.name


#: One record per cost, in the append-only order (seeded random architectures draw by position
#: in it, so a new cost's record goes last; never reorder or remove). A new cost is its class and
#: its error facts above and its record here; each oracle's own C_x of it (and the truth's δ^L) is
#: in oracles/costs.py.
COST_INFO: dict[str, CostInfo] = {
    info.name: info
    for info in (
        CostInfo(
            CrossEntropy(),
            1,
            CostErrorFacts(
                _cross_entropy_delta_rounding,
                _cross_entropy_z_derivatives,
                _cross_entropy_cost_rounding,
            ),
        ),
        CostInfo(
            Quadratic(),
            0,
            CostErrorFacts(
                _quadratic_delta_rounding, _quadratic_z_derivatives, _quadratic_cost_rounding
            ),
            softmax_output=True,
        ),
        CostInfo(LogLikelihood(), 2, None, softmax_output=True),
    )
}
#: The cost names in the records' append-only order (re-exported by reference.vocabulary).
COST_NAMES = tuple(COST_INFO)
#: One object per cost, simplest first (the records' ``simplicity``: harness.strategies' order).
COSTS: dict[str, Cost] = {
    info.name: info.cost for info in sorted(COST_INFO.values(), key=lambda i: i.simplicity)
}
#: The costs defined on a softmax output (the records' ``softmax_output``).
SOFTMAX_OUTPUT_COSTS = frozenset(name for name, info in COST_INFO.items() if info.softmax_output)
