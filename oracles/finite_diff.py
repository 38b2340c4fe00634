"""Central finite differences of the reference's cost: no derivative formula at all.

Every quantity is a directional derivative of the cost along a change of one weighted input row:
perturbing w^l_jk by h adds h·a^{l−1}_k to row j of z^l, b^l_j adds h to row j, and the entry
z^{x,l}_j itself is perturbed directly for δ. So each difference only re-runs layers l…L, and all
perturbations of a layer run at once as an extra leading array axis, in chunks of bounded memory.

The step h: a central difference errs by truncation ≈ h²|f'''|/6 and by rounding ≈ ε|C|/h, so
the best h is ~ (3ε|C|/|f'''|)^{1/3} ≈ ε^{1/3} ≈ 6e-6 for |C|, |f'''| ~ 1. :data:`STEP` is that
order; :mod:`harness.tolerances` turns the same two terms into the allowed error. Always float64:
a float32 central difference has ε^{2/3} ≈ 2e-5 relative error at best, too coarse to judge by.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from reference import Architecture, Batch, Gradients, Params
from reference.forward import feedforward
from reference.types import Array

#: The central-difference step, ≈ ε^{1/3} for float64 (see the module docstring).
STEP = 2.0**-17  # ≈ 7.6e-6; a power of two, so ±h is exact relative to the values it is added to
#: Upper bound on the bytes of one chunk of perturbed activations.
CHUNK_BYTES = 64 * 2**20


def gradients(arch: Architecture, params: Params, batch: Batch, h: float = STEP) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l by central differences of the cost with step h."""
    arch.check()
    params = params.astype(np.float64)
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    sigmas = arch.layer_activations
    fwd = feedforward(params, sigmas, x)
    m = x.shape[1]
    deltas, nabla_b, nabla_w = [], [], []
    for i, z in enumerate(fwd.zs):
        n, a_prev = z.shape[0], fwd.activations[i]
        rows = np.arange(n)
        # δ: entry (j, s) of z^l, direction e_s in row j; the derivative of Σ_x C_x.
        j, s = np.divmod(np.arange(n * m), m)
        deltas.append(_slopes(arch, params, i, z, y, j, np.eye(m)[s], h).reshape(n, m))
        # ∂C/∂b^l_j: all of row j moves by h; ∂C/∂w^l_jk: row j moves by h·a^{l−1}_k.
        nabla_b.append(_slopes(arch, params, i, z, y, rows, np.ones((n, m)), h)[:, None] / m)
        j, k = np.divmod(np.arange(n * a_prev.shape[0]), a_prev.shape[0])
        nabla_w.append(_slopes(arch, params, i, z, y, j, a_prev[k], h).reshape(n, -1) / m)
    return Gradients.from_lists(deltas, nabla_b, nabla_w)


def _slopes(
    arch: Architecture,
    params: Params,
    i: int,
    z: Array,
    y: Array,
    rows: np.ndarray[Any, Any],
    directions: Array,
    h: float,
) -> Array:
    """[C(z + h·e_j v^T) − C(z − h·e_j v^T)] / 2h for each (row j, direction v), C = Σ_x C_x.

    Differences are taken per sample before summing, so unchanged samples contribute exactly 0.
    """
    out = np.empty(len(rows))
    for chunk in _chunks(len(rows), z.size * max(w.shape[0] for w in params.weights) // z.shape[0]):
        per_sample = [
            _costs_from_layer(
                arch, params, i, _perturbed(z, rows[chunk], directions[chunk], sign * h), y
            )
            for sign in (1.0, -1.0)
        ]
        out[chunk] = np.sum(per_sample[0] - per_sample[1], axis=-1) / (2 * h)
    return out


def _perturbed(z: Array, rows: Array, directions: Array, step: float) -> Array:
    """A stack of copies of z, copy p with row rows[p] moved by step·directions[p]."""
    stack = np.repeat(z[None], len(rows), axis=0)
    stack[np.arange(len(rows)), rows] += step * directions
    return stack


def _costs_from_layer(
    arch: Architecture, params: Params, i: int, z_stack: Array, y: Array
) -> Array:
    """C_x for a stack of z^l (layer l = i + 2), running layers l…L: shape (P, m)."""
    sigmas = arch.layer_activations
    a = sigmas[i].fn(z_stack)
    for w, b, sigma in zip(
        params.weights[i + 1 :], params.biases[i + 1 :], sigmas[i + 1 :], strict=True
    ):
        a = sigma.fn(w @ a + b)
    return arch.cost_fn.fn(a, y)


def _chunks(total: int, floats_per_item: int) -> Iterator[slice]:
    size = max(1, CHUNK_BYTES // (8 * max(floats_per_item, 1)))
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
