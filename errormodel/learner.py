"""The checker's error model: an implementation under test against the reference.

A learner's network.py computes the same float64 quantities as the reference with other operation
orders and other formulas (the book's σ = 1/(1 + e^{−z}) against the reference's overflow-free
form; σ' as σ(1 − σ) or as e^{−z}/(1 + e^{−z})²): the autograd oracles' situation. So it is judged
as they are, with the gate's running rounding bound B of :mod:`errormodel.rounding` (the size of the
terms each quantity is computed from, sample by sample on the one-sample architecture):

- backprop(x, y): δ^l, ∂C/∂b^l and ∂C/∂w^l within ``bound_allowed(B)`` (errormodel.tolerances);
- update_mini_batch: one SGD step within ``sgd_step_allowed`` (errormodel.tolerances), B of the
  mini-batch's mean gradient;
- total_cost: its central-difference slopes (step h, the FD oracle's) against ∂C/∂w + (λ/n)w
  and ∂C/∂b, within :func:`cost_slope_allowed`.

Its measured margins are in README.md, "Measured figures".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from errormodel.rounding import ErrorScales
from errormodel.tolerances import bound_allowed
from reference import Architecture

#: |f'''| / (6|f'|) allowed along a perturbation of total_cost (measured ≤ 1.3 on the book's
#: N(0,1) net, whose inputs reach ±4): the truncation part of the cost-slope model below.
FD_TRUNCATION = 64.0


def implementation_allowed(
    scales: ErrorScales, quantity: str, layer: int, dtype: Any = np.float64
) -> float:
    """An implementation's ``quantity`` of ``layer`` (computed in ``dtype``) against the
    reference's (float64), each within its own ε·B: the gate's autograd policy."""
    return bound_allowed(scales.rounding[quantity, layer], dtype)


def cost_slope_allowed(
    arch: Architecture,
    scales: ErrorScales,
    quantity: str,
    layer: int,
    scale: float,
    cost_scale: float,
    squares: int,
    step: float,
) -> float:
    """A central difference (step h = ``step``) of an implementation's ``total_cost(data, λ)``
    against ∂C/∂w + (λ/n)w: the finite-difference oracle's model, with the rounding of the
    reported cost.

    Truncation is FD_TRUNCATION · h² · S, S the larger magnitude of the slopes compared (the L2
    term is quadratic: no third derivative). The reported cost is a mean of m per-sample costs,
    each within (n_L + 2L) ulps, plus (λ/2n) Σ‖w‖², a sum of ``squares`` terms (0 when λ = 0):
    so it is within (n_L + 2L + m + squares)·ε·Ĉ of itself (Ĉ = ``cost_scale``, the largest cost
    evaluated), divided by h. The exact side is the reference's gradient, within ε·B.
    """
    eps = float(np.finfo(np.float64).eps)
    ulps = arch.sizes[-1] + 2 * arch.depth + arch.batch + squares
    truncation = FD_TRUNCATION * step**2 * scale
    rounding = ulps * eps * cost_scale / step
    return truncation + rounding + implementation_allowed(scales, quantity, layer)
