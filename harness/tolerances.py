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
