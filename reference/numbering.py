"""The book's layer numbers, in one place: the input is layer 1 and has no weights, so every
per-layer tuple (w^l, b^l, σ, δ^l, ∂C/∂b^l, ∂C/∂w^l) holds layers 2…L: its index 0 is layer 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

#: The first layer with weights, biases and an activation (the input is layer 1).
FIRST_LAYER = 2


def book_layers(count: int) -> range:
    """The book numbers 2…L of a per-layer tuple of ``count`` entries."""
    return range(FIRST_LAYER, count + FIRST_LAYER)


def at_layer(items: Sequence[T], layer: int) -> T:
    """The entry of book layer ``layer`` (2…L) in a per-layer tuple."""
    return items[layer - FIRST_LAYER]
