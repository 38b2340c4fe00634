"""Backpropagation of a mini-batch, in matrix form and the book's per-sample way.

The cost of a mini-batch of m samples is the mean of the per-sample costs, C = (1/m) Σ_x C_x.
So ∂C/∂b^l and ∂C/∂w^l are means over the batch, while δ^l keeps one column per sample:
δ^{x,l} = ∂C_x/∂z^{x,l}, the book's δ for sample x (equivalently m · ∂C/∂z^{x,l}).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from reference.activations import Activation
from reference.architecture import Architecture
from reference.costs import Cost
from reference.forward import Forward, feedforward
from reference.gradients import Gradients
from reference.layers import Dense, Layer
from reference.params import Params
from reference.types import Array


def backprop(arch: Architecture, params: Params, x: Array, y: Array) -> Gradients:
    """δ^l, ∂C/∂b^l and ∂C/∂w^l of every layer for the mini-batch (x, y), columns as samples.

    A NaN or ±∞ anywhere in x, w^l or b^l reaches some z^l = w^l a^{l−1} + b^l (∞·0 is NaN), and
    one in y reaches δ^L and so ∂C/∂b^L, its sum (BP3): these sums are finite only if every input
    is. Only when one is not are the inputs scanned (:func:`check_finite`), to name the bad one in
    the error; until then NumPy's "invalid value" warnings (∞·0, ∞ − ∞) are off. An overflow from
    finite inputs still warns.
    """
    return forward_backward(arch, params, x, y)[1]


def forward_backward(
    arch: Architecture, params: Params, x: Array, y: Array
) -> tuple[Forward, Gradients]:
    """:func:`backprop` that also returns its forward pass (every z^l and a^l), for a caller that
    needs both (the error model's running bound, a checker's diagnosis): one pass, not two."""
    with np.errstate(invalid="ignore"):
        fwd = feedforward(params, arch.sigmas, x, arch.layers)
        grads = backward(arch.sigmas, arch.cost_object, params, fwd, y, arch.layers)
        # the sums, by the ufunc itself: ndarray.sum's Python wrapper would cost as much here
        total = sum(float(np.add.reduce(v, axis=None)) for v in (*fwd.zs, grads.nabla_b[-1]))
    if not math.isfinite(total):
        check_finite(arch, params, x, y)
    return fwd, grads


def check_finite(arch: Architecture, params: Params, x: Array, y: Array) -> None:
    """Raise ValueError, in one line naming the case and the array, if an input is NaN or ±inf."""
    named = [("x", x), ("y", y)]
    named += [(f"w^{i + 2}", w) for i, w in enumerate(params.weights)]
    named += [(f"b^{i + 2}", b) for i, b in enumerate(params.biases)]
    for name, array in named:
        bad = ~np.isfinite(array)
        if bad.any():
            where = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"{arch.id}: {name} has {int(bad.sum())} non-finite value(s), "
                f"{array[where]} at {where}"
            )


def backprop_matrix(
    sigmas: Sequence[Activation], cost: Cost, params: Params, x: Array, y: Array
) -> Gradients:
    """The four equations applied to all m columns at once."""
    return backward(sigmas, cost, params, feedforward(params, sigmas, x), y)


def backward(
    sigmas: Sequence[Activation],
    cost: Cost,
    params: Params,
    fwd: Forward,
    y: Array,
    layers: Sequence[Layer] | None = None,
) -> Gradients:
    """BP1–BP4 from the forward pass ``fwd`` of the mini-batch, all m columns at once; each of
    BP2–BP4 is the layer type's (:mod:`reference.layers`; dense when ``layers`` is None)."""
    L = len(fwd.zs)
    steps: Sequence[Layer] = layers or [_DENSE] * L
    deltas: list[Array] = [np.empty(0)] * L
    z_out, a_out = fwd.zs[-1], fwd.activations[-1]
    deltas[-1] = cost.delta(z_out, a_out, y, sigmas[-1])  # BP1
    for i in range(L - 2, -1, -1):
        deltas[i] = steps[i + 1].backpropagate_error(  # BP2, through layer l + 1
            params.weights[i + 1],
            deltas[i + 1],
            fwd.activations[i + 1],
            sigmas[i].prime(fwd.zs[i], fwd.activations[i + 1]),
        )
    nabla_b = [layer.bias_gradient(d) for layer, d in zip(steps, deltas, strict=True)]  # BP3
    nabla_w = [  # BP4
        layer.weight_gradient(d, a)
        for layer, d, a in zip(steps, deltas, fwd.activations[:-1], strict=True)
    ]
    return Gradients.from_lists(deltas, nabla_b, nabla_w)


#: The layer type's methods only read its sizes for shapes, so one Dense serves an unnamed net.
_DENSE = Dense(0, 0)


def backprop_per_sample(arch: Architecture, params: Params, x: Array, y: Array) -> Gradients:
    """network.py's way: backprop one column at a time, then sum the per-sample gradients.

    Each column goes through :func:`backprop_matrix` with m = 1 (network.py's ``backprop(x, y)``);
    the sums are divided by m as ``update_mini_batch`` does with η/m.
    """
    check_finite(arch, params, x, y)
    m = x.shape[-1]
    per_sample = [_one_sample(arch, params, x[..., i : i + 1], y[:, i : i + 1]) for i in range(m)]
    deltas = [
        np.concatenate([g.deltas[i] for g in per_sample], axis=-1)
        for i in range(len(params.weights))
    ]
    nabla_b = [sum(g.nabla_b[i] for g in per_sample) / m for i in range(len(params.weights))]
    nabla_w = [sum(g.nabla_w[i] for g in per_sample) / m for i in range(len(params.weights))]
    return Gradients.from_lists(deltas, nabla_b, nabla_w)


def _one_sample(arch: Architecture, params: Params, x: Array, y: Array) -> Gradients:
    """:func:`backprop_matrix` on one sample (a column, or one sample's maps)."""
    if all(type(layer) is Dense for layer in arch.layers):
        return backprop_matrix(arch.sigmas, arch.cost_object, params, x, y)
    fwd = feedforward(params, arch.sigmas, x, arch.layers)
    return backward(arch.sigmas, arch.cost_object, params, fwd, y, arch.layers)


def cost(arch: Architecture, params: Params, x: Array, y: Array) -> float:
    """C = (1/m) Σ_x C_x, the mean cost of the mini-batch."""
    fwd = feedforward(params, arch.sigmas, x, arch.layers)
    return float(np.mean(arch.cost_object.fn(fwd.zs[-1], fwd.activations[-1], y)))
