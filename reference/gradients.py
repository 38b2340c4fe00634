"""The one result type every producer of gradients returns: the reference and every oracle.

Per layer l = 2…L (book numbering: the input is layer 1) a :class:`Gradients` holds

- ``deltas[l]``: δ^l for every sample, shape (n_l, m); column x is δ^{x,l} = ∂C_x/∂z^{x,l};
- ``nabla_b[l]``: ∂C/∂b^l, shape (n_l, 1);
- ``nabla_w[l]``: ∂C/∂w^l, shape (n_l, n_{l−1});

(a layer of feature maps has δ^l of shape (C, H, W, m) and its own parameter shapes, a pool
empty ones: :mod:`reference.layers`)

where C = (1/m) Σ_x C_x is the mean cost of the mini-batch. Shapes are checked on construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.layers import Layer
from reference.numbering import at_layer, book_layers
from reference.types import Array

QUANTITIES = ("delta", "nabla_b", "nabla_w")


@dataclass(frozen=True)
class Gradients:
    """δ^l, ∂C/∂b^l and ∂C/∂w^l for layers 2…L (per-layer tuples, :mod:`reference.numbering`)."""

    deltas: tuple[Array, ...]
    nabla_b: tuple[Array, ...]
    nabla_w: tuple[Array, ...]

    def __post_init__(self) -> None:
        n = len(self.deltas)
        if not n or len(self.nabla_b) != n or len(self.nabla_w) != n:
            raise ValueError(
                f"Gradients needs one δ, ∂C/∂b and ∂C/∂w per layer, got "
                f"{len(self.deltas)}, {len(self.nabla_b)}, {len(self.nabla_w)}"
            )
        # the batch size m is that of layer 2's δ (its last axis); a scalar δ is refused
        m = self.deltas[0].shape[-1] if self.deltas[0].ndim >= 2 else "m"
        for i, (d, b, w) in enumerate(zip(self.deltas, self.nabla_b, self.nabla_w, strict=True)):
            layer = i + 2
            if d.ndim < 2 or d.shape[-1] != m:
                raise ValueError(f"layer {layer}: δ has shape {d.shape}, expected (n_l, {m})")
            if d.ndim > 2 or b.shape == w.shape == (0,):
                continue  # feature maps, or a layer without parameters: shapes_match judges
            rows = d.shape[0]
            if b.shape != (rows, 1):
                raise ValueError(f"layer {layer}: ∂C/∂b has shape {b.shape}, expected ({rows}, 1)")
            if w.ndim != 2 or w.shape[0] != rows:
                raise ValueError(f"layer {layer}: ∂C/∂w has shape {w.shape}, expected ({rows}, …)")
            if i and self.deltas[i - 1].ndim == 2 and w.shape[1] != self.deltas[i - 1].shape[0]:
                raise ValueError(
                    f"layer {layer}: ∂C/∂w has {w.shape[1]} columns, "
                    f"layer {layer - 1} has {self.deltas[i - 1].shape[0]} neurons"
                )

    @classmethod
    def from_lists(
        cls, deltas: Sequence[Array], nabla_b: Sequence[Array], nabla_w: Sequence[Array]
    ) -> Gradients:
        return cls(tuple(deltas), tuple(nabla_b), tuple(nabla_w))

    @property
    def layers(self) -> range:
        """Book layer numbers 2…L."""
        return book_layers(len(self.deltas))

    def get(self, quantity: str, layer: int) -> Array:
        """One quantity (``"delta"``, ``"nabla_b"`` or ``"nabla_w"``) of layer l (2…L)."""
        if quantity not in QUANTITIES:
            raise KeyError(f"unknown quantity {quantity!r}; known: {QUANTITIES}")
        if layer not in self.layers:
            raise IndexError(f"layer {layer} out of range {self.layers.start}…{self.layers[-1]}")
        per_layer = {"delta": self.deltas, "nabla_b": self.nabla_b, "nabla_w": self.nabla_w}
        return at_layer(per_layer[quantity], layer)

    def items(self) -> Iterator[tuple[str, int, Array]]:
        """(quantity, layer, array) for every quantity of every layer; a layer without
        parameters (a pool) has no ∂C/∂b or ∂C/∂w to give, so none is listed for it."""
        for quantity in QUANTITIES:
            for layer in self.layers:
                array = self.get(quantity, layer)
                if array.size or quantity == "delta":
                    yield quantity, layer, array

    def shapes_match(self, layers: Sequence[Layer], batch: int) -> list[str]:
        """What differs from the shapes these layer types (an architecture's ``layers``) give a
        batch of ``batch`` samples: δ^l, ∂C/∂b^l and ∂C/∂w^l have the layer's δ, bias and
        weight shapes."""
        found = []
        if len(self.deltas) != len(layers):
            return [f"expected {len(layers)} layers of gradients, got {len(self.deltas)}"]
        for layer, kind in zip(self.layers, layers, strict=True):
            for quantity, want in (
                ("delta", kind.delta_shape(batch)),
                ("nabla_b", kind.bias_shape),
                ("nabla_w", kind.weight_shape),
            ):
                got = self.get(quantity, layer).shape
                if got != want:
                    found.append(f"{quantity} of layer {layer} has shape {got}, expected {want}")
        return found

    def astype(self, dtype: Any) -> Gradients:
        return Gradients(
            tuple(np.asarray(d, dtype) for d in self.deltas),
            tuple(np.asarray(b, dtype) for b in self.nabla_b),
            tuple(np.asarray(w, dtype) for w in self.nabla_w),
        )
