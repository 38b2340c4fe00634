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

from typing import Any

import numpy as np

from oracles import get_oracle
from oracles.finite_diff import STEP
from reference import Architecture, Gradients, Params
from reference.activations import ACTIVATIONS
from reference.forward import feedforward
from reference.types import Array

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


# --- Implementations under test (checker/) ---------------------------------------------------
# A learner's network.py computes the same float64 quantities as the reference with other
# operation orders and other formulas (the book's σ = 1/(1 + e^{−z}) against the reference's
# overflow-free form; σ' as σ(1 − σ) or as e^{−z}/(1 + e^{−z})²): the autograd oracles' situation,
# but judged sample by sample on small layers, where the gate's assumption fails that a sum's
# terms are at most AUTOGRAD_SAFETY × the layer's largest result. A width-1 layer, or an output
# a^L ≈ y, cancels far more (measured: 0.95 of the autograd tolerance on a correct implementation).
# So S is the magnitude of the terms themselves (Higham's running error bound, §3.1): the same
# recursion as backprop with every factor replaced by its absolute size. Measured with it, on the
# curated and 300 random all-sigmoid architectures × seeds 0–2 × both costs, the worst
# error/allowed of a correct implementation is 0.076 (backprop), 0.071 (the SGD step) and 0.16
# (total_cost's slopes); 0.12, 0.037 and 0.10 for tests/data/matrix_network.py (matrix-form
# update, an accurate σ'). Every mutant of checker/mutants is ≥ 45× its allowed, most ≥ 1e10×.

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
    if cost == "cross_entropy":
        return np.ones_like(z_out)
    raise ValueError(f"no error model for cost {cost!r} in a sigmoid network")


def sigmoid_term_scales(arch: Architecture, params: Params, x: Array, y: Array) -> Gradients:
    """The sizes of the terms δ^l, ∂C/∂b^l and ∂C/∂w^l are computed from, in an all-sigmoid net.

    T^L = (|a^L| + |y|) ⊙ k (see :func:`output_factor`), T^l = (|w^{l+1}|^T T^{l+1}) ⊙ σ(z^l)
    (σ(z) bounds the rounding of σ'(z), as at the output), and for the gradients the batch means
    of T^l and of T^l |a^{l−1}|^T. Each is ≥ the size of the exact quantity, and a rounding
    anywhere in the chain moves the result by at most a few ε times it.
    """
    names = {s.name for s in arch.layer_activations}
    if names != {"sigmoid"}:
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
    """An implementation's δ^l, ∂C/∂b^l or ∂C/∂w^l against the reference: AUTOGRAD_SAFETY · N_l ·
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
