"""Seeded parameters and mini-batches for an architecture.

Weights are ``weights[i]`` of shape (n_l, n_{l−1}) and biases ``biases[i]`` of shape (n_l, 1) for
layer l = i + 2, as in network.py (a convolution's are its kernels (C_out, C_in, k_h, k_w) and
(C_out, 1); a pool's are empty). Samples are columns: X has shape (n_1, m), or (C, H, W, m) for
maps, and Y (n_L, m).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.architecture import Architecture
from reference.numbering import at_layer
from reference.types import Array


@dataclass(frozen=True)
class Params:
    """w^l and b^l for layers 2…L (per-layer tuples, :mod:`reference.numbering`)."""

    weights: tuple[Array, ...]
    biases: tuple[Array, ...]

    def weight(self, layer: int) -> Array:
        """w^l, the weights into book layer ``layer`` (2…L)."""
        return at_layer(self.weights, layer)

    def bias(self, layer: int) -> Array:
        """b^l, the biases of book layer ``layer`` (2…L)."""
        return at_layer(self.biases, layer)

    def astype(self, dtype: Any) -> Params:
        return Params(
            tuple(w.astype(dtype) for w in self.weights),
            tuple(b.astype(dtype) for b in self.biases),
        )


@dataclass(frozen=True)
class Batch:
    """A mini-batch: inputs X (n_1, m) and targets Y (n_L, m), one sample per column."""

    x: Array
    y: Array


def init_params(arch: Architecture, rng: np.random.Generator, dtype: Any = np.float64) -> Params:
    """The book's initialisation: b ~ N(0, 1); w ~ N(0, 1) or, ``init="scaled"``, N(0, 1/n_in)
    (n_in the layer's fan-in: C_in·k_h·k_w for a convolution), times ``arch.weight_scale``; a
    layer without parameters (a pool) draws nothing."""
    weights, biases = [], []
    for layer in arch.check().layers:
        if layer.weight_shape == (0,):
            weights.append(np.zeros(0, dtype))
            biases.append(np.zeros(0, dtype))
            continue
        fan_in = layer.fan_in
        scale = arch.weight_scale * (1.0 if arch.init == "normal" else 1.0 / np.sqrt(fan_in))
        weights.append((rng.standard_normal(layer.weight_shape) * scale).astype(dtype))
        biases.append(rng.standard_normal(layer.bias_shape).astype(dtype))
    return Params(tuple(weights), tuple(biases))


def sample_batch(arch: Architecture, rng: np.random.Generator, dtype: Any = np.float64) -> Batch:
    """Inputs x ~ N(0, s²) (s = ``arch.input_scale``) and targets y ~ U(0, 1), ``arch.batch``
    columns; for a cost that wants one-hot targets (the log-likelihood) each column is instead
    the unit vector of a class drawn uniformly from the n_L outputs; ``targets="binary"`` draws
    each y as 0 or 1 with equal odds."""
    arch.check()
    shape, n_out = arch.input_shape, arch.output_width
    x = (rng.standard_normal((*shape, arch.batch)) * arch.input_scale).astype(dtype)
    if arch.cost_object.one_hot:
        classes = rng.integers(0, n_out, arch.batch)
        y = np.eye(n_out, dtype=dtype)[:, classes]
    elif arch.targets == "binary":
        y = rng.integers(0, 2, (n_out, arch.batch)).astype(dtype)
    else:
        y = rng.uniform(0.0, 1.0, (n_out, arch.batch)).astype(dtype)
    return Batch(x, y)


def make_case(arch: Architecture, dtype: Any = np.float64) -> tuple[Params, Batch]:
    """Parameters and a batch drawn from ``arch.seed``: the same seed gives the same case."""
    rng = np.random.default_rng(arch.seed)
    params = init_params(arch, rng, dtype)
    return params, sample_batch(arch, rng, dtype)
