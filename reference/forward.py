"""The forward pass, keeping every weighted input z^l and activation a^l."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reference.activations import Activation
from reference.params import Params
from reference.types import Array


@dataclass(frozen=True)
class Forward:
    """``zs[i]`` is z^l and ``activations[i + 1]`` is a^l for l = i + 2; ``activations[0]`` is x."""

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]


def weighted_input(w: Array, a_prev: Array, b: Array) -> Array:
    """z^l = w^l a^{l−1} + b^l (book eq. 25), one column per sample."""
    z = w @ a_prev
    z += b  # in place: the same sum, one array fewer
    return z


def feedforward(params: Params, sigmas: Sequence[Activation], x: Array) -> Forward:
    """a^1 = x, then z^l = w^l a^{l−1} + b^l and a^l = σ(z^l) for l = 2…L."""
    zs, activations = [], [x]
    for w, b, sigma in zip(params.weights, params.biases, sigmas, strict=True):
        z = weighted_input(w, activations[-1], b)
        zs.append(z)
        activations.append(sigma.fn(z))
    return Forward(tuple(zs), tuple(activations))
