"""The running rounding bound B of one layer function's outputs, as a course assignment writes
them: ``forward(x, w, b, params)`` and ``backward(dout, cache)`` of one convolution or max-pool,
judged apart from any network.

The inputs (x, w, b, dout) are exact: the checker sent them, so α^{l−1} = 0 and β^l = 0 in the
terms of :data:`errormodel.layer_terms.LAYER_TERMS`, and each output's bound is that layer type's
entry with those zeros (arrays in the reference's layout, (C, H, W, m)):

- out = z^l: the forward term, (K + 1)(|w| ⋆ |x| + |b|), K = C_in·k_h·k_w (a pool: its window's
  k² + 1 times the window's max of |x|);
- dx: BP2's product with σ' = 1, N·BP2(|w|, |dout|) + |dx|;
- db, dw: BP3 and BP4 summed over the m samples (a course's backward sums where the reference's
  batch mean divides by m): m times the batch mean's bound, which covers the sum (the sum has the
  same terms and one division less).

B is the largest element of each bound; an output is then within
``bound_allowed(B, dtype)`` of the reference's (:mod:`errormodel.tolerances`), the policy of
every autograd oracle and of a learner's network (:mod:`errormodel.learner`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from errormodel.layer_terms import layer_terms
from errormodel.tolerances import bound_allowed
from reference.layers import Layer
from reference.types import Array


def layer_function_scales(
    layer: Layer, w: Array, b: Array, x: Array, dout: Array
) -> dict[str, float]:
    """B of ``out``, ``dx`` and (a layer with parameters) ``db`` and ``dw``, in units of ε, for
    exact inputs x (C, H, W, m) and dout (the layer's output shape, m last); w and b empty for a
    pool."""
    tiny = float(np.finfo(np.float64).tiny)
    scales = {
        "out": float(layer_terms(layer).forward(layer, w, b, np.abs(x), tiny).max()),
        "dx": backward_scale(layer, w, x, dout),
    }
    if layer.weight_shape == (0,):
        return scales
    return scales | gradient_scales(layer, x, dout)


def backward_scale(layer: Layer, w: Array, x: Array, dout: Array) -> float:
    """B of dx: BP2 through the layer with σ' = 1 and β = 0."""
    tiny = float(np.finfo(np.float64).tiny)
    terms = layer_terms(layer)
    _, dx = terms.backward(layer, w, dout, np.abs(dout), np.zeros_like(dout), x, tiny)
    return float(dx.max())


def gradient_scales(layer: Layer, x: Array, dout: Array) -> dict[str, float]:
    """B of db and dw, the sums over the m samples: m times the batch mean's (BP3, BP4)."""
    tiny = float(np.finfo(np.float64).tiny)
    m = x.shape[-1]
    nabla_b, nabla_w = layer.bias_gradient(dout), layer.weight_gradient(dout, x)
    bias, weight = layer_terms(layer).gradients(
        layer, np.zeros_like(dout), np.abs(dout), np.abs(x), np.zeros_like(x), nabla_b, nabla_w
    )
    return {"db": m * float(bias.max() + m * tiny), "dw": m * float(weight.max() + m * tiny)}


def layer_function_allowed(scale: float, dtype: Any = np.float64) -> float:
    """A learner's output computed in ``dtype`` against the reference's (float64), each within
    its own ε·B: ``bound_allowed(B, dtype)``."""
    return bound_allowed(scale, dtype)
