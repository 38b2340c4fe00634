"""A convolutional layer (network3.py's ConvPoolLayer without its pool): C_out kernels of
C_in × k_h × k_w over the input's maps, stride s, zero padding p, one bias per output map.

Its equations are :mod:`reference.map_equations`' (the forward correlation, BP2 as a full
correlation with the flipped kernel, BP3 summed over positions, BP4 as the correlation of
a^{l−1} with δ^l). In an architecture's line it is written ``Conv(20, 5)`` (20 maps of 5 × 5),
``Conv(8, 3, stride=2, padding=1)``; the architecture fills in what feeds it (``in_shape``) and
its σ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reference.map_equations import (
    conv_backpropagate_error,
    conv_bias_gradient,
    conv_weight_gradient,
    conv_weighted_input,
)
from reference.types import Array


@dataclass(frozen=True)
class Conv:
    """``maps`` kernels of ``kernel`` (k, or (k_h, k_w)) at ``stride`` with ``padding`` zeros,
    fed by maps of shape ``in_shape`` = (C_in, H, W) (None until an architecture places it)."""

    maps: int
    kernel: int | tuple[int, int]
    stride: int = 1
    padding: int = 0
    in_shape: tuple[int, ...] | None = None
    activation: str = "sigmoid"

    def __repr__(self) -> str:
        """The spec as an architecture line writes it, e.g. ``Conv(20, 5, stride=2)``."""
        extra = "".join(
            f", {name}={value!r}"
            for name, value, default in (("stride", self.stride, 1), ("padding", self.padding, 0))
            if value != default
        )
        return f"Conv({self.maps!r}, {self.kernel!r}{extra})"

    @property
    def tag(self) -> str:
        """Its part of an architecture's id: ``c20k5``, ``c8k3s2p1``, ``c4k3x5``."""
        k_h, k_w = self.kernel_size
        kernel = f"{k_h}" if k_h == k_w else f"{k_h}x{k_w}"
        stride = f"s{self.stride}" if self.stride != 1 else ""
        padding = f"p{self.padding}" if self.padding else ""
        return f"c{self.maps}k{kernel}{stride}{padding}"

    @property
    def kernel_size(self) -> tuple[int, int]:
        k = self.kernel
        return (k, k) if isinstance(k, int) else (int(k[0]), int(k[1]))

    def problems(self, in_shape: tuple[int, ...]) -> list[str]:
        """What is wrong with this spec fed by maps of ``in_shape``; empty when it fits."""
        k = self.kernel
        kernel_ok = (isinstance(k, int) and not isinstance(k, bool) and k > 0) or (
            isinstance(k, tuple) and len(k) == 2 and all(_positive(n) for n in k)
        )
        found = [
            f"{self!r}: {name} must be a positive integer, got {value!r}"
            for name, value in (("maps", self.maps), ("stride", self.stride))
            if not _positive(value)
        ]
        if not kernel_ok:
            found.append(f"{self!r}: kernel must be k or (k_h, k_w), positive, got {k!r}")
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            found.append(f"{self!r}: padding must be an integer ≥ 0, got {self.padding!r}")
        if len(in_shape) != 3:
            found.append(f"{self!r} needs feature maps (C, H, W) below it, got width {in_shape}")
        if found:
            return found
        _, h, w = in_shape
        k_h, k_w = self.kernel_size
        if k_h > h + 2 * self.padding or k_w > w + 2 * self.padding:
            found.append(f"{self!r}: kernel {k_h}×{k_w} is larger than its padded input {h}×{w}")
        return found

    @property
    def _in(self) -> tuple[int, int, int]:
        if self.in_shape is None:
            raise ValueError(f"{self!r} is not placed in an architecture (no in_shape)")
        c, h, w = self.in_shape
        return c, h, w

    @property
    def out_shape(self) -> tuple[int, int, int]:
        """(C_out, H', W'), H' = ⌊(H + 2p − k_h)/s⌋ + 1."""
        _, h, w = self._in
        k_h, k_w = self.kernel_size
        step = self.stride
        return (
            self.maps,
            (h + 2 * self.padding - k_h) // step + 1,
            (w + 2 * self.padding - k_w) // step + 1,
        )

    @property
    def fan_in(self) -> int:
        """C_in·k_h·k_w, the length of each output's dot product."""
        return self._in[0] * math.prod(self.kernel_size)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.maps, self._in[0], *self.kernel_size)

    @property
    def bias_shape(self) -> tuple[int, int]:
        return (self.maps, 1)

    def delta_shape(self, m: int) -> tuple[int, ...]:
        return (*self.out_shape, m)

    def forward(self, w: Array, b: Array, a_prev: Array) -> Array:
        """z^l = w^l ⋆ â^{l−1} + b^l, a correlation per output map."""
        return conv_weighted_input(w, a_prev, b, self.stride, self.padding)

    def backpropagate_error(
        self, w: Array, delta: Array, a_prev: Array, sigma_prime_prev: Array
    ) -> Array:
        """BP2: δ^{l−1} = (δ^l ⋆_full rot180(w^l)) ⊙ σ'(z^{l−1})."""
        return conv_backpropagate_error(w, delta, sigma_prime_prev, self.stride, self.padding)

    def bias_gradient(self, delta: Array) -> Array:
        """BP3: ∂C/∂b^l_o = Σ_{i,j} δ^l_{o,i,j}, the batch mean."""
        return conv_bias_gradient(delta)

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        """BP4: ∂C/∂w^l = â^{l−1} ⋆ δ^l, the batch mean."""
        return conv_weight_gradient(delta, a_prev, self.kernel_size, self.stride, self.padding)


def _positive(n: object) -> bool:
    return isinstance(n, int) and not isinstance(n, bool) and n > 0
