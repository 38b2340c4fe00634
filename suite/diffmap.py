"""A difference as small pictures: |reference − oracle| max-pooled to ≤ 32×32 per picture.

The gate stores one map per ∂C/∂w comparison in the results file, so the report can draw where an
oracle disagrees without recomputing anything. Each pixel is the largest |difference| in its block
of the (n_l, n_{l−1}) matrix (max-pooling keeps a single wrong element visible). Values are kept
as 8-bit codes on a log scale spanning :data:`DECADES` decades below the map's maximum, base64
encoded: about 1.4 characters per pixel, and ±0.03 decades is finer than a colour bar shows.

A map layer's quantity (δ^l of a convolution or max-pool, (C, H, W, m); ∂C/∂w^l of a
convolution, (C_out, C_in, k_h, k_w)) also gets one picture per channel (:func:`encode_channels`):
|reference − oracle| / allowed, the largest over the samples (δ^l) or the input maps' kernels
tiled in a grid (∂C/∂w^l), for the :data:`TOP_CHANNELS` channels that disagree most, with the same
codes.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating[Any]]  # as reference.types, which the report must not import

MAX_SIDE = 32
DECADES = 12
LEVELS = 254  # codes 1…255 cover [max·10^−DECADES, max]; code 0 is anything smaller, or 0
#: A map quantity's channels drawn, those that disagree most; the rest are counted, not drawn.
TOP_CHANNELS = 16
#: A channel's picture is max-pooled to at most this many pixels a side (LeNet's 24×24 δ^2 maps
#: to 12×12): sixteen of them stay a few kB per record.
CHANNEL_SIDE = 16


def pool_max(diff: Array, max_side: int = MAX_SIDE) -> tuple[Array, tuple[int, int]]:
    """Max over blocks of ⌈rows/max_side⌉ × ⌈cols/max_side⌉ elements; returns (map, block)."""
    rows, cols = diff.shape
    block = (max(1, math.ceil(rows / max_side)), max(1, math.ceil(cols / max_side)))
    out = (math.ceil(rows / block[0]), math.ceil(cols / block[1]))
    padded = np.zeros((out[0] * block[0], out[1] * block[1]))
    padded[:rows, :cols] = diff
    return padded.reshape(out[0], block[0], out[1], block[1]).max(axis=(1, 3)), block


def tiled(diff: Array) -> Array:
    """A convolution's kernels (C_out, C_in, k_h, k_w) as one picture per channel pair: row
    o·k_h + u, column c·k_w + v is w_{o,c,u,v} (a matrix stays as it is)."""
    if diff.ndim != 4:
        return diff
    c_out, c_in, k_h, k_w = diff.shape
    return diff.transpose(0, 2, 1, 3).reshape(c_out * k_h, c_in * k_w)


def tiled_index(index: tuple[int, ...], kernel: tuple[int, int]) -> tuple[int, int]:
    """Where element (o, c, u, v) of a kernel stack sits in :func:`tiled`'s picture."""
    if len(index) != 4:
        return int(index[0]), int(index[1])
    o, c, u, v = index
    return o * kernel[0] + u, c * kernel[1] + v


def encode(reference: Array, other: Array) -> dict[str, Any]:
    """The pooled |reference − other| of two equal-shape finite matrices (or kernel stacks,
    tiled per channel pair), as JSON-ready data."""
    diff = np.abs(np.asarray(reference, np.float64) - np.asarray(other, np.float64))
    kernel = {"kernel": [int(n) for n in diff.shape[2:]]} if diff.ndim == 4 else {}
    diff = tiled(diff)
    pooled, block = pool_max(diff)
    top, codes = quantize(pooled)
    return kernel | {
        "shape": [int(n) for n in diff.shape],
        "block": list(block),
        "pooled": [int(n) for n in pooled.shape],
        "max": top,
        "decades": DECADES,
        "codes": codes,
    }


def quantize(values: Array) -> tuple[float, str]:
    """Non-negative values as (their maximum, base64 of one 8-bit code each): code 1 + k is
    max·10^(DECADES·(k/LEVELS − 1)), code 0 anything below max·10^−DECADES (or 0)."""
    top = float(values.max(initial=0.0))
    codes = np.zeros(values.shape, np.uint8)
    if top > 0:
        with np.errstate(divide="ignore"):
            decades_below = np.log10(values / top)  # −inf for zeros
        level = np.rint(LEVELS * (decades_below + DECADES) / DECADES)
        codes = np.where(decades_below >= -DECADES, 1 + np.clip(level, 0, LEVELS), 0)
    return top, base64.b64encode(codes.astype(np.uint8).tobytes()).decode("ascii")


def dequantize(top: float, codes: str, decades: int, shape: tuple[int, ...]) -> Array:
    """:func:`quantize`'s codes back as floats (within 0.03 decades; 0 below the range)."""
    raw = np.frombuffer(base64.b64decode(codes), np.uint8).reshape(shape).astype(np.float64)
    return np.where(raw > 0, top * 10.0 ** (decades * ((raw - 1) / LEVELS - 1)), 0.0)


def decode(entry: Mapping[str, Any]) -> Array:
    """The pooled map back as floats (within 0.03 decades; 0 where below the encoded range)."""
    rows, cols = entry["pooled"]
    return dequantize(entry["max"], entry["codes"], entry["decades"], (rows, cols))


def kernel_grid(c_in: int) -> tuple[int, int]:
    """The tiles (rows, columns) of a channel's ∂C/∂w picture: one k_h × k_w tile per input map
    c, row-major in a grid as near square as fits them (⌈√C_in⌉ columns)."""
    cols = math.ceil(math.sqrt(c_in))
    return math.ceil(c_in / cols), cols


def channel_panels(ratio: Array, kernels: bool) -> Array:
    """Per channel, one picture of a map quantity: of δ^l (C, H, W, m) the largest over the
    samples, (C, H, W); of ∂C/∂w^l (``kernels``: (C_out, C_in, k_h, k_w)) output map o's
    kernels, input map c's k_h × k_w tile at grid place (c // columns, c % columns)
    (:func:`kernel_grid`), the places no input map fills 0."""
    if ratio.ndim != 4:
        raise ValueError(f"channel maps need a 4-d map quantity, got shape {ratio.shape}")
    if not kernels:
        return ratio.max(axis=3, initial=0.0)
    c_out, c_in, k_h, k_w = ratio.shape
    rows, cols = kernel_grid(c_in)
    grid = np.zeros((c_out, rows * cols, k_h, k_w))
    grid[:, :c_in] = ratio
    tiles = grid.reshape(c_out, rows, cols, k_h, k_w).transpose(0, 1, 3, 2, 4)
    return tiles.reshape(c_out, rows * k_h, cols * k_w)


def encode_channels(
    reference: Array,
    other: Array,
    allowed: float,
    kernels: bool,
    left_out: npt.NDArray[np.bool_] | None = None,
    top_channels: int = TOP_CHANNELS,
) -> dict[str, Any]:
    """The elementwise |reference − other| / allowed of a map quantity as per-channel pictures
    (:func:`channel_panels`, each max-pooled to ≤ :data:`CHANNEL_SIDE` a side), JSON-ready: the
    ``top_channels`` channels of the largest ratio, worst first (``channels``), and how many
    others were not kept (``not_shown``). Elements in ``left_out`` (an oracle's kinks) count 0."""
    if not allowed > 0 or not math.isfinite(allowed):
        raise ValueError(f"channel maps need a positive finite allowed error, got {allowed}")
    diff = np.abs(np.asarray(reference, np.float64) - np.asarray(other, np.float64))
    if left_out is not None:
        diff = np.where(left_out, 0.0, diff)
    panels = channel_panels(diff / allowed, kernels)
    worst = panels.reshape(len(panels), -1).max(axis=1, initial=0.0)
    kept = np.argsort(-worst, kind="stable")[:top_channels]
    pooled = [pool_max(panels[c], CHANNEL_SIDE) for c in kept]
    block = pooled[0][1] if pooled else (1, 1)
    stack = np.stack([p for p, _ in pooled]) if pooled else np.zeros((0, 0, 0))
    top, codes = quantize(stack)
    grid = {"kernel": [int(n) for n in diff.shape[2:]], "tiles": list(kernel_grid(diff.shape[1]))}
    return (grid if kernels else {}) | {
        "channels": [int(c) for c in kept],
        "not_shown": int(len(panels) - len(kept)),
        "shape": [int(n) for n in panels.shape[1:]],
        "block": list(block),
        "pooled": [int(n) for n in stack.shape[1:]],
        "max": top,
        "decades": DECADES,
        "codes": codes,
    }


def decode_channels(entry: Mapping[str, Any]) -> Array:
    """:func:`encode_channels`' pictures back as ratios, (channels kept, rows, columns)."""
    shape = (len(entry["channels"]), *entry["pooled"])
    return dequantize(entry["max"], entry["codes"], entry["decades"], shape)
