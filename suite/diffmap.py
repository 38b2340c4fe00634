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


def encode(reference: Array, other: Array) -> dict[str, Any]:
    """The pooled |reference − other| of two equal-shape finite matrices, as JSON-ready data."""
    diff = np.abs(np.asarray(reference, np.float64) - np.asarray(other, np.float64))
    pooled, block = pool_max(diff)
    top = float(pooled.max(initial=0.0))
    codes = np.zeros(pooled.shape, np.uint8)
    if top > 0:
        with np.errstate(divide="ignore"):
            decades_below = np.log10(pooled / top)  # −inf for zeros
        level = np.rint(LEVELS * (decades_below + DECADES) / DECADES)
        codes = np.where(decades_below >= -DECADES, 1 + np.clip(level, 0, LEVELS), 0)
    return {
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
