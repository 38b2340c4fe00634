"""What the rounding bound needs to know of each activation and cost beyond σ, σ' and C_x.

Per activation (:data:`ACTIVATION_ERRORS`): the first three derivatives of σ (the Taylor jet of
the FD oracle's truncation bound, :mod:`errormodel.rounding`), where each |σ^{(n)}| peaks (so a
bound over an interval checks the ends, the centre and the peaks inside), and κ(z), the absolute
error of the computed σ'(z) in units of ε: a saturated sigmoid's s(1 − s) errs by ≈ ε·s, not ε·σ'.

Per cost (:data:`COST_ERRORS`): the rounding of δ^L by BP1, C_x's derivatives in z^L over an
interval, and the rounding of C_x itself (what a finite difference of the cost divides by h).

A softmax output (a^L depends on all of z^L) has its own α^L, BP1 and FD entries, derived in the
section "softmax output" below; :func:`cost_errors` picks a cost's entry for an output activation.

An activation's entry is read from its record (``ErrorFacts`` in
:data:`reference.activations.ACTIVATION_INFO`), a cost's from its record (``CostErrorFacts`` in
:data:`reference.costs.COST_INFO`); the softmax output's entries are this module's own, as its
model is the whole output layer's (``tests/test_vocabulary.py`` checks that every table names
the same set, :mod:`reference.vocabulary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from reference.activations import ACTIVATION_INFO, OUTPUT_ONLY, ErrorFacts, Softmax
from reference.costs import COST_INFO, CostErrorFacts
from reference.types import Array

#: ulps within which a library evaluates σ(z) (exp, log1p, tanh, a division: ~1 each).
SIGMA_ULPS = 2.0


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


def _from_record(facts: ErrorFacts) -> ActivationErrors:
    """The record's facts, κ given this model's SIGMA_ULPS."""
    rounding = facts.prime_rounding
    return ActivationErrors(facts.derivatives, facts.peaks, lambda z: rounding(z, SIGMA_ULPS))


#: Per activation: derivatives, where they peak, and how exactly σ' is computed, read from the
#: activation's record (reference.activations.ACTIVATION_INFO: relu and leaky_relu are linear off
#: the kink, a difference across the kink being the kink detector's business, with an exact σ';
#: identity is exact). An output-only activation's entry is its own, below ("softmax output").
ACTIVATION_ERRORS: dict[str, ActivationErrors] = {
    name: _from_record(info.errors)
    for name, info in ACTIVATION_INFO.items()
    if info.errors is not None
}


def activation_errors(name: str) -> ActivationErrors:
    if name not in ACTIVATION_ERRORS:
        raise KeyError(
            f"no error model for activation {name!r}: give its record ErrorFacts "
            "(reference.activations.ACTIVATION_INFO)"
        )
    return ACTIVATION_ERRORS[name]


@dataclass(frozen=True)
class OutputLayer:
    """The last layer as the error model sees it: z^L, a^L, y, and σ's model there."""

    z: Array
    a: Array
    y: Array
    errors: ActivationErrors


@dataclass(frozen=True)
class CostErrors:
    """Per cost: δ^L's rounding (BP1), C_x's derivatives in z^L, C_x's own rounding."""

    delta_rounding: Callable[[OutputLayer, Array, Array], Array]
    z_derivatives: Callable[[OutputLayer, Array], tuple[Array, Array, Array]]
    cost_rounding: Callable[[OutputLayer], Array]
    #: A non-separable C_x (softmax output): |f'''| along the jet (c₁, c₂, c₃) over ``radius``.
    jet_third: Callable[[OutputLayer, Array, Array, Array, Array], Array] | None = None


def _cost_from_record(facts: CostErrorFacts) -> CostErrors:
    """The record's facts, C_x's rounding given this model's SIGMA_ULPS."""
    rounding = facts.cost_rounding
    return CostErrors(
        facts.delta_rounding, facts.z_derivatives, lambda out: rounding(out, SIGMA_ULPS)
    )


#: Per cost on an elementwise output, read from the cost's record (reference.costs.COST_INFO). A
#: cost valid only on a softmax output has its entry in the section below, and only there.
COST_ERRORS: dict[str, CostErrors] = {
    name: _cost_from_record(info.errors)
    for name, info in COST_INFO.items()
    if info.errors is not None
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
#
# Measured (float64; the bound as derived, no constant fitted). When added: 286 random softmax
# architectures (log-likelihood and quadratic costs) and 104 of them again with weights ×3…×100
# and inputs ×1…×1e8: no failure; largest error/allowed 0.021 (torch), 0.033 (jax), 0.051 (FD,
# scaled). On the vocabulary's draw (softmax and log_likelihood appended, suite.architectures):
# the default gate's 33 softmax nets (8 curated, 25 random) 0.019 / 0.015 / 0.022 (torch / jax /
# FD); ``--random-count 300``, 128 softmax nets: log-likelihood 0.019 / 0.016 / 0.029, quadratic
# 0.0054 / 0.0039 / 0.035. The model still flags BP1 taken elementwise on a softmax output
# (tests/test_error_model.py).


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


def softmax_output_rounding(z: Array, zeta: Array) -> Array:
    """α^L = a ⊙ (ζ^L + a·ζ^L) + a ⊙ ρ: z^L's error through |J|, and softmax's own rounding."""
    a = _softmax_parts(z)[0]
    return a * (zeta + np.sum(a * zeta, axis=-2, keepdims=True)) + a * _softmax_ulps(z)


def _softmax_diagonal_derivatives(z: Array) -> tuple[Array, Array, Array]:
    """∂ⁿa_j/∂z_jⁿ, n = 1, 2, 3 (the Jacobian's diagonal): a_j is the logistic function of z_j
    alone. The table entry only; the output layer's model uses the functions of this section."""
    a = _softmax_parts(z, axis=0)[0]
    d1 = a * Softmax().complement(z)  # a(1 − a), its 1 − a without cancelling
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
#: A softmax-only cost (its record's errors None) has its softmax entry in COST_ERRORS too.
COST_ERRORS.update({n: e for n, e in SOFTMAX_COST_ERRORS.items() if n not in COST_ERRORS})


def cost_errors(cost: str, output: str) -> CostErrors:
    """The cost's error model for this output activation (softmax has its own, above)."""
    table = SOFTMAX_COST_ERRORS if output in OUTPUT_ONLY else COST_ERRORS
    if cost not in table:
        where = (
            "an entry in SOFTMAX_COST_ERRORS (errormodel.tables)"
            if table is SOFTMAX_COST_ERRORS
            else "its record CostErrorFacts (reference.costs.COST_INFO)"
        )
        raise KeyError(f"no error model for cost {cost!r} on a {output} output: give {where}")
    return table[cost]
