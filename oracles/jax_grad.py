"""JAX as an oracle: ``jax.grad`` of the cost, x64 enabled, compiled once per architecture shape.

δ^l is obtained honestly by adding a zero offset to every z^l and differentiating Σ_x C_x with
respect to the offsets; ∂C/∂w^l and ∂C/∂b^l are gradients of the mean cost.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from reference import Architecture, Batch, Gradients, Params

jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "relu": lambda z: jnp.where(z > 0, z, 0.0),
    # σ'(0) = α as in the reference (jax.nn.leaky_relu takes σ'(0) = 1).
    "leaky_relu": lambda z: jnp.where(z > 0, z, 0.01 * z),
    "softplus": lambda z: jnp.logaddexp(z, 0.0),
    "identity": lambda z: z,
}


def _per_sample_cost(name: str, a: jax.Array, y: jax.Array) -> jax.Array:
    if name == "quadratic":
        return 0.5 * jnp.sum((a - y) ** 2, axis=0)
    if name == "cross_entropy":
        return -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log1p(-a), axis=0)
    raise KeyError(f"jax oracle has no cost {name!r}")


@functools.lru_cache(maxsize=256)
def _compiled(names: tuple[str, ...], cost: str) -> Callable[..., Any]:
    """jit(grad(Σ_x C_x)) with respect to (weights, biases, offsets) for one architecture."""

    def total_cost(
        ws: Sequence[jax.Array],
        bs: Sequence[jax.Array],
        offsets: Sequence[jax.Array],
        x: jax.Array,
        y: jax.Array,
    ) -> jax.Array:
        a = x
        for w, b, off, name in zip(ws, bs, offsets, names, strict=True):
            a = ACTIVATIONS[name](w @ a + b + off)
        return jnp.sum(_per_sample_cost(cost, a, y))

    return jax.jit(jax.grad(total_cost, argnums=(0, 1, 2)))


def gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l from jax.grad."""
    arch.check()
    names = tuple(a.name for a in arch.layer_activations)
    m = batch.x.shape[1]
    offsets = [np.zeros((w.shape[0], m), w.dtype) for w in params.weights]
    g_w, g_b, g_off = _compiled(names, arch.cost)(
        list(params.weights), list(params.biases), offsets, batch.x, batch.y
    )
    return Gradients(
        deltas=tuple(np.asarray(d) for d in g_off),
        nabla_b=tuple(np.asarray(g) / m for g in g_b),
        nabla_w=tuple(np.asarray(g) / m for g in g_w),
    )
