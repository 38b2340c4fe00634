"""A training run driven by optax, on the activations of :mod:`oracles.jax_grad` (x64 enabled).

The step is ``optax.chain(optax.add_decayed_weights(λ/n, mask=weights), optax.sgd(η))`` on the
gradient of the MEAN cost of the mini-batch, then ``optax.apply_updates``:

    u = g + (λ/n)·p  (weights only),    u ← −η·u,    p ← p + u,

so w ← (1 − ηλ/n) w − (η/m) Σ_x ∂C_x/∂w and b ← b − (η/m) Σ_x ∂C_x/∂b: network2's step, with the
decay masked off the biases. The whole step (gradient and update) is jitted once per
architecture and step size; jit itself recompiles only for a new batch shape or dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from oracles import layer_ops
from oracles.jax_grad import ACTIVATIONS, LAYERS, cost_terms
from oracles.trainers import Order, check_run
from reference import Architecture, Params, Step
from reference.types import Array

Tree = tuple[tuple[jax.Array, ...], tuple[jax.Array, ...]]  # (weights, biases)


def _weights_only(params: Tree) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """The decay mask: True on every weight matrix, False on every bias."""
    weights, biases = params
    return tuple(True for _ in weights), tuple(False for _ in biases)


@functools.lru_cache(maxsize=64)
def _compiled_step(
    names: tuple[str, ...], layers: tuple[Any, ...], cost: str, eta: float, decay: float
) -> tuple[optax.GradientTransformation, Callable[..., Any]]:
    """The optimizer and jit(one SGD step) for one architecture, η and λ/n."""
    optimizer = optax.chain(optax.add_decayed_weights(decay, mask=_weights_only), optax.sgd(eta))

    def mean_cost(params: Tree, x: jax.Array, y: jax.Array) -> jax.Array:
        a = z = x
        for w, b, name, layer in zip(*params, names, layers, strict=True):
            z = LAYERS[type(layer)](layer, w, b, a)
            a = ACTIVATIONS[name](z)
        return jnp.mean(jnp.sum(cost_terms(cost, z, a, y), axis=0))

    def one_step(
        params: Tree, state: optax.OptState, x: jax.Array, y: jax.Array
    ) -> tuple[Tree, optax.OptState]:
        grads = jax.grad(mean_cost)(params, x, y)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    return optimizer, jax.jit(one_step)


def trajectory(
    arch: Architecture, params: Params, x: Array, y: Array, order: Order, step: Step
) -> list[Params]:
    """The parameters after each optax SGD step, one per mini-batch of ``order``."""
    check_run(arch, params, x, y, order, step)
    names = tuple(a.name for a in arch.sigmas)
    layer_ops(LAYERS, arch, "jax_sgd")  # a layer type the table lacks: named before jit
    optimizer, one_step = _compiled_step(
        names, arch.layers, arch.cost, step.eta, step.lmbda / step.n
    )
    dtype = params.weights[0].dtype
    x, y = x.astype(dtype), y.astype(dtype)
    tree: Tree = (
        tuple(jnp.asarray(w) for w in params.weights),
        tuple(jnp.asarray(b) for b in params.biases),
    )
    state = optimizer.init(tree)
    steps = []
    for batch in order:
        tree, state = one_step(tree, state, x[:, batch], y[:, batch])
        steps.append(Params(*(tuple(np.asarray(p) for p in part) for part in tree)))
    return steps
