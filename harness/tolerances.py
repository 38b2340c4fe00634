"""How far an oracle may be from the reference, from an error model: the one place for it.

Every comparison is normwise per layer and quantity: the largest absolute difference of the two
arrays must not exceed ``allowed``. What ``allowed`` scales with is the point of this module.

Why not the size of the result
------------------------------
Scaling ``allowed`` with S, the largest magnitude of the compared arrays, fails three ways:

- cancellation: ∂C/∂b^l is a batch mean of δ^l, and each δ^l_j a dot product (w^{l+1})^T δ^{l+1};
  when the terms cancel, the result is small while the rounding errors keep the size of the
  terms. A layer whose ∂C/∂b sums to 1e-3 of its δ is judged 1000× too strictly.
- saturation: a sigmoid or tanh at large |z| has σ'(z) ≈ 0 but computes it as s(1 − s) or
  1 − t², whose error is absolute, ≈ ε, not ≈ ε·σ'. So δ^l = (w^T δ^{l+1}) ⊙ σ'(z^l) errs by
  ≈ ε·|w^T δ^{l+1}|, however small δ^l itself is.
- large weighted inputs: z^l is computed with an error ≈ n·ε·(|w||a| + |b|); σ'(z) moves with it
  by σ''(z)·Δz, which for |z| ~ 100 is 100× more than the ε·|σ'| a result-scaled bound expects.

On nets with weights ×10…×100 or inputs ×1e3, a result-scaled tolerance (4·N_l·ε·S, kept below
as :func:`autograd_allowed` for callers that hold only arrays) flagged correct autograd gradients
at up to 6e9× itself; the bound below stays under 0.33 on the same nets.

Rounding: a first-order running error bound
-------------------------------------------
Every case carries B, a componentwise bound on the rounding error of each quantity in units of ε,
computed alongside the reference from the absolute values of its own numbers (Higham, *Accuracy
and Stability of Numerical Algorithms*, §3.1 and §3.3). Each operation errs by at most ε relative
plus η = ε·tiny absolute (gradual underflow), so in units of ε an operation on x adds |x| + tiny;
a length-n dot product adds n·|w|^T|v|, the size of its terms, not of its result:

- forward: ζ^l ≥ |Δz^l| / ε, from the dot product's terms and the error α^{l−1} of a^{l−1}:
  ζ^l = (n_{l−1} + 1)(|w^l||a^{l−1}| + |b^l|) + |w^l| α^{l−1};
  α^l = |σ'(z^l)| ζ^l + SIGMA_ULPS·|a^l| (α^1 = 0: the inputs are exact);
- output (BP1): per cost, :data:`COST_ERRORS` (quadratic: the terms |a − y|, α^L and σ';
  cross-entropy: δ^L = a − y whatever formula computes it, so 2(|a| + |y|) + α^L, plus what a
  σ taken through softplus's value loses, y(1 − a)·softplus(−z) + (1 − y)a·softplus(z));
  a softmax output (a^L depends on all of z^L) has its own α^L, BP1 and FD entries, derived in
  the section "softmax output" below (:func:`cost_errors` picks them);
- backward (BP2), p = (w^{l+1})^T δ^{l+1}:
  β^l = (n_{l+1}|w^{l+1}|^T|δ^{l+1}| + |w^{l+1}|^T β^{l+1} + |p|) ⊙ |σ'(z^l)|
        + |p| ⊙ (κ(z^l) + |σ''(z^l)| ζ^l),
  with κ the absolute error of the computed σ' (:data:`ACTIVATION_ERRORS`);
- BP3: B_b = mean_x β^l + m·mean_x |δ^l| + |∂C/∂b^l|;
- BP4: B_w = (β^l |a^{l−1}|^T + |δ^l| (α^{l−1})^T + m·|δ^l||a^{l−1}|^T) / m + |∂C/∂w^l|.

B is the largest element of the layer's bound: the comparison stays normwise (the worst element
decides) while the bound knows where the terms were large. Zero and subnormal layers get the
absolute part (tiny per operation, carried through |w| like every other error), so exact zeros
compare exactly and a gradient of 1e-300 is judged against its own terms, not against 1.

Autograd oracles (torch, jax) compute the same quantity by other orders and formulas, each
within ε·B of the truth, so their difference is within (ε_reference + ε_64)·B:

    allowed = AUTOGRAD_SAFETY · (ε_reference + ε_64) · B.

Finite differences: truncation and rounding, both computed
----------------------------------------------------------
The FD oracle (always float64) moves one row j of z^l along t (δ: one sample by t; ∂C/∂b: all
samples by t; ∂C/∂w_jk: sample x by t·a^{x,l−1}_k) and takes [f(h) − f(−h)]/2h, which errs by

- truncation, h²/6·|f'''(ξ)|: f''' is bounded by pushing a third-order Taylor jet of the
  perturbation through layers l…L in absolute values (Faà di Bruno: a₁ = σ'c₁,
  a₂ = σ'c₂ + σ''c₁²/2, a₃ = σ'c₃ + σ''c₁c₂ + σ'''c₁³/6, then c_k ← |w|a_k), with each σ^{(n)}
  bounded over the interval the step sweeps, and the cost's derivatives in z^L at the end;
- rounding: each C_x is computed within ε·R_x, where R_x sums, over the layers l…L a difference
  re-runs, |δ^{x,k}| times the rounding committed in z^k (the perturbed z^l itself rounds by
  |z^l|), plus the cost's own evaluation (:data:`COST_ERRORS`); the difference quotient turns
  2ε·R_x into ε·R_x/h;

and the reference compared with it errs by its own ε_reference·B:

    allowed = FD_SAFETY · (h²/6 · F3 + ε_64 · R / h) + ε_reference · B,

with F3 and R the largest over the layer (δ: per sample; ∂C/∂b and ∂C/∂w: batch means). No
constant is fitted to data: the safety factors only absorb the first-order approximations. A
difference across a relu kink is outside this model (it is not smooth); the FD oracle owns that.

Measured
--------
Soak (``nox -s soak``), float64, 10,022 gate architectures (random seed 1; 313,029 comparisons,
33 min on 2 cores): no failure; largest error/allowed 0.138 (torch), 0.327 (jax: its tanh' on a
saturated layer), 0.462 (FD: the truncation bound nearly attained by one output element);
medians 4.6e-4, 4.7e-4, 3.9e-3; 98 of 15.0 million FD elements left out as kink crossings (21
comparisons). 2,000 generated architectures per oracle (weights up to ×100, inputs up to ×1e8,
saturated cross-entropy outputs included): no failure. float32 reference, 222 architectures:
error/allowed p50 9.1e-4, p90 0.011, p99 0.045, max 0.18 for every oracle. The smallest relative
error a comparison sees (allowed/S) has median 5.4e-13 for autograd and 6.7e-8 for FD in float64,
1.5e-4 in float32; 0.8% of comparisons are blind (allowed ≥ S: values below their own rounding
noise, e.g. a saturated layer).

Softmax outputs (measured when they were added, float64; the bound as derived, no constant
fitted): 286 random softmax architectures (seed 1, the softmax draws among 1,200; log-likelihood
and quadratic costs) and 104 of them again with weights ×3…×100 and inputs ×1…×1e8: no failure;
largest error/allowed 0.021 (torch), 0.033 (jax), 0.051 (FD, scaled; 0.038 unscaled). By cost:
log-likelihood 0.021 / 0.033 / 0.051, quadratic 0.0027 / 0.0016 / 0.036 (torch / jax / FD). The
default gate with ``--random-count 300`` (89 softmax nets among 330): 0.019 / 0.022 / 0.025.
The model still flags BP1 taken elementwise on a softmax output (tests/test_error_model.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oracles import get_oracle
from oracles.finite_diff import STEP
from reference import Architecture, Batch, Gradients, Params, backprop
from reference.activations import ACTIVATIONS, OUTPUT_ONLY
from reference.forward import feedforward
from reference.types import Array

#: Each implementation errs by at most ε·B; their difference by the sum. 1 = the bound as derived.
AUTOGRAD_SAFETY = 1.0
#: ulps within which a library evaluates σ(z) (exp, log1p, tanh, a division: ~1 each).
SIGMA_ULPS = 2.0
#: The FD bounds are first order in h (truncation) and in ε (rounding); 2 covers what they drop.
FD_SAFETY = 2.0

# --- the normwise model for callers without a case (kept for two computations of one formula) --
NORMWISE_SAFETY = 4.0
#: Elementwise operations per layer counted into the normwise chain length (σ, σ', ⊙, ∇C).
ELEMENTWISE_PER_LAYER = 4


def chain_length(arch: Architecture, layer: int) -> int:
    """N_l = Σ_{k=l}^{L} (n_k + 4) + m for layer l (book numbering, 2…L)."""
    return sum(n + ELEMENTWISE_PER_LAYER for n in arch.sizes[layer - 1 :]) + arch.batch


def autograd_allowed(arch: Architecture, layer: int, scale: float, dtype: Any) -> float:
    """NORMWISE_SAFETY · N_l · ε · S, S the result's size: for two computations of the same
    formulas in other orders, without cancellation or saturation. The gate uses the bound."""
    return NORMWISE_SAFETY * chain_length(arch, layer) * eps(dtype) * scale


# --- activations and costs: what the error model needs beyond σ and σ' ----------------------


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
    "leaky_relu": ActivationErrors(_piecewise_linear(0.01), ((), (), ()), _exact),
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
    #: A non-separable C_x (softmax output): |f'''| along the jet (c₁, c₂, c₃) over ``radius``.
    jet_third: Callable[[OutputLayer, Array, Array, Array, Array], Array] | None = None


COST_ERRORS: dict[str, CostErrors] = {
    "quadratic": CostErrors(
        _quadratic_delta_rounding, _quadratic_z_derivatives, _quadratic_cost_rounding
    ),
    "cross_entropy": CostErrors(
        _cross_entropy_delta_rounding, _cross_entropy_z_derivatives, _cross_entropy_cost_rounding
    ),
}


# --- softmax output (issue 13): a^L_j depends on every z^L_k -------------------------------------
# The model above treats σ as elementwise: α^L = |σ'|ζ^L + SIGMA_ULPS·|a^L|, BP1's rounding per
# element, and C_x as a sum over output neurons whose derivatives in z^L are per neuron. A softmax
# output a = e^z / Σ e^z (Softmax in reference.activations) breaks all three; these entries replace
# them, derived below, no constant fitted. Per column (sample), n = n_L, ε units throughout.
#
# Evaluation. Max-shifted, a_k = e^{s_k}/S with s = z − max z, S = Σ_j e^{s_j} ∈ [1, n]: s_k rounds
# by |s_k|; e^{s_k} errs by SIGMA_ULPS relative plus |s_k| (its argument's error, made relative by
# exp); S by Σ_j a_j(|s_j| + SIGMA_ULPS) + n relative; the division by 1. Through the log instead
# (torch's and jax's log_softmax, then exp: what their log-likelihood's backward uses),
# ln a_k = s_k − ln S adds |s_k| + 2 ln S (the log of S and the subtraction). Both are within
#     ρ_k = 2|s_k| + 2 ln S + Σ_j a_j|s_j| + n + 2·SIGMA_ULPS + 1     (relative, per element);
# a_k|s_k| ≤ 1/e, so a_k ρ_k stays bounded where a_k underflows.
# Forward. Δa = J Δz with |J_kj| = a_k|δ_kj − a_j| ≤ a_k(δ_kj + a_j), so
#     α^L_k = a_k(ζ^L_k + a·ζ^L) + a_k ρ_k.
# BP1, log-likelihood. δ^L = a − y (reference) or −y + a·Σy (autograd's log_softmax backward,
# Σy = 1 exactly for one-hot y): the terms |a| and |y|, two roundings each, plus α^L:
#     β^L = α^L + 2(|a| + |y|).
# BP1, quadratic cost. With g = a − y (error Γ = α^L + |g|), δ^L = J^T g is computed as Σ_k J_kj g_k
# (reference: J formed, a_k a_j and a_j − a_j² rounding) or a ⊙ (g − a·g) (autograd's softmax
# backward). Charging each form's dot products n·(size of terms) and every factor's error, both are
# within  β^L_j = (n + 3)·a_j(G_j + a·G) + α_j(3G_j + 2a·G) + a_j(Γ_j + a·Γ + α·G),  G = |g|.
# FD: C_x's own rounding. Log-likelihood −Σ y_j ln a_j from log-sum-exp: ln a_j within
# ρ_j + |ln a_j|, then the products and the sum: Σ_j |y_j|(ρ_j + (n + 2)|ln a_j|). Quadratic:
# (n + 2)C_x plus a^L's own rounding a_jρ_j times |a_j − y_j|.
# FD truncation. Along the jet z^L(t) = z^L + c₁t + c₂t² + c₃t³ (|c_k| the bounds carried by the
# recursion), f = φ(z^L(t)) with φ = C_x∘softmax not a sum over neurons, so
#     f''' = 6·Dφ[c₃] + 6·D²φ[c₁, c₂] + D³φ[c₁, c₁, c₁],
# each form bounded in absolute values over the step: moving each z by at most r moves each a_j
# within [a_j e^{−2r}, â_j], â_j = min(1, a_j e^{2r}), so every a below is â (the bounds only grow
# with a) and |a_j(ξ) − a_j| ≤ â_j − a_j e^{−2r} =: d_j.
#  - log-likelihood, φ = Σy·lse(z) − y·z: ∇φ = a·Σy − y, |∇φ| ≤ |a·Σy − y| + Σy·d;
#    ∇²φ = Σy(diag a − aaᵀ), ∇³φ the third cumulant: |D²φ[u,v]| ≤ Σy(â·|uv| + (â·|u|)(â·|v|)),
#    |D³φ[u,u,u]| ≤ Σy(â·|u|³ + 3(â·u²)(â·|u|) + 2(â·|u|)³).
#  - quadratic, φ = ½‖a − y‖², R = |a − y| + d, U_j = |u_j| + â·|u|: |Da[u]_j| ≤ â_jU_j,
#    |D²a[u,v]_j| ≤ â_j(U_jV_j + â·|uv| + (â·|u|)(â·|v|)),
#    |D³a[u,u,u]_j| ≤ â_j(U_j³ + 3U_j â·u² + â·U³) (from a_j(ū³ − 3ū·Var − κ₃), ū = u − a·u),
#    and Dφ = Σ R Da, D²φ = Σ Da Da + R D²a, D³φ = Σ 3 Da D²a + R D³a.


def _softmax_parts(z: Array, axis: int = -2) -> tuple[Array, Array, Array]:
    """a, s = z − max z and ln a = s − ln S along the neurons ``axis``: finite everywhere."""
    s = z - z.max(axis=axis, keepdims=True)
    log_a = s - np.log(np.exp(s).sum(axis=axis, keepdims=True))
    return np.exp(log_a), s, log_a


def _softmax_ulps(z: Array) -> Array:
    """ρ: each a_k's relative rounding in ulps (the section above), neurons on axis −2."""
    a, s, log_a = _softmax_parts(z)
    n = z.shape[-2]
    log_sum = (s - log_a).max(axis=-2, keepdims=True)  # ln S (equal in every row)
    spread = np.sum(a * np.abs(s), axis=-2, keepdims=True)
    return 2 * np.abs(s) + 2 * log_sum + spread + n + 2 * SIGMA_ULPS + 1


def _softmax_output_rounding(z: Array, zeta: Array) -> Array:
    """α^L = a ⊙ (ζ^L + a·ζ^L) + a ⊙ ρ: z^L's error through |J|, and softmax's own rounding."""
    a = _softmax_parts(z)[0]
    return a * (zeta + np.sum(a * zeta, axis=-2, keepdims=True)) + a * _softmax_ulps(z)


def _softmax_diagonal_derivatives(z: Array) -> tuple[Array, Array, Array]:
    """∂ⁿa_j/∂z_jⁿ, n = 1, 2, 3 (the Jacobian's diagonal): a_j is the logistic function of z_j
    alone. The table entry only; the output layer's model uses the functions of this section."""
    a = _softmax_parts(z, axis=0)[0]
    d1 = a * (1 - a)
    return d1, d1 * (1 - 2 * a), d1 * (1 - 6 * d1)


def _softmax_diagonal_rounding(z: Array) -> Array:
    """The computed a_j − a_j² (J's diagonal): a_j's ρ_j and two roundings."""
    a = _softmax_parts(z, axis=0)[0]
    return a * _softmax_ulps(z) * (1 + 2 * a) + 2 * a


def _log_likelihood_delta_rounding(out: OutputLayer, zeta: Array, alpha: Array) -> Array:
    """δ^L = a − y or −y + a·Σy: 2(|a| + |y|) + α^L."""
    return alpha + 2 * (np.abs(out.a) + np.abs(out.y))


def _softmax_quadratic_delta_rounding(out: OutputLayer, zeta: Array, alpha: Array) -> Array:
    """δ^L = J^T(a − y), as Σ_k J_kj g_k or a ⊙ (g − a·g): the section's β^L."""
    a, n = np.abs(out.a), out.a.shape[-2]
    g = np.abs(out.a - out.y)
    gamma = alpha + g

    def dot(v: Array) -> Array:
        return np.sum(a * v, axis=-2, keepdims=True)

    return (
        (n + 3) * a * (g + dot(g))
        + alpha * (3 * g + 2 * dot(g))
        + a * (gamma + dot(gamma) + np.sum(alpha * g, axis=-2, keepdims=True))
    )


def _log_likelihood_cost_rounding(out: OutputLayer) -> Array:
    """−Σ y_j ln a_j from log-sum-exp: Σ_j |y_j|(ρ_j + (n + 2)|ln a_j|)."""
    n, log_a = out.z.shape[-2], _softmax_parts(out.z)[2]
    return np.sum(np.abs(out.y) * (_softmax_ulps(out.z) + (n + 2) * np.abs(log_a)), axis=-2)


def _softmax_quadratic_cost_rounding(out: OutputLayer) -> Array:
    """½Σ(a − y)² of a softmax output: (n + 2)C_x and a_jρ_j·|a_j − y_j|."""
    g = np.abs(out.a - out.y)
    own = np.abs(out.a) * _softmax_ulps(out.z)
    return (out.z.shape[-2] + 2) * 0.5 * np.sum(g * g, axis=-2) + np.sum(g * own, axis=-2)


def _softmax_reach(out: OutputLayer, radius: Array) -> tuple[Array, Array]:
    """â = min(1, a e^{2r}) and d = â − a e^{−2r}, r the largest radius of the column."""
    r = 2 * radius.max(axis=-2, keepdims=True)
    log_a = _softmax_parts(out.z)[2]
    a_hat = np.exp(np.minimum(0.0, log_a + r))
    return a_hat, a_hat - np.exp(log_a - r)


def _not_separable(out: OutputLayer, radius: Array) -> tuple[Array, Array, Array]:
    raise TypeError("C_x∘softmax is not a sum over output neurons: use CostErrors.jet_third")


def _log_likelihood_jet(out: OutputLayer, c1: Array, c2: Array, c3: Array, radius: Array) -> Array:
    """|f'''| along the jet for C_x = −Σ y ln softmax(z): 6Dφ[c₃] + 6D²φ[c₁,c₂] + D³φ[c₁]."""
    a_hat, d = _softmax_reach(out, radius)
    sy = np.sum(np.abs(out.y), axis=-2, keepdims=True)  # Σ|y|: 1 for a one-hot y

    def dot(v: Array) -> Array:
        return np.sum(a_hat * v, axis=-2)

    grad = np.abs(out.a * sy - out.y) + sy * d
    first = np.sum(grad * c3, axis=-2)
    second = dot(c1 * c2) + dot(c1) * dot(c2)
    third = dot(c1**3) + 3 * dot(c1**2) * dot(c1) + 2 * dot(c1) ** 3
    return 6 * first + sy[..., 0, :] * (6 * second + third)


def _softmax_quadratic_jet(
    out: OutputLayer, c1: Array, c2: Array, c3: Array, radius: Array
) -> Array:
    """|f'''| along the jet for C_x = ½‖softmax(z) − y‖² (the section's bounds)."""
    a_hat, d = _softmax_reach(out, radius)
    r = np.abs(out.a - out.y) + d

    def dot(v: Array) -> Array:
        return np.sum(a_hat * v, axis=-2, keepdims=True)

    u1, u2, u3 = c1 + dot(c1), c2 + dot(c2), c3 + dot(c3)
    first = np.sum(r * a_hat * u3, axis=-2)
    second_a = a_hat * (u1 * u2 + dot(c1 * c2) + dot(c1) * dot(c2))
    second = np.sum(a_hat * a_hat * u1 * u2 + r * second_a, axis=-2)
    second_a11 = a_hat * (u1 * u1 + dot(c1 * c1) + dot(c1) ** 2)
    third_a = a_hat * (u1**3 + 3 * u1 * dot(c1 * c1) + dot(u1**3))
    third = np.sum(3 * a_hat * u1 * second_a11 + r * third_a, axis=-2)
    return 6 * first + 6 * second + third


ACTIVATION_ERRORS["softmax"] = ActivationErrors(
    _softmax_diagonal_derivatives, ((), (), ()), _softmax_diagonal_rounding
)
#: Costs on a softmax output: BP1's rounding, C_x's rounding and the jet's f''' (no per-neuron
#: z-derivatives: C_x∘softmax is not separable).
SOFTMAX_COST_ERRORS: dict[str, CostErrors] = {
    "quadratic": CostErrors(
        _softmax_quadratic_delta_rounding,
        _not_separable,
        _softmax_quadratic_cost_rounding,
        _softmax_quadratic_jet,
    ),
    "log_likelihood": CostErrors(
        _log_likelihood_delta_rounding,
        _not_separable,
        _log_likelihood_cost_rounding,
        _log_likelihood_jet,
    ),
}
COST_ERRORS["log_likelihood"] = SOFTMAX_COST_ERRORS["log_likelihood"]


def cost_errors(cost: str, output: str) -> CostErrors:
    """The cost's error model for this output activation (softmax has its own, above)."""
    table = SOFTMAX_COST_ERRORS if output in OUTPUT_ONLY else COST_ERRORS
    if cost not in table:
        raise KeyError(f"no error model for cost {cost!r} on a {output} output")
    return table[cost]


# --- the scales of one case --------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorScales:
    """For one case, per (quantity, layer): B, the rounding bound in units of ε; for the FD
    oracle, R (its cost-rounding scale) and F (its truncation error, h²/6·F3, absolute)."""

    rounding: dict[tuple[str, int], float]
    fd_rounding: dict[tuple[str, int], float]
    fd_truncation: dict[tuple[str, int], float]
    #: ∂C/∂b and ∂C/∂w only: the 2-norm of the componentwise bound whose largest element is B.
    rounding_norm: dict[tuple[str, int], float] = field(default_factory=dict)


def error_scales(
    arch: Architecture, params: Params, batch: Batch, dtype: Any, step: float = STEP
) -> ErrorScales:
    """B, R and F of every quantity of every layer (module docstring), from the reference's own
    numbers in float64; ``dtype`` (the reference's) sets the underflow unit ``tiny``."""
    params = params.astype(np.float64)
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    tiny = float(np.finfo(dtype).tiny)
    sigmas = arch.layer_activations
    errs = [activation_errors(s.name) for s in sigmas]
    cost = cost_errors(arch.cost, sigmas[-1].name)
    fwd = feedforward(params, sigmas, x)
    grads = backprop(arch, params, x, y)
    ws, bs, zs = params.weights, params.biases, fwd.zs
    acts = [np.abs(a) for a in fwd.activations]
    primes = [np.abs(e.derivatives(z)[0]) for e, z in zip(errs, zs, strict=True)]
    deltas = [np.abs(d) for d in grads.deltas]
    out = OutputLayer(zs[-1], fwd.activations[-1], y, errs[-1])
    L, m = len(ws), x.shape[1]

    # forward: ζ bounds |Δz^l| / ε, α bounds |Δa^l| / ε (list index i is layer i + 2)
    local = [
        (w.shape[1] + 1) * (np.abs(w) @ acts[i] + np.abs(b) + tiny)
        for i, (w, b) in enumerate(zip(ws, bs, strict=True))
    ]
    zetas: list[Array] = []
    alphas: list[Array] = [np.zeros_like(x)]
    for i, w in enumerate(ws):
        zetas.append(local[i] + np.abs(w) @ alphas[-1])
        alphas.append(primes[i] * zetas[i] + SIGMA_ULPS * acts[i + 1] + tiny)
    if sigmas[-1].name in OUTPUT_ONLY:  # softmax output (issue 13): a^L moves with all of z^L
        alphas[-1] = _softmax_output_rounding(zs[-1], zetas[-1]) + tiny

    # backward: β bounds |Δδ^l| / ε
    betas: list[Array] = [np.empty(0)] * L
    betas[-1] = cost.delta_rounding(out, zetas[-1], alphas[-1]) + tiny
    for i in range(L - 2, -1, -1):
        absw = np.abs(ws[i + 1])
        p = np.abs(ws[i + 1].T @ grads.deltas[i + 1])
        dp = absw.shape[0] * (absw.T @ deltas[i + 1]) + absw.T @ betas[i + 1] + p + tiny
        d2 = np.abs(errs[i].derivatives(zs[i])[1])
        betas[i] = dp * primes[i] + p * (errs[i].prime_rounding(zs[i]) + d2 * zetas[i]) + tiny

    rounding: dict[tuple[str, int], float] = {}
    rounding_norm: dict[tuple[str, int], float] = {}
    for i in range(L):
        layer = i + 2
        bias = betas[i].mean(axis=1) + m * deltas[i].mean(axis=1) + np.abs(grads.nabla_b[i][:, 0])
        weight = (betas[i] @ acts[i].T + deltas[i] @ alphas[i].T + m * deltas[i] @ acts[i].T) / m
        rounding["delta", layer] = float(betas[i].max())
        weight = weight + np.abs(grads.nabla_w[i])
        rounding["nabla_b", layer] = float(bias.max() + m * tiny)
        rounding["nabla_w", layer] = float(weight.max() + m * tiny)
        rounding_norm["nabla_b", layer] = float(np.linalg.norm(bias + m * tiny))
        rounding_norm["nabla_w", layer] = float(np.linalg.norm(weight + m * tiny))

    # FD rounding: a difference at layer l re-runs l…L, R_x = Σ_k Σ_j |δ^{x,k}_j| λ^{x,k}_j + …
    cost_part = cost.cost_rounding(out)
    later = np.zeros(m)
    fd_rounding: dict[tuple[str, int], float] = {}
    for i in range(L - 1, -1, -1):
        layer = i + 2
        r = later + np.sum(deltas[i] * np.abs(zs[i]), axis=0) + cost_part + tiny
        fd_rounding["delta", layer] = float(r.max())
        fd_rounding["nabla_b", layer] = fd_rounding["nabla_w", layer] = float(r.mean())
        # what layer i's re-run rounds: its dot products and σ's rounding of its input a^{l−1}
        rerun = local[i] + np.abs(ws[i]) @ (SIGMA_ULPS * acts[i]) if i else local[i]
        later = later + np.sum(deltas[i] * rerun, axis=0)

    fd_truncation: dict[tuple[str, int], float] = {}
    for i in range(L):
        third = _third_derivatives(ws, zs, errs, cost, out, i, step * max(1.0, acts[i].max()))
        layer, h2 = i + 2, step * step / 6
        fd_truncation["delta", layer] = h2 * float(third.max())
        fd_truncation["nabla_b", layer] = h2 * float(third.mean(axis=1).max())
        fd_truncation["nabla_w", layer] = h2 * float((third @ acts[i].T ** 3 / m).max())
    return ErrorScales(rounding, fd_rounding, fd_truncation, rounding_norm)


def _third_derivatives(
    ws: tuple[Array, ...],
    zs: tuple[Array, ...],
    errs: list[ActivationErrors],
    cost: CostErrors,
    out: OutputLayer,
    i: int,
    reach: float,
) -> Array:
    """|∂³C_x/∂(z^l_j)³| bounded over a step of ``reach``, shape (n_l, m): row j, sample x.

    A jet (c₁, c₂, c₃) per perturbed row j, leading axis, goes through layers l…L in absolute
    values (module docstring); each σ^{(n)} is bounded over the reach c₁·reach (doubled, for
    the higher-order terms).
    """
    n, m = zs[i].shape
    c1 = np.repeat(np.eye(n)[:, :, None], m, axis=2)
    c2, c3 = np.zeros_like(c1), np.zeros_like(c1)
    for k in range(i, len(zs) - 1):
        d1, d2, d3 = errs[k].bounds(zs[k], 2 * reach * c1)
        a1, a2 = d1 * c1, d1 * c2 + d2 * c1**2 / 2
        a3 = d1 * c3 + d2 * c1 * c2 + d3 * c1**3 / 6
        absw = np.abs(ws[k + 1])
        c1, c2, c3 = (np.einsum("ab,jbx->jax", absw, a) for a in (a1, a2, a3))
    if cost.jet_third is not None:  # softmax output (issue 13): C_x is not a sum over neurons
        out_stack = OutputLayer(out.z[None], out.a[None], out.y[None], out.errors)
        return cost.jet_third(out_stack, c1, c2, c3, 2 * reach * c1)
    g1, g2, g3 = cost.z_derivatives(
        OutputLayer(out.z[None], out.a[None], out.y[None], out.errors), 2 * reach * c1
    )
    return 6 * np.sum(g1 * c3 + g2 * c1 * c2 + g3 * c1**3 / 6, axis=1)


# --- the allowed error ---------------------------------------------------------------------------


def eps(dtype: Any) -> float:
    return float(np.finfo(dtype).eps)


def bound_allowed(rounding_scale: float, dtype: Any) -> float:
    """AUTOGRAD_SAFETY · (ε_reference + ε_64) · B: two computations, each within ε·B."""
    return AUTOGRAD_SAFETY * (eps(dtype) + eps(np.float64)) * rounding_scale


# --- Training runs (harness/training.py) ----------------------------------------------------
# One SGD step is a map θ_t = Φ_t(θ_{t−1}), Φ_t(θ) = Dθ − η∇C_t(θ) (C_t the mini-batch's mean
# cost, D = 1 − ηλ/n on weights and 1 on biases). The reference and an oracle evaluate it in
# floating point as Φ̂_t and Φ̃_t. If r_t bounds their one-step difference from a common point and
# g_t bounds how much the exact step stretches a small difference, the triangle inequality
#     ‖θ̂_t − θ̃_t‖ ≤ ‖Φ̂_t(θ̂) − Φ_t(θ̂)‖ + ‖Φ_t(θ̂) − Φ_t(θ̃)‖ + ‖Φ_t(θ̃) − Φ̃_t(θ̃)‖
# gives the drift model  e_t ≤ E_t,  E_t = g_t · E_{t−1} + r_t  (E_0 the difference of the starts).
# All norms are 2-norms over every parameter of the network.
#
# r_t, the rounding of one step (both sides). The gradient: each side's ∂C/∂b^l and ∂C/∂w^l are
# within ε·B componentwise, B the running bound of error_scales at (θ_{t−1}, mini-batch t) (module
# docstring; it keeps the size of the terms when the batch mean cancels, as it does late in
# training); in the 2-norm that is bound_allowed(‖B‖₂), times η. The update: STEP_ROUNDINGS
# roundings on each side (D·θ, η·∇C and the subtraction; torch and optax order them otherwise) of
# terms |θ| and η|∇C|:
#     r_t = η · sqrt(Σ_{l, b and w} bound_allowed(‖B‖₂)²)
#           + 2 · STEP_ROUNDINGS · ε · (‖θ_{t−1}‖ + η‖∇C_t‖).
# The same per layer in the max-norm is sgd_step_allowed: one step from a common point.
#
# g_t, the expansion. The step's Lipschitz constant ‖D − ηH_t‖ ≤ 1 + η‖H_t‖ (H_t the mini-batch
# Hessian) is a valid but useless bound. Measured on the digits cases (power iteration with
# finite-difference Hessian-vector products, at steps 1, 65, 130, 325, 650): η‖H_t‖ = 0.68…1.95, so
# Π_t (1 + η‖H_t‖) is of order 1.7^650 ≈ 1e146; even the exact ‖D − ηH_t‖ = 1.06…2.51 compounds to
# order 1e16 — while differences actually grew 3–4× over those 650 steps. A rounding difference is
# not aligned with every step's worst direction. So g_t is measured: a tangent vector carried along
# the reference's path by central differences of the step (harness.training.expansion_factors) is a
# power iteration of the step Jacobians, so within a few steps it aligns with the most expanding
# direction, and g_t is its growth at step t. Measured: g_t ∈ [0.997, 1.014] and Π_t g_t = 3.8
# (quadratic) and 2.9 (cross-entropy) over 650 steps; g_t ∈ [0.991, 1.020], Π_t g_t = 8.1 and 9.4
# over 3900. A random perturbation injected at step 0, 130 or 260 grew at most 1.06× more than Π g_t
# over the rest of the run. GROWTH_SAFETY = 2 covers that miss:
#     allowed_t = GROWTH_SAFETY · E_t.
# A float32 run against the float64 reference: r_t with ε_32 (bound_allowed's ε_reference + ε_64,
# and ε_32 in the update) and E_0 = ½ε_32‖θ_0‖ (the starting parameters rounded to float32).
#
# Measured margins (harness.training; both digits cases, 650 and 3900 steps). One step from the
# reference's path: ≤ 0.052 of sgd_step_allowed at every step, every trainer. Whole trajectories,
# float64: ≤ 0.0017 of allowed_t (at step 1; 2e-5…5e-5 at step 650, 4e-6…8e-6 at step 3900);
# float32: 0.23 at step 0 (the rounding of the start itself), ≤ 0.0032 after. The model is a worst
# case twice over: B charges every rounding its largest possible size, and E_t adds the r_t up
# where roundings mostly cancel and add like a random walk. Planted mistakes still exceed it by
# far: η off by 1e-9 relative by 3e3× (from step 1), biases decayed or λ/m for λ/n by ≥ 5e10×,
# two mini-batches swapped half-way by 1e9× at the swap (the runs agree exactly before it, so only
# the curve sees it).
# The softmax + log-likelihood digits case (650 steps, measured when it was added): g_t ∈
# [0.997, 1.009], Π g_t = 2.3; float64 trajectories ≤ 0.0011 of allowed_t (at step 1), float32
# 0.23 at step 0 and ≤ 0.0029 after.

#: Roundings of one SGD step on each side: D·θ, η·∇C and the subtraction.
STEP_ROUNDINGS = 3
#: How far the tangent-vector growth Π g_t may underestimate the growth of a rounding difference.
GROWTH_SAFETY = 2.0


def sgd_step_allowed(
    eta: float, rounding_scale: float, grad_scale: float, param_scale: float, dtype: Any
) -> float:
    """One SGD step from the same parameters, reference against another, normwise per layer:
    η · bound_allowed(B) + 2 · STEP_ROUNDINGS · ε · (P + η·G), with B the gradient's running
    bound (error_scales), G = max |∂C/∂θ| and P = max |θ| of the layer's weights or biases."""
    update = 2 * STEP_ROUNDINGS * eps(dtype) * (param_scale + eta * grad_scale)
    return eta * bound_allowed(rounding_scale, dtype) + update


def sgd_step_rounding(
    eta: float, rounding_norms: Sequence[float], grad_norm: float, param_norm: float, dtype: Any
) -> float:
    """r_t: the 2-norm of one step's rounding, both sides (see the training section above).

    ``rounding_norms`` are ‖B‖₂ of every layer's ∂C/∂b and ∂C/∂w (ErrorScales.rounding_norm);
    ``grad_norm`` and ``param_norm`` are ‖∇C‖₂ and ‖θ‖₂ over the whole network.
    """
    gradient = eta * float(np.hypot.reduce([bound_allowed(b, dtype) for b in rounding_norms]))
    return gradient + 2 * STEP_ROUNDINGS * eps(dtype) * (param_norm + eta * grad_norm)


def drift_allowed(
    start: float, roundings: Iterable[float], expansions: Iterable[float]
) -> np.ndarray[Any, Any]:
    """GROWTH_SAFETY · E_t for t = 0…k: E_0 = ``start``, E_t = g_t · E_{t−1} + r_t."""
    bound = [start]
    for r, g in zip(roundings, expansions, strict=True):
        bound.append(g * bound[-1] + r)
    return GROWTH_SAFETY * np.asarray(bound)


def allowed_error(
    oracle: str,
    arch: Architecture,
    layer: int,
    scale: float,
    cost_scale: float,
    dtype: Any,
    *,
    quantity: str | None = None,
    scales: ErrorScales | None = None,
) -> float:
    """The largest absolute difference allowed for one layer's quantity (module docstring).

    With the case's ``scales`` and the ``quantity``, the gate's model. Without them, the normwise
    model of ``scale`` = S (the larger array magnitude) for autograd oracles, and for FD
    64·h²·S + (n_L + 2L)·ε·Ĉ/h with ``cost_scale`` = Ĉ = max_x |C_x|: blind to cancellation and
    saturation, kept for callers that hold only arrays. ``dtype`` is the reference's floating
    type; the oracles run in float64.
    """
    kind = get_oracle(oracle).kind
    if kind not in ("autograd", "finite_difference"):
        raise ValueError(f"no error model for oracle kind {kind!r}")
    if scales is None or quantity is None:
        own = autograd_allowed(arch, layer, scale, dtype)
        if kind == "autograd":
            return own
        rounding = (arch.sizes[-1] + 2 * arch.depth) * eps(np.float64) * cost_scale / STEP
        return 64.0 * STEP**2 * scale + rounding + (own if eps(dtype) > eps(np.float64) else 0.0)
    bound = scales.rounding[quantity, layer]
    if kind == "autograd":
        return bound_allowed(bound, dtype)
    fd = (
        scales.fd_truncation[quantity, layer]
        + eps(np.float64) * scales.fd_rounding[quantity, layer] / STEP
    )
    return FD_SAFETY * fd + eps(dtype) * bound


# --- Implementations under test (checker/) ---------------------------------------------------
# A learner's network.py computes the same float64 quantities as the reference with other
# operation orders and other formulas (the book's σ = 1/(1 + e^{−z}) against the reference's
# overflow-free form; σ' as σ(1 − σ) or as e^{−z}/(1 + e^{−z})²): the autograd oracles' situation,
# but judged sample by sample on small layers, where the gate's assumption fails that a sum's
# terms are at most NORMWISE_SAFETY × the layer's largest result. A width-1 layer, or an output
# a^L ≈ y, cancels far more (measured: 0.95 of the autograd tolerance on a correct implementation).
# So S is the magnitude of the terms themselves (Higham's running error bound, §3.1): the same
# recursion as backprop with every factor replaced by its absolute size. Measured with it, on the
# curated and 300 random all-sigmoid architectures × seeds 0–2 × both costs, the worst
# error/allowed of a correct implementation is 0.076 (backprop), 0.071 (the SGD step) and 0.16
# (total_cost's slopes); 0.12, 0.037 and 0.10 for tests/data/matrix_network.py (matrix-form
# update, an accurate σ'). Every mutant of checker/mutants is ≥ 45× its allowed, most ≥ 1e10×.

#: |f'''| / (6|f'|) allowed along a perturbation of total_cost (measured ≤ 1.3 on the book's
#: N(0,1) net, whose inputs reach ±4): the truncation part of the cost-slope model below.
FD_TRUNCATION = 64.0

#: Roundings of one SGD step on each side: decay·w, (η/m)·Σ, and the subtraction.
SGD_ROUNDINGS = 3


def output_factor(cost: str, z_out: Array) -> Array:
    """k in δ^L = (a^L − y)·k for the book's costs on a sigmoid output, as a size of terms.

    Quadratic: k = σ'(z^L) = σ(1 − σ). Computed in floating point it errs by about ε·σ(z), not
    ε·σ'(z) (1 − σ loses its digits as σ → 1), so its size is σ(z). Cross-entropy: k = 1, the book's
    δ^L = a − y (the reference's (a − y)/(a(1 − a)) · a(1 − a) cancels to within a few ε).
    """
    if cost == "quadratic":
        return ACTIVATIONS["sigmoid"].fn(z_out)
    if cost in ("cross_entropy", "log_likelihood"):  # log-likelihood: softmax output, δ^L = a − y
        return np.ones_like(z_out)
    raise ValueError(f"no error model for cost {cost!r} in a sigmoid network")


def sigmoid_term_scales(arch: Architecture, params: Params, x: Array, y: Array) -> Gradients:
    """The sizes of the terms δ^l, ∂C/∂b^l and ∂C/∂w^l are computed from, in an all-sigmoid net.

    T^L = (|a^L| + |y|) ⊙ k (see :func:`output_factor`), T^l = (|w^{l+1}|^T T^{l+1}) ⊙ σ(z^l)
    (σ(z) bounds the rounding of σ'(z), as at the output), and for the gradients the batch means
    of T^l and of T^l |a^{l−1}|^T. Each is ≥ the size of the exact quantity, and a rounding
    anywhere in the chain moves the result by at most a few ε times it.
    """
    names = [s.name for s in arch.layer_activations]
    softmax_out = arch.cost == "log_likelihood" and names[-1] == "softmax"  # δ^L = a − y as above
    if set(names[:-1] if softmax_out else names) - {"sigmoid"}:
        raise ValueError(f"{arch.id}: term scales are modelled for sigmoid layers only")
    fwd = feedforward(params, arch.layer_activations, x)
    sigmoid = ACTIVATIONS["sigmoid"]
    L = len(fwd.zs)
    terms: list[Array] = [np.empty(0)] * L
    terms[-1] = (np.abs(fwd.activations[-1]) + np.abs(y)) * output_factor(arch.cost, fwd.zs[-1])
    for i in range(L - 2, -1, -1):
        terms[i] = (np.abs(params.weights[i + 1]).T @ terms[i + 1]) * sigmoid.fn(fwd.zs[i])
    m = x.shape[1]
    return Gradients.from_lists(
        terms,
        [t.mean(axis=1, keepdims=True) for t in terms],
        [t @ np.abs(a).T / m for t, a in zip(terms, fwd.activations[:-1], strict=True)],
    )


def implementation_allowed(arch: Architecture, layer: int, term_scale: float, dtype: Any) -> float:
    """An implementation's δ^l, ∂C/∂b^l or ∂C/∂w^l against the reference: NORMWISE_SAFETY · N_l ·
    ε · S with S the largest term size from :func:`sigmoid_term_scales`."""
    return autograd_allowed(arch, layer, term_scale, dtype)


def update_allowed(
    arch: Architecture,
    layer: int,
    eta: float,
    grad_scale: float,
    param_scale: float,
    dtype: Any,
) -> float:
    """One SGD step w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w, reference against implementation.

    The two mean gradients differ by at most :func:`implementation_allowed` (its chain length
    counts the m-term sum; ``grad_scale`` G is the gradient's largest term size), scaled by η;
    each side then rounds SGD_ROUNDINGS times on terms no larger than P = max |w| and η·G:
    2 · SGD_ROUNDINGS · ε · (P + η·G).
    """
    eps = float(np.finfo(dtype).eps)
    gradient = eta * implementation_allowed(arch, layer, grad_scale, dtype)
    return gradient + 2 * SGD_ROUNDINGS * eps * (param_scale + eta * grad_scale)


def cost_slope_allowed(
    arch: Architecture, layer: int, scale: float, cost_scale: float, squares: int
) -> float:
    """A central difference (step STEP) of an implementation's ``total_cost(data, λ)`` against
    ∂C/∂w + (λ/n)w: the finite-difference oracle's model, with the rounding of the reported cost.

    Truncation is FD_TRUNCATION · h² · S as for the oracle (the L2 term is quadratic: no third
    derivative). The reported cost is a mean of m per-sample costs, each within (n_L + 2L) ulps,
    plus (λ/2n) Σ‖w‖², a sum of ``squares`` terms (0 when λ = 0): so it is within
    (n_L + 2L + m + squares)·ε·Ĉ of itself (Ĉ the largest cost evaluated), divided by h. The
    exact side is the reference's gradient, within the autograd model of its own.
    """
    eps = float(np.finfo(np.float64).eps)
    ulps = arch.sizes[-1] + 2 * arch.depth + arch.batch + squares
    truncation = FD_TRUNCATION * STEP**2 * scale
    rounding = ulps * eps * cost_scale / STEP
    return truncation + rounding + autograd_allowed(arch, layer, scale, np.float64)
