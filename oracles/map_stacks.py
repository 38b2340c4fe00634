"""What the numerical oracles (complex step, finite differences) need of feature-map layers,
written from the layers' definitions (Nielsen ch. 6), not from the reference's backward pass.

Maps are (C, H, W, N) arrays, the sample last as in the reference; a stack of perturbations
rides along the sample axis (N = m·P, sample-major within each perturbation's block is not
needed: every function here is per column). With â the input padded by p zeros, a convolution is

    z_{o,i,j} = Σ_{c,u,v} w_{o,c,u,v} â_{c, s·i+u, s·j+v} + b_o,

linear in w, in b and in a: a change Δa moves z by the same sum over Δâ, no bias (:func:`conv`).
A step θ of one parameter moves z^l along ∂z^l/∂θ: b_o by 1 at every position of map o,
w_{o,c,u,v} by â_{c,s·i+u,s·j+v} at position (i, j) of map o (:func:`parameter_directions`).
A max-pool takes each window's largest entry (:func:`pool_windows` gives the windows).

A net over the oracles' budget is judged on a seeded sample of each map layer's quantities
(:func:`errormodel.layer_terms.map_sample`, the same for every oracle and for the FD jet): only
the sampled perturbations run (:func:`judged_indices`), the rest of the quantity is NaN
(:func:`spread`), and the oracle's Output says which elements were judged (:func:`sample_masks`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from errormodel.layer_terms import Index, map_sample
from reference.layers import Conv, Layer, MaxPool
from reference.types import Mask

Z = np.ndarray[Any, Any]  # real or complex


def _padded(a: Z, padding: int) -> Z:
    if not padding:
        return a
    return np.pad(a, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def conv_windows(layer: Conv, a: Z) -> Z:
    """The kernel's windows of â at the layer's stride: (C_in, H', W', N, k_h, k_w)."""
    view = sliding_window_view(_padded(a, layer.padding), layer.kernel_size, axis=(1, 2))
    return view[:, :: layer.stride, :: layer.stride]


def conv(layer: Conv, w: Z, a: Z) -> Z:
    """Σ_{c,u,v} w_{o,c,u,v} â_{c,s·i+u,s·j+v} (no bias): z^l's linear part, or Δz^l of a Δa."""
    return np.tensordot(w, conv_windows(layer, a), ([1, 2, 3], [0, 4, 5]))


def pool_windows(layer: MaxPool, a: Z) -> Z:
    """The pool's windows of a: (C, H', W', N, k·k), the window row-major on the last axis."""
    k, s = layer.window, layer.step
    view = sliding_window_view(a, (k, k), axis=(1, 2))[:, ::s, ::s]
    return view.reshape(*view.shape[:4], k * k)


#: A chunk of parameter indices p ↦ ∂z^l/∂θ_p per unit step, shape (P, *z^l.shape).
Directions = Callable[[Z], Z]


def parameter_directions(
    layer: Layer, w: Z, a_prev: Z, z_shape: tuple[int, ...]
) -> tuple[Directions, Directions]:
    """(b's, w's) :data:`Directions` of a convolution (module docstring)."""
    assert isinstance(layer, Conv)
    win = conv_windows(layer, a_prev)  # (C_in, H', W', m, k_h, k_w)
    c_in, (k_h, k_w) = win.shape[0], layer.kernel_size

    def bias(p: Z) -> Z:
        out = np.zeros((len(p), *z_shape))
        out[np.arange(len(p)), p] = 1.0
        return out

    def weight(p: Z) -> Z:
        o, rest = np.divmod(p, c_in * k_h * k_w)
        c, rest = np.divmod(rest, k_h * k_w)
        u, v = np.divmod(rest, k_w)
        out = np.zeros((len(p), *z_shape))
        out[np.arange(len(p)), o] = win[c, :, :, :, u, v]  # (P, H', W', m)
        return out

    return bias, weight


def judged_indices(
    sample: Mapping[tuple[str, int], Index], quantity: str, layer: int, count: int
) -> Index:
    """The flat indices of one quantity of layer l (book numbering) whose perturbations run: the
    sample's, or all ``count``."""
    return sample.get((quantity, layer), np.arange(count))


def spread(values: Z, which: Index, count: int, fill: Any = np.nan) -> Z:
    """``values`` (P, …) of the perturbations ``which`` at their places among ``count``, ``fill``
    (NaN: not judged) at the others."""
    if len(which) == count:
        return values
    out = np.full((count, *values.shape[1:]), fill, dtype=values.dtype)
    out[which] = values
    return out


def sample_masks(layers: Sequence[Layer], m: int) -> dict[tuple[str, int], Mask]:
    """Per sampled (quantity, layer) of a net, the mask of its elements judged (δ^l: in each of
    the m samples), in the quantity's shape; empty when every element is judged."""
    masks: dict[tuple[str, int], Mask] = {}
    for (quantity, book), which in map_sample(layers).items():
        layer = layers[book - 2]
        shape = {
            "delta": layer.out_shape,
            "nabla_b": layer.bias_shape,
            "nabla_w": layer.weight_shape,
        }[quantity]
        flat = np.zeros(math.prod(shape), dtype=bool)
        flat[which] = True
        if quantity == "delta":
            masks[quantity, book] = np.repeat(flat.reshape(*shape, 1), m, axis=-1)
        else:
            masks[quantity, book] = flat.reshape(shape)
    return masks
