"""The forward pass, keeping every weighted input z^l and activation a^l."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reference.equations import weighted_input
from reference.types import Array

if TYPE_CHECKING:  # Params needs the architecture, which needs the layer types
    from reference.activations import Activation
    from reference.layers import Layer
    from reference.params import Params


@dataclass(frozen=True)
class Forward:
    """``zs[i]`` is z^l and ``activations[i + 1]`` is a^l for l = i + 2; ``activations[0]`` is x."""

    zs: tuple[Array, ...]
    activations: tuple[Array, ...]


def feedforward(
    params: Params, sigmas: Sequence[Activation], x: Array, layers: Sequence[Layer] | None = None
) -> Forward:
    """a^1 = x, then z^l = w^l a^{l−1} + b^l (each layer type's forward, dense when ``layers`` is
    None) and a^l = σ(z^l) for l = 2…L."""
    zs, activations = [], [x]
    for i, (w, b, sigma) in enumerate(zip(params.weights, params.biases, sigmas, strict=True)):
        a_prev = activations[-1]
        z = weighted_input(w, a_prev, b) if layers is None else layers[i].forward(w, b, a_prev)
        zs.append(z)
        activations.append(sigma.fn(z))
    return Forward(tuple(zs), tuple(activations))
