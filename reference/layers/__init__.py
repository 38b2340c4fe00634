"""Layer types, the unit of extension: each owns its forward, its δ rule and its gradients.

A layer type satisfies :class:`Layer` (stax's contract, one per layer: shapes, then pure
functions of the parameters and arrays). For layer l with parameters (w^l, b^l):

- ``forward(w, b, a_prev)`` is z^l from a^{l−1} (for :class:`Dense`, book eq. 25);
- ``backpropagate_error(w, delta, a_prev, sigma_prime_prev)`` is BP2 through this layer:
  δ^{l−1} from δ^l, a^{l−1} (a max-pool routes by it) and σ'(z^{l−1}) (for :class:`Dense`,
  ((w^l)ᵀ δ^l) ⊙ σ'(z^{l−1}));
- ``bias_gradient(delta)`` and ``weight_gradient(delta, a_prev)``: BP3 and BP4 for this layer;
- ``weight_shape``, ``bias_shape`` and ``delta_shape(m)``: what its parameters and δ^l look like,
  which :meth:`reference.Gradients.shapes_match` and every oracle's result are checked against
  (a layer without parameters, :class:`MaxPool`, has empty ones, shape (0,));
- ``out_shape`` (a^l's shape without the sample axis) and ``fan_in`` (the length of each
  output's dot product, which scales the initial weights).

The types: :class:`Dense`, the book's fully connected layer; :class:`Conv`, a convolution;
:class:`MaxPool`, max-pooling (network3.py's layers, ch. 6). A layer type is one more module here
(README, "Adding a layer type").
"""

from __future__ import annotations

from typing import Protocol

from reference.layers.conv import Conv
from reference.layers.dense import Dense
from reference.layers.pool import MaxPool
from reference.types import Array


class Layer(Protocol):
    """One layer l ≥ 2 of a net: its parameters' shapes, its forward map and its equations."""

    @property
    def activation(self) -> str:
        """The name of σ applied to this layer's z^l."""
        ...

    @property
    def out_shape(self) -> tuple[int, ...]:
        """a^l's shape for one sample: (n_l,), or (C, H, W) for feature maps."""
        ...

    @property
    def fan_in(self) -> int: ...

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

    def backpropagate_error(
        self, w: Array, delta: Array, a_prev: Array, sigma_prime_prev: Array
    ) -> Array:
        """BP2 through this layer: δ^{l−1} = ((∂z^l/∂a^{l−1})ᵀ δ^l) ⊙ σ'(z^{l−1})."""
        ...

    def bias_gradient(self, delta: Array) -> Array:
        """BP3 for this layer: ∂C/∂b^l from δ^l (mean over the batch)."""
        ...

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        """BP4 for this layer: ∂C/∂w^l from δ^l and a^{l−1} (mean over the batch)."""
        ...


__all__ = ["Conv", "Dense", "Layer", "MaxPool"]
