"""Layer types, the unit of extension: each owns its forward, its δ rule and its gradients.

A layer type satisfies :class:`Layer` (stax's contract, one per layer: shapes, then pure
functions of the parameters and arrays). For layer l with parameters (w^l, b^l):

- ``forward(w, b, a_prev)`` is z^l from a^{l−1} (for :class:`Dense`, book eq. 25);
- ``backpropagate_error(w, delta, sigma_prime_prev)`` is BP2 through this layer: δ^{l−1} from
  δ^l and σ'(z^{l−1}) (for :class:`Dense`, ((w^l)ᵀ δ^l) ⊙ σ'(z^{l−1}));
- ``bias_gradient(delta)`` and ``weight_gradient(delta, a_prev)``: BP3 and BP4 for this layer;
- ``weight_shape``, ``bias_shape`` and ``delta_shape(m)``: what its parameters and δ^l look like,
  which :meth:`reference.Gradients.shapes_match` and every oracle's result are checked against.

Today's one type is :class:`Dense`, the book's fully connected layer; a convolution or a pooling
layer is one more module here (README, "Adding a layer type").
"""

from __future__ import annotations

from typing import Protocol

from reference.layers.dense import Dense
from reference.types import Array


class Layer(Protocol):
    """One layer l ≥ 2 of a net: its parameters' shapes, its forward map and its equations."""

    @property
    def activation(self) -> str:
        """The name of σ applied to this layer's z^l."""
        ...

    @property
    def weight_shape(self) -> tuple[int, ...]: ...

    @property
    def bias_shape(self) -> tuple[int, ...]: ...

    def delta_shape(self, m: int) -> tuple[int, ...]:
        """The shape of δ^l (and of z^l, a^l) for a mini-batch of m samples."""
        ...

    def forward(self, w: Array, b: Array, a_prev: Array) -> Array:
        """z^l from a^{l−1}."""
        ...

    def backpropagate_error(self, w: Array, delta: Array, sigma_prime_prev: Array) -> Array:
        """BP2 through this layer: δ^{l−1} = ((∂z^l/∂a^{l−1})ᵀ δ^l) ⊙ σ'(z^{l−1})."""
        ...

    def bias_gradient(self, delta: Array) -> Array:
        """BP3 for this layer: ∂C/∂b^l from δ^l (mean over the batch)."""
        ...

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        """BP4 for this layer: ∂C/∂w^l from δ^l and a^{l−1} (mean over the batch)."""
        ...


__all__ = ["Dense", "Layer"]
