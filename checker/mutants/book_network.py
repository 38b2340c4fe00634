"""A network.py-style network written for this project: the correct one every mutant varies.

Its interface is the book's (Nielsen, ch. 1–2): ``Network(sizes)`` with lists ``weights`` (w^l of
shape (n_l, n_{l−1})) and ``biases`` (b^l of shape (n_l, 1)), ``feedforward(a)``,
``backprop(x, y)`` returning ``(nabla_b, nabla_w)`` for one sample, and
``update_mini_batch(mini_batch, eta)``. The code is this project's own: layers are numbered as in
the book (the input is layer 1) and every equation is one small method, so a mutant in
:mod:`checker.mutants.catalogue` overrides one method to plant one bug.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

Array = np.ndarray[Any, np.dtype[np.float64]]
Layers = dict[int, Array]  # a quantity per book layer: z[l], a[l], delta[l]
MiniBatch = Sequence[tuple[Array, Array]]


def sigmoid(z: Array) -> Array:
    """σ(z) = 1 / (1 + e^{−z})."""
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z: Array) -> Array:
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


class Network:
    """Sigmoid layers and the quadratic cost C_x = ½‖a^L − y‖², trained by mini-batch SGD."""

    def __init__(self, sizes: Sequence[int]) -> None:
        self.sizes = list(sizes)
        self.num_layers = len(sizes)
        self.biases = [np.random.randn(n, 1) for n in sizes[1:]]
        self.weights = [np.random.randn(n, k) for k, n in itertools.pairwise(sizes)]

    @property
    def L(self) -> int:
        """The output layer's number (the input is layer 1)."""
        return self.num_layers

    def w(self, l: int) -> Array:
        """w^l, the weights into layer l (2…L)."""
        return self.weights[l - 2]

    def b(self, l: int) -> Array:
        """b^l, the biases of layer l (2…L)."""
        return self.biases[l - 2]

    def feedforward(self, a: Array) -> Array:
        """a^L for the input a: a^l = σ(w^l a^{l−1} + b^l), l = 2…L."""
        for l in range(2, self.L + 1):
            a = self.activation(l, self.w(l) @ a + self.b(l))
        return a

    def activation(self, l: int, z: Array) -> Array:
        """a^l = σ(z^l): sigmoid neurons in every layer."""
        return sigmoid(z)

    def forward(self, x: Array) -> tuple[Layers, Layers]:
        """z^l and a^l for l = 2…L, keyed by book layer; a^1 = x."""
        z: Layers = {}
        a: Layers = {1: x}
        for l in range(2, self.L + 1):
            z[l] = self.w(l) @ a[l - 1] + self.b(l)
            a[l] = self.activation(l, z[l])
        return z, a

    def backprop(self, x: Array, y: Array) -> tuple[list[Array], list[Array]]:
        """Return ``(nabla_b, nabla_w)``, the gradient of C_x for one sample (x, y).

        Both are lists shaped like ``biases`` and ``weights``: ∂C_x/∂b^l and ∂C_x/∂w^l, l = 2…L.
        """
        z, a = self.forward(x)
        delta = self.errors(z, a, y)
        layers = range(2, self.L + 1)
        nabla_b = [self.bias_gradient(delta, z, l) for l in layers]
        nabla_w = [self.weight_gradient(delta, z, a, l) for l in layers]
        return nabla_b, nabla_w

    def errors(self, z: Layers, a: Layers, y: Array) -> Layers:
        """δ^l for every layer: BP1 at the output, then BP2 towards the input."""
        delta = {l: np.zeros_like(z[l]) for l in z}
        delta[self.L] = self.output_error(z, a, y)
        for l in self.hidden_layers():
            delta[l] = self.hidden_error(delta, z, a, l)
        return delta

    def hidden_layers(self) -> range:
        """L − 1, …, 2: the layers BP2 visits, output side first."""
        return range(self.L - 1, 1, -1)

    def output_error(self, z: Layers, a: Layers, y: Array) -> Array:
        """BP1: δ^L = ∇_a C ⊙ σ'(z^L)."""
        return self.cost_derivative(a[self.L], y) * sigmoid_prime(z[self.L])

    def hidden_error(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        """BP2: δ^l = ((w^{l+1})^T δ^{l+1}) ⊙ σ'(z^l)."""
        return (self.w(l + 1).T @ delta[l + 1]) * sigmoid_prime(z[l])

    def bias_gradient(self, delta: Layers, z: Layers, l: int) -> Array:
        """BP3: ∂C_x/∂b^l = δ^l."""
        return delta[l]

    def weight_gradient(self, delta: Layers, z: Layers, a: Layers, l: int) -> Array:
        """BP4: ∂C_x/∂w^l = δ^l (a^{l−1})^T, an outer product."""
        return delta[l] @ a[l - 1].T

    def cost_derivative(self, output: Array, y: Array) -> Array:
        """∇_a C_x = a^L − y, for C_x = ½‖a^L − y‖²."""
        return output - y

    def update_mini_batch(self, mini_batch: MiniBatch, eta: float) -> None:
        """One SGD step: w ← w − (η/m) Σ_x ∂C_x/∂w and b ← b − (η/m) Σ_x ∂C_x/∂b."""
        nabla_b, nabla_w = self.summed_gradients(mini_batch)
        self.descend(nabla_b, nabla_w, self.step_size(eta, len(mini_batch)), decay=1.0)

    def summed_gradients(self, mini_batch: MiniBatch) -> tuple[list[Array], list[Array]]:
        """Σ_x ∂C_x/∂b^l and Σ_x ∂C_x/∂w^l over the mini-batch, one backprop per sample."""
        nabla_b = [np.zeros_like(b) for b in self.biases]
        nabla_w = [np.zeros_like(w) for w in self.weights]
        for x, y in mini_batch:
            delta_nabla_b, delta_nabla_w = self.backprop(x, y)
            nabla_b = self.accumulate(nabla_b, delta_nabla_b)
            nabla_w = self.accumulate(nabla_w, delta_nabla_w)
        return nabla_b, nabla_w

    def accumulate(self, total: list[Array], one: list[Array]) -> list[Array]:
        """Add one sample's gradient to the running sum, layer by layer."""
        return [t + o for t, o in zip(total, one, strict=True)]

    def step_size(self, eta: float, m: int) -> float:
        """η/m: the sum over the mini-batch becomes a mean."""
        return eta / m

    def descend(
        self, nabla_b: list[Array], nabla_w: list[Array], rate: float, decay: float
    ) -> None:
        """w ← decay·w − rate·Σ∂C_x/∂w and b ← b − rate·Σ∂C_x/∂b (biases are never decayed)."""
        self.weights = [decay * w - rate * nw for w, nw in zip(self.weights, nabla_w, strict=True)]
        self.biases = [b - rate * nb for b, nb in zip(self.biases, nabla_b, strict=True)]
