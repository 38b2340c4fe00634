"""The gate's policy: how far an oracle may be from the reference, one function of (oracle kind,
scales, quantity, layer, dtype).

Every comparison is normwise per layer and quantity: the largest absolute difference of the two
arrays must not exceed ``allowed``. What ``allowed`` scales with is the point of the error model.

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

On nets with weights ×10…×100 or inputs ×1e3, a result-scaled tolerance (4·N_l·ε·S, N_l the
operations in layer l's chain) flagged correct autograd gradients at up to 6e9× itself; the
running rounding bound B of :mod:`errormodel.rounding` (the size of the terms, not of the result)
stays under 0.33 on the same nets.

The policy, per oracle kind (:data:`POLICIES`; a new kind of oracle is one entry)
--------------------------------------------------------------------------------
Autograd oracles (torch, jax) compute the same quantity by other orders and formulas, each
within ε·B of the truth, so their difference is within (ε_reference + ε_64)·B:

    allowed = AUTOGRAD_SAFETY · (ε_reference + ε_64) · B.

Finite differences err by truncation (F, h²/6·F3) and by the rounding of the re-run cost (R,
divided by h), both computed in :mod:`errormodel.rounding`; the reference compared with it errs by
its own ε_reference·B:

    allowed = FD_SAFETY · (h²/6 · F3 + ε_64 · R / h) + ε_reference · B,

with F3 and R the largest over the layer (δ: per sample; ∂C/∂b and ∂C/∂w: batch means). No
constant is fitted to data: the safety factors only absorb the first-order approximations. A
difference across a relu kink is outside this model (it is not smooth); the FD oracle owns that.

Measured margins are in README.md, "Measured figures" (figures leave docstrings; derivations
stay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from errormodel.rounding import ErrorScales

#: Each implementation errs by at most ε·B; their difference by the sum. 1 = the bound as derived.
AUTOGRAD_SAFETY = 1.0
#: The FD bounds are first order in h (truncation) and in ε (rounding); 2 covers what they drop.
FD_SAFETY = 2.0
#: Roundings of one SGD step on each side: D·θ (the decay), η·∇C and the subtraction.
SGD_ROUNDINGS = 3


def eps(dtype: Any) -> float:
    return float(np.finfo(dtype).eps)


def bound_allowed(rounding_scale: float, dtype: Any) -> float:
    """AUTOGRAD_SAFETY · (ε_reference + ε_64) · B: two computations, each within ε·B."""
    return AUTOGRAD_SAFETY * (eps(dtype) + eps(np.float64)) * rounding_scale


def _autograd(scales: ErrorScales, quantity: str, layer: int, dtype: Any, step: float) -> float:
    return bound_allowed(scales.rounding[quantity, layer], dtype)


def _finite_difference(
    scales: ErrorScales, quantity: str, layer: int, dtype: Any, step: float
) -> float:
    return (
        FD_SAFETY * _fd_terms(scales, (quantity, layer), step)
        + eps(dtype) * scales.rounding[quantity, layer]
    )


def _fd_terms(scales: ErrorScales, key: tuple[str, int], step: float) -> float:
    """F + ε_64·R/h at the FD oracle's step h (F scales as h² from the step it was computed
    for)."""
    if step <= 0:
        raise ValueError(f"a finite-difference bound needs the oracle's step h > 0, got {step}")
    truncation = (step / scales.fd_step) ** 2 * scales.fd_truncation[key]
    return truncation + eps(np.float64) * scales.fd_rounding[key] / step


def _cs_terms(scales: ErrorScales, key: tuple[str, int], step: float) -> float:
    """(h/h_FD)²·F + U·η/h at the complex step's h (the section above)."""
    eta = float(np.finfo(np.float64).smallest_subnormal)
    truncation = (step / scales.fd_step) ** 2 * scales.fd_truncation[key]
    return truncation + eta / step * scales.cs_underflow[key]


# --- The complex step (oracles/complex_step.py) ------------------------------------------------
# Im C(θ + ih e)/h = ∂_e C − h²/6 ∂³_e C + …: no subtraction, so the error is
# - truncation, h²/6·|∂³_e C|: the FD oracle's truncation bound F at step FD_STEP, scaled by
#   (h/FD_STEP)² (the same third derivative, bounded over a wider interval): 1.3e-26·F at 2^-70;
# - rounding, relative: the imaginary part of a complex operation is h times the derivative of
#   the real one, computed from the same terms (Im (a + ib)(c + id) = ad + bc: two products and a
#   sum; Smith's division and exp·sin chain a few such), so it errs like a derivative computed by
#   other formulas, within B, with at most COMPLEX_ROUNDINGS roundings for each one B counts;
# - underflow: an imaginary part below the smallest normal number loses up to η = 2^-1074
#   absolute per operation, η/h in the derivative (5.8e-303 at h = 2^-70):
#   errormodel.rounding.complex_step_underflow bounds it by how much each imaginary part of layers
#   l…L moves C_x.
# So allowed = AUTOGRAD_SAFETY·(ε_reference + COMPLEX_ROUNDINGS·ε_64)·B + (h/FD_STEP)²·F + U·η/h.

#: Roundings of the complex step's imaginary part per real rounding the bound B counts.
COMPLEX_ROUNDINGS = 4.0


def _complex_step(scales: ErrorScales, quantity: str, layer: int, dtype: Any, step: float) -> float:
    """(ε_reference + COMPLEX_ROUNDINGS·ε_64)·B + (h/FD_STEP)²·F + U·η/h (the section above)."""
    key = quantity, layer
    rounding = eps(dtype) + COMPLEX_ROUNDINGS * eps(np.float64)
    return AUTOGRAD_SAFETY * rounding * scales.rounding[key] + _cs_terms(scales, key, step)


#: The allowed error per oracle kind (``oracles.Oracle.kind``), from the case's scales.
POLICIES: dict[str, Callable[[ErrorScales, str, int, Any, float], float]] = {
    "autograd": _autograd,
    "finite_difference": _finite_difference,
    "complex_step": _complex_step,
}


# --- The gate judged by the ground truth (oracles/exact.py), element by element ----------------
# The truth is the exact value rounded once; T is Σ|terms| of a formula that does not cancel
# (oracles/exact.py says which). Each element e is judged by its own bound, truth_allowed (the
# section at the end of this module): allowed_e = TRUTH_UNITS · (ε · max(|true_e|, T_e) + η),
# ε and η of the reference's dtype for the reference, of float64 for the oracles. It is the
# same for the reference, torch, jax and forward mode: the book's σ(1 − σ) at |z| = 37 loses
# every digit and is 1/ε past it, while a stable σ' is within a few ε. Finite differences and
# the complex step add their own error model's non-rounding terms, per layer: FD its truncation
# and the rounding of its re-run cost divided by h (both as in _finite_difference), the complex
# step its truncation and underflow (as in _complex_step).
#
# Feature maps need nothing new here. A convolution's z^l, BP2, BP3 and BP4 are sums of
# products like a dense layer's, only longer (C_in·k_h·k_w terms, or every position of a map):
# a sum of n terms of either sign rounds by a fraction of ε·T (its partial sums are ~√k terms
# in size, T is n of them), as a dense layer's does; the worst case, (n − 1)·ε·T, needs every
# rounding to err one way on sums as large as T, which the gate's nets are not (README,
# "Convolution and max-pooling": the measured worst). A max-pool rounds nothing. What it adds
# is a route: where rounding of its entries within this bound could move a window's argmax,
# the derivative jumps, and the truth declines the net rather than widen a bound
# (oracles/exact.py, _slack).


def exact_allowed(
    kind: str,
    truth: Any,
    terms: Any,
    scales: ErrorScales,
    quantity: str,
    layer: int,
    dtype: Any = np.float64,
    step: float = 0.0,
) -> Any:
    """The allowed |value − truth| of every element (an array like ``truth``), for the
    reference (``kind`` "reference", in ``dtype``) or an oracle of this ``kind`` (float64; a
    numerical one's ``step`` h from its registry record)."""
    own = dtype if kind == "reference" else np.float64
    element = np.vectorize(lambda t, s: truth_allowed(t, s, own), otypes=[np.float64])
    allowed = element(truth, terms)
    key = quantity, layer
    if kind == "finite_difference":
        allowed = allowed + FD_SAFETY * _fd_terms(scales, key, step)
    elif kind == "complex_step":
        allowed = allowed + _cs_terms(scales, key, step)
    elif kind not in ("reference", "autograd"):
        raise ValueError(f"no truth bound for oracle kind {kind!r}")
    return allowed


def allowed_error(
    kind: str, scales: ErrorScales, quantity: str, layer: int, dtype: Any, step: float = 0.0
) -> float:
    """The largest absolute difference allowed between the reference's and an oracle's value.

    Args:
        kind: the oracle's kind (``oracles.Oracle.kind``), a key of :data:`POLICIES`.
        scales: the case's error scales (:func:`errormodel.rounding.error_scales`).
        quantity, layer: "delta", "nabla_b" or "nabla_w" of that layer (book numbering).
        dtype: the reference's floating type (the oracles run in float64).
        step: a numerical oracle's step h (``oracles.Oracle.step``; unused by autograd).

    Returns:
        The allowed largest absolute difference (module docstring).
    """
    if kind not in POLICIES:
        raise ValueError(f"no error model for oracle kind {kind!r}; known: {sorted(POLICIES)}")
    return POLICIES[kind](scales, quantity, layer, dtype, step)


def sgd_step_allowed(
    eta: float, rounding_scale: float, grad_scale: float, param_scale: float, dtype: Any
) -> float:
    """One SGD step from the same parameters, reference against another, normwise per layer:
    η · bound_allowed(B) + 2 · SGD_ROUNDINGS · ε · (P + η·G), with B the gradient's running
    bound (errormodel.rounding), G = max |∂C/∂θ| and P = max |θ| of the layer's weights or biases.
    Training runs (harness.drift_model) and the checker's SGD check judge one step with it."""
    update = 2 * SGD_ROUNDINGS * eps(dtype) * (param_scale + eta * grad_scale)
    return eta * bound_allowed(rounding_scale, dtype) + update


# --- Against the ground truth (issue 21) -------------------------------------------------------
# A value computed in float64 by formulas that do not cancel is within a few roundings of the
# exact result, relative to the larger of the result and Σ|terms| (the same sum over absolute
# values: the scale a sum that cancels is fairly judged by). Below the smallest normal number
# the rounding is absolute, η = 2^-1074 per operation. So a value v judged against the truth t
# (computed in high precision, python-flint or mpmath) with term scale S is wrong when
#
#     |v − t| > TRUTH_UNITS · (ε · max(|t|, S) + η).
#
# The constant covers the roundings of one elementwise derivative and its chain-rule product
# (a handful each); a cancelling formula (σ(1 − σ) at |z| = 37, 1 − tanh² at 20) misses it by
# 10^15 and more, so the bar separates the two by many orders of magnitude.

#: Units of ε·max(|truth|, Σ|terms|) an element may be from the ground truth.
TRUTH_UNITS = 8.0


def truth_allowed(truth: float, terms_scale: float, dtype: Any = np.float64) -> float:
    """TRUTH_UNITS · (ε · max(|truth|, Σ|terms|) + η): the largest |value − truth| of an element
    computed in ``dtype`` (η its smallest subnormal)."""
    tiny = float(np.finfo(dtype).smallest_subnormal)
    return TRUTH_UNITS * (eps(dtype) * max(abs(truth), terms_scale) + tiny)
