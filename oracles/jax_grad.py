"""JAX as an oracle: ``jax.grad`` of the cost, x64 enabled, jit-compiled.

δ^l is obtained honestly by adding a zero offset to every z^l and differentiating Σ_x C_x with
respect to the offsets; ∂C/∂w^l and ∂C/∂b^l are gradients of the mean cost.

Compiling costs far more than running a small net (~0.3 s against ~0.1 ms), and the gate runs
dozens of them. So every net that fits :data:`SMALL` (widths, input included; batch; weight layers)
shares one compiled program: it is padded to exactly that shape, each layer picks its activation
and the net its cost at run time (``lax.switch``), and layers past the output pass a^L through.
The padding is exact: padded weights and biases are 0, so padded units add exact zeros to real
ones; padded outputs and samples are masked out of the cost, so they send back exact zeros. A
softmax output normalises over its real rows only: padded rows enter its normaliser (and the
log-likelihood's log-sum-exp) as −∞, whose e^{−∞} is exactly 0.
Larger nets compile once per (activations, cost, shapes) and are reused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from oracles import activations as oracle_sigmas
from oracles import costs as oracle_costs
from oracles import layer_ops
from reference import Architecture, Batch, Gradients, Params, activations
from reference.layers import Conv, Dense, MaxPool

jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]

#: σ per activation, this oracle's own jax formulas (oracles/activations.py); the order is the
#: padded program's activation codes.
ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = oracle_sigmas.table("jax", jax)


#: z^l from (w^l, b^l, a^{l−1}) per layer type: the one place this oracle says what a layer does
#: (the padded program, one compiled net for every small dense net, is dense by construction).
def _conv(layer: Conv, w: jax.Array, b: jax.Array, a: jax.Array) -> jax.Array:
    """z^l of a convolution by XLA's, on the maps padded first (``jnp.pad``) and convolved with no
    padding of its own: the gradient of a padded strided convolution with a non-square kernel
    aborts XLA's compiler on some shapes (jax:conv-grad-abort, oracles/known_upstream.toml;
    ``nox -s upstream`` reproduces it), which would end the whole run, not one comparison."""
    p = layer.padding
    padded = jnp.pad(a, ((0, 0), (p, p), (p, p), (0, 0))) if p else a
    z = jax.lax.conv_general_dilated(
        padded,
        w,
        (layer.stride, layer.stride),
        "VALID",
        dimension_numbers=("CHWN", "OIHW", "CHWN"),
        precision=jax.lax.Precision.HIGHEST,
    )
    return z + b[:, :, None, None]


#: Feature maps are (C, H, W, m), the sample last as in the reference: XLA's convolution and
#: reduce_window take that layout as it is ("CHWN").
LAYERS: dict[type, Callable[..., jax.Array]] = {
    Dense: lambda layer, w, b, a: w @ a.reshape(w.shape[1], a.shape[-1]) + b,
    Conv: _conv,
    MaxPool: lambda layer, w, b, a: jax.lax.reduce_window(
        a,
        -jnp.inf,
        jax.lax.max,
        (1, layer.window, layer.window, 1),
        (1, layer.step, layer.step, 1),
        "VALID",
    ),
}

#: Activations normalised over a column's neurons (not elementwise, the activation's record says):
#: in the padded program their padded rows must stay out of the normaliser.
OUTPUT_ONLY = activations.OUTPUT_ONLY

#: The shared shape: widths (input included), batch and weight layers a small net is padded to.
SMALL = {"width": 32, "batch": 16, "layers": 8}


#: The summands of C_x, one per output neuron (row) and sample (column), from the output layer's
#: z and a = σ(z), this oracle's own jax formulas (oracles/costs.py). The order is the padded
#: program's cost codes.
COSTS: dict[str, Callable[[jax.Array, jax.Array, jax.Array], jax.Array]] = oracle_costs.table(
    "jax", jax
)
#: Costs evaluated by a log-sum-exp over the output rows (log_softmax of z^L).
LOG_SUM_EXP_COSTS = frozenset(n for n, c in oracle_costs.COSTS.items() if c.jax_over_rows)


def cost_terms(name: str, z: jax.Array, a: jax.Array, y: jax.Array) -> jax.Array:
    """The summands of C_x by the cost named ``name`` (:data:`COSTS`)."""
    if name not in COSTS:
        raise KeyError(f"jax oracle has no cost {name!r}")
    return COSTS[name](z, a, y)


def gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l from jax.grad."""
    arch.check()
    fits = all(type(layer) is Dense for layer in arch.layers) and (
        max(arch.sizes) <= SMALL["width"]
        and arch.batch <= SMALL["batch"]
        and arch.depth - 1 <= SMALL["layers"]
    )
    return (_padded if fits else _per_shape)(arch, params, batch)


def _per_shape(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """jit(grad) compiled for this net's own activations and shapes (cached by jit)."""
    names = tuple(a.name for a in arch.sigmas)
    m = batch.x.shape[-1]
    dtype = batch.x.dtype
    offsets = [np.zeros(layer.delta_shape(m), dtype) for layer in arch.layers]
    layer_ops(LAYERS, arch, "jax")  # a type the table lacks: named here, not inside jit
    g_w, g_b, g_off = _compiled(names, arch.layers, arch.cost)(
        list(params.weights), list(params.biases), offsets, batch.x, batch.y
    )
    return Gradients(
        deltas=tuple(np.asarray(d) for d in g_off),
        nabla_b=tuple(np.asarray(g) / m for g in g_b),
        nabla_w=tuple(np.asarray(g) / m for g in g_w),
    )


@functools.lru_cache(maxsize=256)
def _compiled(names: tuple[str, ...], layers: tuple[Any, ...], cost: str) -> Callable[..., Any]:
    """jit(grad(Σ_x C_x)) with respect to (weights, biases, offsets) for one architecture."""

    def total_cost(
        ws: Sequence[jax.Array],
        bs: Sequence[jax.Array],
        offsets: Sequence[jax.Array],
        x: jax.Array,
        y: jax.Array,
    ) -> jax.Array:
        a = z = x
        for w, b, off, name, layer in zip(ws, bs, offsets, names, layers, strict=True):
            z = LAYERS[type(layer)](layer, w, b, a) + off
            a = ACTIVATIONS[name](z)
        return jnp.sum(cost_terms(cost, z, a, y))

    return jax.jit(jax.grad(total_cost, argnums=(0, 1, 2)))


def _padded(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """The net padded to :data:`SMALL`, through the one program compiled for all such nets."""
    width, m_pad, layers = SMALL["width"], SMALL["batch"], SMALL["layers"]
    dtype = params.weights[0].dtype
    sizes, m = list(arch.sizes), batch.x.shape[1]
    ws = np.zeros((layers, width, width), dtype)
    bs = np.zeros((layers, width, 1), dtype)
    codes = np.full(layers, len(ACTIVATIONS), np.int32)  # past the output: pass a^L through
    rows = np.zeros((layers, width, 1), bool)  # each layer's real neurons
    for i, (w, b, sigma) in enumerate(zip(params.weights, params.biases, arch.sigmas, strict=True)):
        ws[i, : w.shape[0], : w.shape[1]] = w
        bs[i, : b.shape[0]] = b
        codes[i] = list(ACTIVATIONS).index(sigma.name)
        rows[i, : w.shape[0]] = True
    x = np.zeros((width, m_pad), dtype)
    x[: sizes[0], :m] = batch.x
    y = np.zeros((width, m_pad), dtype)
    y[: sizes[-1], :m] = batch.y
    mask = np.zeros((width, m_pad), bool)
    mask[: sizes[-1], :m] = True
    offsets = np.zeros((layers, width, m_pad), dtype)
    cost = list(COSTS).index(arch.cost)
    g_w, g_b, g_off = _compiled_padded()(ws, bs, offsets, codes, rows, cost, x, y, mask)
    g_w, g_b, g_off = np.asarray(g_w), np.asarray(g_b), np.asarray(g_off)
    widths = sizes[1:]
    return Gradients(
        deltas=tuple(g_off[i, :n, :m] for i, n in enumerate(widths)),
        nabla_b=tuple(g_b[i, :n] / m for i, n in enumerate(widths)),
        nabla_w=tuple(g_w[i, :n, : sizes[i]] / m for i, n in enumerate(widths)),
    )


@functools.lru_cache(maxsize=1)
def _compiled_padded() -> Callable[..., Any]:
    """jit(grad(Σ_x C_x)) of a :data:`SMALL`-shaped net whose layers pick σ, and which picks its
    cost, by code."""

    def branch(name: str) -> Callable[..., tuple[jax.Array, jax.Array]]:
        act = ACTIVATIONS[name]
        if name in OUTPUT_ONLY:  # normalised over the real rows: padded ones are e^{−∞} = 0
            return lambda z_new, a, z, rows: (act(jnp.where(rows, z_new, -jnp.inf)), z_new)
        return lambda z_new, a, z, rows: (act(z_new), z_new)

    def cost_branch(name: str) -> Callable[..., jax.Array]:
        if name in LOG_SUM_EXP_COSTS:  # the log-sum-exp of the real rows only
            return lambda z, a, y, rows: cost_terms(name, jnp.where(rows, z, -jnp.inf), a, y)
        return lambda z, a, y, rows: cost_terms(name, z, a, y)

    branches = [branch(name) for name in ACTIVATIONS]
    branches.append(lambda z_new, a, z, rows: (a, z))  # past the output: pass a^L, z^L on

    def total_cost(
        ws: jax.Array,
        bs: jax.Array,
        offsets: jax.Array,
        codes: jax.Array,
        rows: jax.Array,
        cost: jax.Array,
        x: jax.Array,
        y: jax.Array,
        mask: jax.Array,
    ) -> jax.Array:
        def layer(
            carry: tuple[jax.Array, jax.Array], p: tuple[jax.Array, ...]
        ) -> tuple[tuple[jax.Array, jax.Array], None]:
            a, z = carry
            w, b, off, code, real = p
            return jax.lax.switch(code, branches, w @ a + b + off, a, z, real), None

        (a, z), _ = jax.lax.scan(layer, (x, x), (ws, bs, offsets, codes, rows))
        # padded outputs and samples: finite stand-ins, masked out of the cost
        a, z = jnp.where(mask, a, 0.5), jnp.where(mask, z, 0.0)
        out_rows = jnp.any(mask, axis=1, keepdims=True)  # the output layer's real rows
        terms = jax.lax.switch(cost, [cost_branch(c) for c in COSTS], z, a, y, out_rows)
        return jnp.sum(jnp.where(mask, terms, 0.0))

    return jax.jit(jax.grad(total_cost, argnums=(0, 1, 2)))
