"""What a case's layer functions must return, by the reference's map equations, in the course's
layout; their bounds B; and the wrong answers of the classic bugs, by which a mismatch is named.

The reference keeps the sample on the trailing axis, (C, H, W, m); a course on the leading one,
(N, C, H, W): :func:`maps` and :func:`course` transpose at this boundary, nothing else changes.
The reference's BP3 and BP4 are batch means; a course's backward sums over the samples, so they
are multiplied by N (a power of two in every case: exact).

A wrong variant is the reference's own equation applied to what the bug computes (the kernel not
rotated, stride 1 where it is s, no padding offset, …): a :class:`Variant` carries its value and
its bound, from the same layer terms where the bug is the same map on other inputs, else the
correct output's bound (its terms are a subset or a permutation of the correct sum's). A variant
that coincides with the reference on a case (stride ignored at stride 1) is left out there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from checker.layer_cases import CaseArrays, ConvCase, LayerCase, PoolCase
from errormodel.layer_functions import backward_scale, gradient_scales, layer_function_scales
from reference.layers import Conv, Layer, MaxPool
from reference.map_equations import (
    max_pool_backpropagate_error,
    max_pool_positions,
    pad_maps,
    windows,
)
from reference.types import Array


def maps(a: Array) -> Array:
    """(N, C, H, W) → the reference's (C, H, W, N)."""
    return np.ascontiguousarray(np.moveaxis(a, 0, -1))


def course(a: Array) -> Array:
    """The reference's (C, H, W, N) → (N, C, H, W)."""
    return np.ascontiguousarray(np.moveaxis(a, -1, 0))


@dataclass(frozen=True)
class Variant:
    """A bug's answer for one output: the cause in words, its value (course layout), its B."""

    cause: str
    value: Array
    scale: float


@dataclass(frozen=True)
class Expected:
    """One output of one case: the reference's value (course layout), its B, the wrong variants."""

    value: Array
    scale: float
    variants: tuple[Variant, ...] = ()


def layer_of(case: LayerCase) -> Layer:
    """The reference's layer for the case, placed on its input maps."""
    if isinstance(case, ConvCase):
        return Conv(case.f, (case.hh, case.ww), case.stride, case.pad, (case.c, case.h, case.w))
    return MaxPool(case.size, case.stride, (case.c, case.h, case.w))


def expected(case: LayerCase, arrays: CaseArrays) -> dict[str, Expected]:
    """Per output (out, dx, and for a convolution dw, db): the reference and the variants."""
    if isinstance(case, ConvCase):
        return _conv(case, arrays)
    return _pool(case, arrays)


def _conv(case: ConvCase, arrays: CaseArrays) -> dict[str, Expected]:
    layer = layer_of(case)
    assert isinstance(layer, Conv)
    x, dout, w, b = maps(arrays.x), maps(arrays.dout), arrays.w, arrays.b[:, None]
    n = case.n
    ones = np.ones_like(x)
    scales = layer_function_scales(layer, w, b, x, dout)

    def dx_of(lay: Conv, kernel: Array) -> tuple[Array, float]:
        value = course(lay.backpropagate_error(kernel, dout, x, ones))
        return value, backward_scale(lay, kernel, x, dout)

    def dw_of(lay: Conv, a: Array) -> tuple[Array, float]:
        value = n * lay.weight_gradient(dout, a)
        return value, gradient_scales(lay, a, dout)["dw"]

    out = course(layer.forward(w, b, x))
    flipped = w[:, :, ::-1, ::-1]
    forward = [
        Variant("bias not added", out - arrays.b[None, :, None, None], scales["out"]),
        Variant(
            "kernel flipped: a convolution where the layer correlates (as torch's conv2d does)",
            course(layer.forward(flipped, b, x)),
            scales["out"],
        ),
    ]
    dx = [Variant("kernel not flipped", *dx_of(layer, flipped))]
    dw = [
        Variant(
            "kernel flipped in ∂C/∂w",
            (n * layer.weight_gradient(dout, x))[:, :, ::-1, ::-1],
            scales["dw"],
        )
    ]
    h_out, w_out = case.out_hw
    if case.stride > 1:
        dx.append(Variant("stride ignored", *dx_of(dataclasses.replace(layer, stride=1), w)))
        dw.append(Variant("stride ignored", *dw_of(*stride_ignored_input(layer, x))))
    if case.pad:
        dx.append(
            Variant(
                "padding ignored: δ of the padded input not shifted back by the padding",
                *dx_of(dataclasses.replace(layer, padding=0), w),
            )
        )
        dw.append(
            Variant(
                "padding ignored: windows taken from x, not the padded x",
                *dw_of(*padding_ignored_input(layer, x)),
            )
        )
    right_db = n * layer.bias_gradient(dout)[:, 0]
    positions = h_out * w_out
    db = [
        Variant(
            "bias gradient averaged over positions, not summed", right_db / positions, scales["db"]
        ),
        Variant(
            "bias gradient from one position, not summed over positions",
            arrays.dout[:, :, 0, 0].sum(axis=0),
            scales["db"],
        ),
    ]
    right_dx = course(layer.backpropagate_error(w, dout, x, ones))
    right_dw = n * layer.weight_gradient(dout, x)
    return {
        "out": Expected(out, scales["out"], _differing(forward, out)),
        "dx": Expected(right_dx, scales["dx"], _differing(dx, right_dx)),
        "dw": Expected(right_dw, scales["dw"], _differing(dw, right_dw)),
        "db": Expected(right_db, scales["db"], _differing(db, right_db)),
    }


def _pool(case: PoolCase, arrays: CaseArrays) -> dict[str, Expected]:
    layer = layer_of(case)
    x, dout = maps(arrays.x), maps(arrays.dout)
    k, s = case.size, case.stride
    empty = np.zeros(0)
    scales = layer_function_scales(layer, empty, empty, x, dout)
    out = course(layer.forward(empty, empty, x))
    right = course(layer.backpropagate_error(empty, dout, x, np.ones_like(x)))
    h_out, w_out = case.out_hw
    seen = x[:, : h_out + k - 1, : w_out + k - 1]
    unstrided = np.zeros_like(x)
    unstrided[:, : seen.shape[1], : seen.shape[2]] = max_pool_backpropagate_error(
        dout, seen, np.ones_like(seen), k, 1
    )
    dx = [
        Variant("δ routed to every tied maximum", course(route_ties(x, dout, k, s)), scales["dx"]),
        Variant(
            "δ routed to the last of tied maxima (the reference, like torch and XLA, routes it to "
            "the first in row-major order)",
            course(route(x, dout, k, s, last_positions(x, k, s))),
            scales["dx"],
        ),
        Variant(
            "δ of overlapping windows overwritten, not summed",
            course(route(x, dout, k, s, max_pool_positions(x, k, s), overwrite=True)),
            scales["dx"],
        ),
        Variant("stride ignored", course(unstrided), scales["dx"]),
    ]
    forward = [
        Variant(
            "the mean of each window, not its maximum", course(window_mean(x, k, s)), scales["out"]
        )
    ]
    return {
        "out": Expected(out, scales["out"], _differing(forward, out)),
        "dx": Expected(right, scales["dx"], _differing(dx, right)),
    }


def stride_ignored_input(layer: Conv, a_prev: Array) -> tuple[Conv, Array]:
    """What BP4 reads when it steps by 1 where the layer steps by s: the padded input's first
    H' + k_h − 1 rows and W' + k_w − 1 columns, under a stride-1, unpadded copy of the layer
    (its ``weight_gradient`` on them is the bug's ∂C/∂w)."""
    _, h_out, w_out = layer.out_shape
    k_h, k_w = layer.kernel_size
    seen = pad_maps(a_prev, layer.padding)[:, : h_out + k_h - 1, : w_out + k_w - 1]
    return dataclasses.replace(layer, stride=1, padding=0, in_shape=seen.shape[:3]), seen


def padding_ignored_input(layer: Conv, a_prev: Array) -> tuple[Conv, Array]:
    """What BP4 reads when it takes its windows from the input, not the padded input: the input
    with the 2p zeros at its ends, under an unpadded copy of the layer."""
    p2 = 2 * layer.padding
    ends = np.pad(a_prev, ((0, 0), (0, p2), (0, p2), (0, 0)))
    return dataclasses.replace(layer, padding=0, in_shape=ends.shape[:3]), ends


def _differing(variants: list[Variant], right: Array) -> tuple[Variant, ...]:
    """The variants that differ from the right answer on this case (each could be named)."""
    return tuple(
        v for v in variants if v.value.shape != right.shape or not np.array_equal(v.value, right)
    )


def last_positions(x: Array, k: int, s: int) -> Array:
    """Each window's maximum, the last in row-major order where several tie: u·k + v."""
    patches = windows(x, (k, k), s)
    flat = patches.reshape(*patches.shape[:4], k * k)[..., ::-1]
    return k * k - 1 - flat.argmax(axis=-1)


def route(x: Array, dout: Array, k: int, s: int, at: Array, overwrite: bool = False) -> Array:
    """Each window's δ to the position ``at`` names (u·k + v), summed, or with ``overwrite``
    assigned window after window in row-major order (the later window wins)."""
    routed = np.zeros_like(x)
    _, h_out, w_out, _ = dout.shape
    for i in range(h_out):
        for j in range(w_out):
            u, v = np.divmod(at[:, i, j], k)  # (C, m)
            c, m = np.indices(u.shape)
            rows, cols = s * i + u, s * j + v
            if overwrite:
                routed[c, rows, cols, m] = dout[:, i, j]
            else:
                np.add.at(routed, (c, rows, cols, m), dout[:, i, j])
    return routed


def route_ties(x: Array, dout: Array, k: int, s: int) -> Array:
    """Each window's δ to every entry equal to its maximum."""
    routed = np.zeros_like(x)
    _, h_out, w_out, _ = dout.shape
    for i in range(h_out):
        for j in range(w_out):
            window = x[:, s * i : s * i + k, s * j : s * j + k]
            top = window.max(axis=(1, 2), keepdims=True)
            routed[:, s * i : s * i + k, s * j : s * j + k] += (window == top) * dout[
                :, i : i + 1, j : j + 1
            ]
    return routed


def window_mean(x: Array, k: int, s: int) -> Array:
    return windows(x, (k, k), s).mean(axis=(4, 5))
