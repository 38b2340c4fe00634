"""The forward equation and BP2–BP4 for feature maps: a convolution and a max-pool, one function
each (Nielsen, ch. 6, network3.py's layers; the dense forms are :mod:`reference.equations`).

A feature map a^l has shape (C, H, W, m): C channels of H × W positions, the sample last, as the
dense layers keep one sample per column. A convolution's kernel w^l has shape
(C_out, C_in, k_h, k_w), its bias b^l one entry per output channel, shape (C_out, 1). With stride
s and zero padding p (â^{l−1} is a^{l−1} padded by p zeros on each side of each map):

    z^l_{o,i,j} = Σ_{c,u,v} w^l_{o,c,u,v} â^{l−1}_{c, s·i+u, s·j+v} + b^l_o.

Each function is vectorized over positions and samples: the windows are views
(``numpy.lib.stride_tricks.sliding_window_view``) contracted with the kernel by one matrix product
(``numpy.tensordot``, which gathers the windows once: im2col).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from reference.types import Array, Mask


def pad_maps(a: Array, padding: int) -> Array:
    """a^{l−1} with ``padding`` zeros on each side of every map (â^{l−1}); a itself if 0."""
    if not padding:
        return a
    return np.pad(a, ((0, 0), (padding, padding), (padding, padding), (0, 0)))


def windows(a: Array, kernel: tuple[int, int], stride: int) -> Array:
    """The k_h × k_w windows of every map at stride s: a view of shape (C, H', W', m, k_h, k_w)
    whose [c, i, j, x] is the window a_{c, s·i : s·i + k_h, s·j : s·j + k_w} of sample x."""
    view = sliding_window_view(a, kernel, axis=(1, 2))
    return view[:, ::stride, ::stride] if stride > 1 else view


def conv_weighted_input(w: Array, a_prev: Array, b: Array, stride: int, padding: int) -> Array:
    """z^l_{o,i,j} = Σ_{c,u,v} w^l_{o,c,u,v} â^{l−1}_{c,s·i+u,s·j+v} + b^l_o (the convolution's
    eq. 25): a correlation of the padded input with each kernel, a dot product of length
    C_in·k_h·k_w per output."""
    kernel = (w.shape[2], w.shape[3])
    z = np.tensordot(w, windows(pad_maps(a_prev, padding), kernel, stride), ([1, 2, 3], [0, 4, 5]))
    z += b[:, :, None, None]
    return z


def conv_backpropagate_error(
    w_next: Array, delta_next: Array, sigma_prime_z: Array, stride: int, padding: int
) -> Array:
    """BP2 through a convolution: δ^l = (δ^{l+1} ⋆_full rot180(w^{l+1})) ⊙ σ'(z^l).

    The full correlation of δ^{l+1} (dilated by the stride: s − 1 zeros between its entries, and
    padded by k − 1 zeros on each side) with the kernel flipped in both spatial axes and its
    channel axes swapped gives ∂C/∂â^l; the padding's rows and columns are then cut away, and
    positions that no window reached (when s does not divide H + 2p − k_h) get 0.
    """
    c_out, h_out, w_out, m = delta_next.shape
    k_h, k_w = w_next.shape[2], w_next.shape[3]
    dilated_h, dilated_w = (h_out - 1) * stride + 1, (w_out - 1) * stride + 1
    spread = np.zeros(
        (c_out, dilated_h + 2 * (k_h - 1), dilated_w + 2 * (k_w - 1), m), delta_next.dtype
    )
    spread[:, k_h - 1 : k_h - 1 + dilated_h : stride, k_w - 1 : k_w - 1 + dilated_w : stride] = (
        delta_next
    )
    flipped = w_next[:, :, ::-1, ::-1]
    full = np.tensordot(flipped, windows(spread, (k_h, k_w), 1), ([0, 2, 3], [0, 4, 5]))
    _, h, w, _ = sigma_prime_z.shape
    grad_padded = np.zeros((full.shape[0], h + 2 * padding, w + 2 * padding, m), full.dtype)
    reach_h, reach_w = min(full.shape[1], h + 2 * padding), min(full.shape[2], w + 2 * padding)
    grad_padded[:, :reach_h, :reach_w] = full[:, :reach_h, :reach_w]
    delta = grad_padded[:, padding : padding + h, padding : padding + w]
    return delta * sigma_prime_z


def conv_bias_gradient(delta: Array) -> Array:
    """BP3 for a convolution: ∂C/∂b^l_o = Σ_{i,j} δ^l_{o,i,j}, one bias shared by every position
    of map o, so δ is summed over positions (and averaged over the mini-batch)."""
    m = delta.shape[-1]
    return delta.sum(axis=(1, 2, 3)).reshape(-1, 1) / m


def conv_weight_gradient(
    delta: Array, a_prev: Array, kernel: tuple[int, int], stride: int, padding: int
) -> Array:
    """BP4 for a convolution: ∂C/∂w^l_{o,c,u,v} = Σ_{i,j} δ^l_{o,i,j} â^{l−1}_{c,s·i+u,s·j+v}, the
    correlation of the padded input with δ^l (averaged over the mini-batch)."""
    m = delta.shape[-1]
    patches = windows(pad_maps(a_prev, padding), kernel, stride)
    return np.tensordot(delta / m, patches, ([1, 2, 3], [1, 2, 3]))


def max_pool(a_prev: Array, window: int, stride: int) -> Array:
    """z^l_{c,i,j} = max_{u,v < k} a^{l−1}_{c, s·i+u, s·j+v}: each window's largest entry
    (exact: a max-pool rounds nothing)."""
    return windows(a_prev, (window, window), stride).max(axis=(4, 5))


def max_pool_positions(a_prev: Array, window: int, stride: int) -> Array:
    """Where each window's maximum sits, u·k + v (the first in row-major order where several
    entries tie, as torch and XLA route it), shape (C, H', W', m)."""
    patches = windows(a_prev, (window, window), stride)
    return patches.reshape(*patches.shape[:4], window * window).argmax(axis=-1)


def max_pool_ties(a_prev: Array, window: int, stride: int) -> Mask:
    """True at each output z^l_{c,i,j} whose window's maximum is attained more than once: a kink
    of the max (its derivative jumps between the tied entries), like relu's at 0."""
    patches = windows(a_prev, (window, window), stride)
    top = patches.max(axis=(4, 5), keepdims=True)
    ties: Mask = (patches == top).sum(axis=(4, 5)) > 1
    return ties


def max_pool_backpropagate_error(
    delta_next: Array, a_prev: Array, sigma_prime_z: Array, window: int, stride: int
) -> Array:
    """BP2 through a max-pool: δ^l_{c,y,x} = Σ_{windows (i,j) whose maximum is at (y,x)}
    δ^{l+1}_{c,i,j} ⊙ σ'(z^l): each window's δ goes to the position of its maximum (summed where
    overlapping windows share one), every other position gets 0."""
    at = max_pool_positions(a_prev, window, stride)
    _, h_out, w_out, _ = delta_next.shape
    routed = np.zeros_like(a_prev)
    for u in range(window):
        for v in range(window):
            into = routed[:, u : u + stride * h_out : stride, v : v + stride * w_out : stride]
            into += np.where(at == u * window + v, delta_next, 0.0)
    return routed * sigma_prime_z
