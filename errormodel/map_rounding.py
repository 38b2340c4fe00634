"""The running rounding bound B for a net with feature maps (convolutions, max-pools), from each
layer type's own maps applied to absolute values.

The bound is :mod:`errormodel.rounding`'s (Higham §3.1, §3.3: an operation on x adds |x| + tiny in
units of ε, a length-n dot product n·|w|ᵀ|v|), with the dense layer's matrix products replaced by
what the layer type does: its forward map with |w^l| (``layer.forward(|w|, 0, v)``: |w|·v for a
dense layer, the correlation |w| ⋆ v for a convolution, the window's max of v for a max-pool,
which bounds how far a max moves when its entries move by v), its BP2 with |w^l| and σ' = 1
(|w|ᵀv, the full correlation with the flipped |w|, the routing of v to each window's maximum),
and its BP3 and BP4 sums (``bias_gradient``, ``weight_gradient``) on the terms. What a type adds
is :data:`MAP_TERMS`: the rounding of its own forward map, how many terms each element of its BP2
sums, and over how many positions it sums a parameter's gradient:

- forward: ζ^l = local^l + forward(|w^l|, 0, α^{l−1}), local = (K + 1)(|w| ⋆ |a^{l−1}| + |b|)
  for a convolution (K = C_in·k_h·k_w, each output's dot product), 0 for a max-pool (exact);
  α^l = |σ'(z^l)| ζ^l + SIGMA_ULPS·|a^l|;
- BP2, p = BP2(w^{l+1}, δ^{l+1}) with σ' = 1: β^l = (N·BP2(|w|, |δ^{l+1}|) + BP2(|w|, β^{l+1})
  + |p|) ⊙ (|σ'| + ε·κ) + |p| ⊙ (κ + |σ''| ζ^l), N the terms of each element's sum (C_out·k_h·k_w
  for a convolution, the windows that can share a position for a pool);
- BP3: B_b = BP3(β^l) + P·m·BP3(|δ^l|) + |∂C/∂b^l|, P the positions a bias is shared by;
- BP4: B_w = BP4(β^l, |a^{l−1}|) + BP4(|δ^l|, α^{l−1}) + P·m·BP4(|δ^l|, |a^{l−1}|) + |∂C/∂w^l|.

For a dense layer every term is :mod:`errormodel.rounding`'s (P = 1, N = n_{l+1}). A max-pool
whose window's two largest entries are closer than their rounding routes δ by a coin the bound
cannot cover, like a relu at 0: that is a tie (:meth:`reference.layers.MaxPool.ties`), a kink.
The finite-difference, complex-step and ground-truth terms are not extended yet: those oracles
judge dense layers only (``oracles.dense_only``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from errormodel.tables import (
    SIGMA_ULPS,
    OutputLayer,
    activation_errors,
    cost_errors,
    softmax_output_rounding,
)
from reference import Architecture, Gradients, Params
from reference.activations import OUTPUT_ONLY
from reference.forward import Forward
from reference.layers import Conv, Dense, Layer, MaxPool
from reference.types import Array


@dataclass(frozen=True)
class MapTerms:
    """What a layer type brings to the bound (module docstring)."""

    #: The rounding of z^l's own computation from |w|, |b|, |a^{l−1}| and tiny, in units of ε.
    local: Callable[[Any, Array, Array, Array, float], Array]
    #: N: the terms each element of its BP2 sums.
    back_terms: Callable[[Any], int]
    #: P: the positions a parameter's gradient sums over, per sample (0: no parameters).
    positions: Callable[[Any], int]


def _dot_products(layer: Any, w: Array, b: Array, abs_a_prev: Array, tiny: float) -> Array:
    """(K + 1)(|w| ⋆ |a^{l−1}| + |b|): K-term dot products and a bias, each operation's tiny."""
    z_terms: Array = layer.forward(np.abs(w), np.abs(b), abs_a_prev)
    return (layer.fan_in + 1) * (z_terms + tiny)


def _exact(layer: Any, w: Array, b: Array, abs_a_prev: Array, tiny: float) -> Array:
    """A max rounds nothing."""
    z: Array = layer.forward(w, b, abs_a_prev)
    return np.zeros_like(z)


#: Per layer type: its terms of the bound. A new layer type is one entry.
MAP_TERMS: dict[type, MapTerms] = {
    Dense: MapTerms(_dot_products, lambda layer: layer.n_out, lambda layer: 1),
    Conv: MapTerms(
        _dot_products,
        lambda layer: layer.maps * math.prod(layer.kernel_size),
        lambda layer: layer.out_shape[1] * layer.out_shape[2],
    ),
    MaxPool: MapTerms(
        _exact, lambda layer: math.ceil(layer.window / layer.step) ** 2, lambda layer: 0
    ),
}


def map_terms(layer: Layer) -> MapTerms:
    """The layer type's entry of :data:`MAP_TERMS`; a KeyError naming the type if none."""
    if type(layer) not in MAP_TERMS:
        raise KeyError(f"no error model for layer type {type(layer).__name__}: add MAP_TERMS")
    return MAP_TERMS[type(layer)]


def map_rounding(
    arch: Architecture, params: Params, y: Array, computed: tuple[Forward, Gradients], dtype: Any
) -> tuple[dict[tuple[str, int], float], dict[tuple[str, int], float]]:
    """B per (quantity, layer), and the 2-norms of ∂C/∂b's and ∂C/∂w's componentwise bounds, of
    a net of any layer types (module docstring), from the reference's float64 forward pass and
    gradients ``computed``."""
    tiny, eps = float(np.finfo(dtype).tiny), float(np.finfo(dtype).eps)
    fwd, grads = computed
    layers, sigmas = arch.layers, arch.sigmas
    errs = [activation_errors(s.name) for s in sigmas]
    cost = cost_errors(arch.cost, sigmas[-1].name)
    ws, bs, zs = params.weights, params.biases, fwd.zs
    acts = [np.abs(a) for a in fwd.activations]
    primes = [np.abs(e.derivatives(z)[0]) for e, z in zip(errs, zs, strict=True)]
    deltas = [np.abs(d) for d in grads.deltas]
    terms = [map_terms(layer) for layer in layers]
    L, m = len(layers), fwd.activations[0].shape[-1]

    zetas: list[Array] = []
    alphas: list[Array] = [np.zeros_like(acts[0])]
    for i, (layer, w, b) in enumerate(zip(layers, ws, bs, strict=True)):
        local = terms[i].local(layer, w, b, acts[i], tiny)
        zetas.append(local + layer.forward(np.abs(w), np.zeros_like(b), alphas[-1]))
        alphas.append(primes[i] * zetas[i] + SIGMA_ULPS * acts[i + 1] + tiny)
    if sigmas[-1].name in OUTPUT_ONLY:  # softmax output: a^L moves with all of z^L
        alphas[-1] = softmax_output_rounding(zs[-1], zetas[-1]) + tiny

    out = OutputLayer(zs[-1], fwd.activations[-1], y, errs[-1])
    betas: list[Array] = [np.empty(0)] * L
    betas[-1] = cost.delta_rounding(out, zetas[-1], alphas[-1]) + tiny
    for i in range(L - 2, -1, -1):
        above, w, a_prev = layers[i + 1], ws[i + 1], fwd.activations[i + 1]
        ones = np.ones_like(zs[i])
        absw = np.abs(w)
        p = np.abs(above.backpropagate_error(w, grads.deltas[i + 1], a_prev, ones))
        n_terms = terms[i + 1].back_terms(above)
        dp = (
            n_terms * above.backpropagate_error(absw, deltas[i + 1], a_prev, ones)
            + above.backpropagate_error(absw, betas[i + 1], a_prev, ones)
            + p
            + tiny
        )
        d2 = np.abs(errs[i].derivatives(zs[i])[1])
        kappa = errs[i].prime_rounding(zs[i])
        betas[i] = dp * (primes[i] + eps * kappa) + p * (kappa + d2 * zetas[i]) + tiny

    rounding: dict[tuple[str, int], float] = {}
    rounding_norm: dict[tuple[str, int], float] = {}
    for i, layer in enumerate(layers):
        number = i + 2
        rounding["delta", number] = float(betas[i].max())
        sums = terms[i].positions(layer) * m
        if not sums:  # no parameters: no ∂C/∂b or ∂C/∂w to bound
            continue
        bias = (
            layer.bias_gradient(betas[i])
            + sums * layer.bias_gradient(deltas[i])
            + np.abs(grads.nabla_b[i])
        )
        weight = (
            layer.weight_gradient(betas[i], acts[i])
            + layer.weight_gradient(deltas[i], alphas[i])
            + sums * layer.weight_gradient(deltas[i], acts[i])
            + np.abs(grads.nabla_w[i])
        )
        for quantity, bound in (("nabla_b", bias), ("nabla_w", weight)):
            rounding[quantity, number] = float(bound.max() + sums * tiny)
            rounding_norm[quantity, number] = float(np.linalg.norm(bound + sums * tiny))
    return rounding, rounding_norm
