"""The book's fully connected layer: z^l = w^l a^{l−1} + b^l, and BP2–BP4 as the book writes them.

The equations are :mod:`reference.equations`' (BP1–BP4 read there as the book's); this type says
which of them a dense layer uses and what shapes its parameters have: w^l is (n_l, n_{l−1}),
b^l is (n_l, 1), δ^l is (n_l, m), one column per sample. Fed by feature maps (C, H, W, m) (a
convolution or a pool below it), it reads them flattened, (C·H·W, m) in row-major order, as
torch's ``flatten`` does: n_{l−1} = C·H·W, and BP2 gives δ^{l−1} back in the maps' shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.equations import (
    backpropagate_error,
    bias_gradient,
    weight_gradient,
    weighted_input,
)
from reference.types import Array


@dataclass(frozen=True)
class Dense:
    """A fully connected layer of ``n_out`` neurons fed by ``n_in``, with activation σ."""

    n_in: int
    n_out: int
    activation: str = "sigmoid"

    @property
    def out_shape(self) -> tuple[int]:
        return (self.n_out,)

    @property
    def fan_in(self) -> int:
        """n_{l−1}, the length of each neuron's dot product."""
        return self.n_in

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.n_out, self.n_in)

    @property
    def bias_shape(self) -> tuple[int, int]:
        return (self.n_out, 1)

    def delta_shape(self, m: int) -> tuple[int, int]:
        return (self.n_out, m)

    def forward(self, w: Array, b: Array, a_prev: Array) -> Array:
        """z^l = w^l a^{l−1} + b^l (book eq. 25)."""
        return weighted_input(w, _flat(a_prev), b)

    def backpropagate_error(
        self, w: Array, delta: Array, a_prev: Array, sigma_prime_prev: Array
    ) -> Array:
        """BP2: δ^{l−1} = ((w^l)ᵀ δ^l) ⊙ σ'(z^{l−1})."""
        if sigma_prime_prev.ndim == 2:
            return backpropagate_error(w, delta, sigma_prime_prev)
        flat = backpropagate_error(w, delta, _flat(sigma_prime_prev))
        return flat.reshape(sigma_prime_prev.shape)

    def bias_gradient(self, delta: Array) -> Array:
        """BP3: ∂C/∂b^l = δ^l, the batch mean."""
        return bias_gradient(delta)

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        """BP4: ∂C/∂w^l = δ^l (a^{l−1})ᵀ, the batch mean."""
        return weight_gradient(delta, _flat(a_prev))


def _flat(a: Array) -> Array:
    """Feature maps (C, H, W, m) as columns (C·H·W, m); columns as they are."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])
