"""The bench's yardsticks, written the plain way a learner would: not the reference, not oracles.

Sigmoid layers and the quadratic cost only, no input checks, no result types, as short as NumPy
allows. ``benchmarks.bench`` times the reference against :func:`plain_backprop` (the four equations
on all m columns at once) and the finite-difference oracle against
:func:`plain_central_differences` (one parameter at a time, a fresh forward pass per evaluation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from reference.types import Array


def sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


def plain_backprop(
    weights: Sequence[Array], biases: Sequence[Array], x: Array, y: Array
) -> tuple[list[Array], list[Array], list[Array]]:
    """(δ^l, ∂C/∂b^l, ∂C/∂w^l) per layer for C = (1/m) Σ_x ½‖a^L − y‖²."""
    activations = [x]
    for w, b in zip(weights, biases, strict=True):
        activations.append(sigmoid(w @ activations[-1] + b))
    a = activations[-1]
    delta = (a - y) * a * (1 - a)
    deltas: list[Array] = [delta]
    for w, a in zip(weights[:0:-1], activations[-2:0:-1], strict=True):
        delta = (w.T @ delta) * a * (1 - a)
        deltas.insert(0, delta)
    m = x.shape[1]
    nabla_b = [d.sum(axis=1, keepdims=True) / m for d in deltas]
    nabla_w = [d @ a.T / m for d, a in zip(deltas, activations[:-1], strict=True)]
    return deltas, nabla_b, nabla_w


def plain_cost(weights: Sequence[Array], biases: Sequence[Array], x: Array, y: Array) -> float:
    """C = (1/m) Σ_x ½‖a^L − y‖² by a plain forward pass."""
    a = x
    for w, b in zip(weights, biases, strict=True):
        a = sigmoid(w @ a + b)
    return float(0.5 * np.sum((a - y) ** 2) / x.shape[1])


def plain_central_differences(
    weights: Sequence[Array], biases: Sequence[Array], x: Array, y: Array, h: float
) -> list[Array]:
    """∂C/∂w^l then ∂C/∂b^l of every layer: each parameter moved by ±h in place (and put back),
    the cost evaluated twice."""
    slopes = []
    for p in (*weights, *biases):
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            kept = p[index]
            p[index] = kept + h
            plus = plain_cost(weights, biases, x, y)
            p[index] = kept - h
            minus = plain_cost(weights, biases, x, y)
            p[index] = kept
            g[index] = (plus - minus) / (2 * h)
        slopes.append(g)
    return slopes
