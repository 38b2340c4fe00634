"""A max-pooling layer (network3.py's pool, on its own): each k × k window of every map, at stride
s (s = k by default, windows side by side; s < k overlaps them), becomes its largest entry.

It has no parameters (w^l and b^l are empty, so BP3 and BP4 have nothing to give) and its σ is the
identity: a^l = z^l. BP2 through it routes each window's δ to the position of the maximum
(:func:`reference.map_equations.max_pool_backpropagate_error`); a tie is a kink, which
:meth:`MaxPool.ties` finds. Written ``MaxPool(2)`` or ``MaxPool(3, stride=2)`` in a line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.map_equations import max_pool, max_pool_backpropagate_error, max_pool_ties
from reference.types import Array, Mask


@dataclass(frozen=True)
class MaxPool:
    """Max over ``window`` × ``window`` windows at ``stride`` (None: the window), fed by maps of
    ``in_shape`` = (C, H, W) (None until an architecture places it)."""

    window: int
    stride: int | None = None
    in_shape: tuple[int, ...] | None = None
    activation: str = "identity"

    def __repr__(self) -> str:
        extra = f", stride={self.stride!r}" if self.stride is not None else ""
        return f"MaxPool({self.window!r}{extra})"

    @property
    def step(self) -> int:
        """The stride s."""
        return self.window if self.stride is None else self.stride

    @property
    def tag(self) -> str:
        """Its part of an architecture's id: ``mp2``, ``mp3s2``."""
        return f"mp{self.window}" + (f"s{self.stride}" if self.stride is not None else "")

    def problems(self, in_shape: tuple[int, ...]) -> list[str]:
        """What is wrong with this spec fed by maps of ``in_shape``; empty when it fits."""
        found = [
            f"{self!r}: {name} must be a positive integer, got {value!r}"
            for name, value in (("window", self.window), ("stride", self.step))
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0
        ]
        if len(in_shape) != 3:
            found.append(f"{self!r} needs feature maps (C, H, W) below it, got width {in_shape}")
        elif not found and min(in_shape[1:]) < self.window:
            found.append(f"{self!r}: window {self.window} is larger than its input {in_shape}")
        return found

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(C, H', W'), H' = ⌊(H − k)/s⌋ + 1."""
        if self.in_shape is None:
            raise ValueError(f"{self!r} is not placed in an architecture (no in_shape)")
        c, h, w = self.in_shape
        return (c, (h - self.window) // self.step + 1, (w - self.window) // self.step + 1)

    @property
    def fan_in(self) -> int:
        """The window's k², of which z^l takes one (no dot product: a max rounds nothing)."""
        return self.window * self.window

    @property
    def weight_shape(self) -> tuple[int, ...]:
        """(0,): no weights."""
        return (0,)

    @property
    def bias_shape(self) -> tuple[int, ...]:
        """(0,): no biases."""
        return (0,)

    def delta_shape(self, m: int) -> tuple[int, ...]:
        return (*self.out_shape, m)

    def forward(self, w: Array, b: Array, a_prev: Array) -> Array:
        """z^l_{c,i,j} = max over the window of a^{l−1} (w, b empty)."""
        return max_pool(a_prev, self.window, self.step)

    def backpropagate_error(
        self, w: Array, delta: Array, a_prev: Array, sigma_prime_prev: Array
    ) -> Array:
        """BP2: δ^{l−1} = route(δ^l to each window's maximum) ⊙ σ'(z^{l−1})."""
        return max_pool_backpropagate_error(delta, a_prev, sigma_prime_prev, self.window, self.step)

    def bias_gradient(self, delta: Array) -> Array:
        """No bias: an empty ∂C/∂b^l."""
        return np.zeros(0, delta.dtype)

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        """No weights: an empty ∂C/∂w^l."""
        return np.zeros(0, delta.dtype)

    def ties(self, a_prev: Array) -> Mask:
        """True at each z^l whose window's maximum is tied: its δ's route is a kink."""
        mask: Mask = max_pool_ties(a_prev, self.window, self.step)
        return mask
