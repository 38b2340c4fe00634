"""A weight-gradient difference as a small picture: |reference − oracle| max-pooled to ≤ 32×32.

The gate stores one map per ∂C/∂w comparison in the results file, so the report can draw where an
oracle disagrees without recomputing anything. Each pixel is the largest |difference| in its block
of the (n_l, n_{l−1}) matrix (max-pooling keeps a single wrong element visible). Values are kept
as 8-bit codes on a log scale spanning :data:`DECADES` decades below the map's maximum, base64
encoded: about 1.4 characters per pixel, and ±0.03 decades is finer than a colour bar shows.
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
    top = float(pooled.max(initial=0.0))
    codes = np.zeros(pooled.shape, np.uint8)
    if top > 0:
        with np.errstate(divide="ignore"):
            decades_below = np.log10(pooled / top)  # −inf for zeros
        level = np.rint(LEVELS * (decades_below + DECADES) / DECADES)
        codes = np.where(decades_below >= -DECADES, 1 + np.clip(level, 0, LEVELS), 0)
    return kernel | {
        "shape": [int(n) for n in diff.shape],
        "block": list(block),
        "pooled": [int(n) for n in pooled.shape],
        "max": top,
        "decades": DECADES,
        "codes": base64.b64encode(codes.astype(np.uint8).tobytes()).decode("ascii"),
    }


def decode(entry: Mapping[str, Any]) -> Array:
    """The pooled map back as floats (within 0.03 decades; 0 where below the encoded range)."""
    rows, cols = entry["pooled"]
    codes = np.frombuffer(base64.b64decode(entry["codes"]), np.uint8).reshape(rows, cols)
    decades = entry["decades"]
    values = entry["max"] * 10.0 ** (decades * ((codes.astype(np.float64) - 1) / LEVELS - 1))
    return np.where(codes > 0, values, 0.0)
