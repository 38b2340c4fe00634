"""How far an oracle may be from the reference, from an error model: the one place for it.

Every comparison is normwise per layer and quantity: the largest absolute difference of the two
arrays must not exceed ``allowed``, which scales with S, the larger of the two arrays' largest
magnitudes (so a layer whose gradients have shrunk to 1e-12 is judged against 1e-12, not 1).

Autograd oracles (torch, jax) compute the same exact quantity in floating point with other
operation orders and other formulas for σ, σ' and the cost. Rounding analysis (Higham, *Accuracy
and Stability of Numerical Algorithms*, §3.1): a length-n sum or dot product computed two ways
differs by at most 2γ_n ≈ n·ε times the size of its terms. The quantity of layer l sits at the end
of a chain of such sums: the backward dot products of layers L…l (lengths n_L, …, n_l) and the mean
over m samples; each layer adds a few elementwise functions (σ, σ', ⊙, the cost gradient) that
libraries evaluate within ~1 ulp each. So the chain length is N_l = Σ_{k=l}^{L} (n_k + 4) + m, and

    allowed = AUTOGRAD_SAFETY · N_l · ε · S,

where AUTOGRAD_SAFETY = 4 allows the terms of a sum to exceed S (mild cancellation) by 4×.
Measured on 212 architectures in float64 the difference never exceeded 1.1·N_l·ε·S (43·ε·S at
most): the tolerance sits about 4× above the worst case seen, and ≥ 1e10× below any bug's size.

The finite-difference oracle's central difference errs by truncation, h²|f'''|/6, and rounding:
each C_x is computed to within about (n_L + 2L) ulps of itself, and the difference quotient
divides that by h. With Ĉ the largest per-sample cost |C_x|:

    allowed = FD_TRUNCATION · h² · S + (n_L + 2L) · ε · Ĉ / h,

where FD_TRUNCATION = 64 bounds |f'''| / (6|f'|) along any perturbation (measured ≤ 1.3 for the
book's N(0,1) net, whose inputs reach ±4). Measured on 212 architectures the FD difference never
exceeded 13× (h²·S + ε·Ĉ/h); the model above is ≥ 3× that everywhere seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from oracles import get_oracle
from oracles.finite_diff import STEP
from reference import Architecture

AUTOGRAD_SAFETY = 4.0
#: Elementwise operations per layer counted into the autograd chain length (σ, σ', ⊙, ∇C).
ELEMENTWISE_PER_LAYER = 4
FD_TRUNCATION = 64.0


def chain_length(arch: Architecture, layer: int) -> int:
    """N_l = Σ_{k=l}^{L} (n_k + 4) + m for layer l (book numbering, 2…L)."""
    return sum(n + ELEMENTWISE_PER_LAYER for n in arch.sizes[layer - 1 :]) + arch.batch


def autograd_allowed(arch: Architecture, layer: int, scale: float, dtype: Any) -> float:
    """AUTOGRAD_SAFETY · N_l · ε · S: two computations of one quantity in other orders."""
    return AUTOGRAD_SAFETY * chain_length(arch, layer) * float(np.finfo(dtype).eps) * scale


# --- Training runs (harness/training.py) ----------------------------------------------------
# One SGD step is a map θ_t = Φ_t(θ_{t−1}), Φ_t(θ) = Dθ − η∇C_t(θ) (C_t the mini-batch's mean
# cost, D = 1 − ηλ/n on weights and 1 on biases). The reference and an oracle evaluate it in
# floating point as Φ̂_t and Φ̃_t. If r_t bounds their one-step difference from a common point and
# g_t bounds how much the exact step stretches a small difference, the triangle inequality
#     ‖θ̂_t − θ̃_t‖ ≤ ‖Φ̂_t(θ̂) − Φ_t(θ̂)‖ + ‖Φ_t(θ̂) − Φ_t(θ̃)‖ + ‖Φ_t(θ̃) − Φ̃_t(θ̃)‖
# gives the drift model  e_t ≤ B_t,  B_t = g_t · B_{t−1} + r_t  (B_0 the difference of the starts).
# All norms are 2-norms over every parameter of the network.
#
# r_t, the rounding of one step (both sides): η times the gradient model above, per layer in the
# 2-norm (a rounding of each entry of at most AUTOGRAD_SAFETY·N_l·ε times that entry's size), and
# STEP_ROUNDINGS roundings of each side's update (D·θ, η·∇C and the subtraction; torch and optax
# order them differently), on terms of size |θ| and η|∇C|:
#     r_t = sqrt(Σ_l (η · AUTOGRAD_SAFETY · N_l · ε · ‖∇_l C_t‖)²)
#           + 2 · STEP_ROUNDINGS · ε · (‖θ_{t−1}‖ + η‖∇C_t‖).
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
#     allowed_t = GROWTH_SAFETY · B_t.
# A float32 run against the float64 reference: ε = ε_32 in r_t (the float64 side adds 2^-29 of
# it) and B_0 = ½ε_32‖θ_0‖ (the starting parameters rounded to float32).
#
# Measured margins (harness.training; both digits cases, 650 and 3900 steps). One step from the
# reference's path: ≤ 0.14 of sgd_step_allowed at every step, every trainer. Whole trajectories,
# float64: ≤ 0.0045 of allowed_t (at step 1; 2e-4…5e-4 at step 650, 4e-5…9e-5 at step 3900):
# r_t charges every entry its worst case N_l·ε and B_t adds the r_t up, where roundings mostly
# cancel and add like a random walk. float32: 0.23 at step 0 (the rounding of the start itself),
# ≤ 0.0053 after. Planted mistakes exceed it by far: η off by 1e-9 relative by 1.6e4× (from step
# 1), biases decayed or λ/m for λ/n by ≥ 1e11×, two mini-batches swapped half-way by 1e10× at the
# swap (the runs agree exactly before it, so only the curve sees it).

#: Roundings of one SGD step on each side: D·θ, η·∇C and the subtraction.
STEP_ROUNDINGS = 3
#: How far the tangent-vector growth Π g_t may underestimate the growth of a rounding difference.
GROWTH_SAFETY = 2.0


def sgd_step_allowed(
    arch: Architecture, layer: int, eta: float, grad_scale: float, param_scale: float, dtype: Any
) -> float:
    """One SGD step from the same parameters, reference against oracle, normwise per layer.

    η · (the gradient model, :func:`autograd_allowed`, at the gradient's scale G) plus
    2 · STEP_ROUNDINGS · ε · (P + η·G), P = max |θ| of the layer's weights or biases.
    """
    eps = float(np.finfo(dtype).eps)
    gradient = eta * autograd_allowed(arch, layer, grad_scale, dtype)
    return gradient + 2 * STEP_ROUNDINGS * eps * (param_scale + eta * grad_scale)


def sgd_step_rounding(
    arch: Architecture,
    eta: float,
    grad_norms: Sequence[float],
    grad_norm: float,
    param_norm: float,
    dtype: Any,
) -> float:
    """r_t: the 2-norm of one step's rounding, both sides (see the training section above).

    ``grad_norms[i]`` is ‖∇C‖ over the weights and biases of layer i + 2; ``grad_norm`` and
    ``param_norm`` are ‖∇C‖ and ‖θ‖ over the whole network.
    """
    eps = float(np.finfo(dtype).eps)
    per_layer = [
        eta * autograd_allowed(arch, i + 2, norm, dtype) for i, norm in enumerate(grad_norms)
    ]
    update = 2 * STEP_ROUNDINGS * eps * (param_norm + eta * grad_norm)
    return float(np.hypot.reduce(per_layer)) + update


def drift_allowed(
    start: float, roundings: Sequence[float], expansions: Sequence[float]
) -> np.ndarray[Any, Any]:
    """GROWTH_SAFETY · B_t for t = 0…k: B_0 = ``start``, B_t = g_t · B_{t−1} + r_t."""
    bound = [start]
    for r, g in zip(roundings, expansions, strict=True):
        bound.append(g * bound[-1] + r)
    return GROWTH_SAFETY * np.asarray(bound)


def allowed_error(
    oracle: str, arch: Architecture, layer: int, scale: float, cost_scale: float, dtype: Any
) -> float:
    """The largest absolute difference allowed for one layer's quantity (see module docstring).

    ``scale`` is S, the larger array magnitude; ``cost_scale`` is Ĉ = max_x |C_x|; ``dtype`` is
    the reference's floating type.
    """
    kind = get_oracle(oracle).kind
    if kind == "autograd":
        return autograd_allowed(arch, layer, scale, dtype)
    if kind == "finite_difference":
        # The FD oracle always runs in float64; a float32 reference adds its own rounding.
        eps64 = float(np.finfo(np.float64).eps)
        rounding = (arch.sizes[-1] + 2 * arch.depth) * eps64 * cost_scale / STEP
        fd = FD_TRUNCATION * STEP**2 * scale + rounding
        own = autograd_allowed(arch, layer, scale, dtype) if np.finfo(dtype).eps > eps64 else 0.0
        return fd + own
    raise ValueError(f"no error model for oracle kind {kind!r}")
