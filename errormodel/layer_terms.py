"""The error model's per-layer terms: what the running bound, the FD truncation jet and the
complex step's underflow need of one layer type, in units of ε (:mod:`errormodel.rounding`'s
docstring derives them). One record per layer type in :data:`LAYER_TERMS`; the dense layer's
(z^l = w^l a^{l−1} + b^l) are products with |w^l| and (|w^l|)ᵀ:

- forward: the rounding committed in z^l, (n_{l−1} + 1)(|w^l||a^{l−1}| + |b^l|), and how an
  error e of a^{l−1} reaches z^l, |w^l| e;
- backward (BP2 through layer l), p = (w^l)ᵀ δ^l: |p| and the bound on its error,
  n_l|w^l|ᵀ|δ^l| + |w^l|ᵀ β^l + |p|;
- BP3, BP4: mean_x β^l + m·mean_x |δ^l| + |∂C/∂b^l| and
  (β^l |a^{l−1}|ᵀ + |δ^l| (α^{l−1})ᵀ + m·|δ^l||a^{l−1}|ᵀ) / m + |∂C/∂w^l|;
- the FD jet: c ← |w^l| a per jet order; a parameter's step moves z^l by h (b^l_j) or by
  h·a^{l−1}_k (w^l_jk), so the third derivative in a weight is F3·|a^{l−1}_k|³;
- the complex step: η at a^{l−1}_k moves C_x by ((|w^l|)ᵀ|δ^l|)_k; z^l_j takes n_{l−1} + 2
  operations.

Every function takes the layer first, then the arrays it reads, so a layer type without weights
(a pooling layer: empty w and b) has its own entry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from reference.gradients import QUANTITIES
from reference.layers import Conv, Dense, Layer, MaxPool
from reference.types import Array

Index = np.ndarray[Any, np.dtype[np.intp]]
#: Flat parameter indices p (P of them) ↦ where each one's unit step moves z^l, (P, *z^l.shape).
Directions = Callable[[Index], Array]


@dataclass(frozen=True)
class LayerTerms:
    """The error model's terms of one layer type l (fed by a^{l−1}, with parameters w, b)."""

    #: (layer, w, b, |a^{l−1}|, tiny) → the rounding of z^l's own computation (ζ^l's local part).
    forward: Callable[[Layer, Array, Array, Array, float], Array]
    #: (layer, w, e) → how an error e of a^{l−1} (shaped like it) bounds z^l's: |∂z^l/∂a^{l−1}| e.
    carry: Callable[[Layer, Array, Array], Array]
    #: (layer, w, δ^l, |δ^l|, β^l, a^{l−1}, tiny) → (|p|, the bound on p's error), p the
    #: (∂z^l/∂a^{l−1})ᵀ δ^l of BP2.
    backward: Callable[[Layer, Array, Array, Array, Array, Array, float], tuple[Array, Array]]
    #: (layer, β^l, |δ^l|, |a^{l−1}|, α^{l−1}, ∂C/∂b^l, ∂C/∂w^l) → the componentwise bounds of
    #: ∂C/∂b^l and ∂C/∂w^l (BP3, BP4), before the m·tiny of the batch mean.
    gradients: Callable[[Layer, Array, Array, Array, Array, Array, Array], tuple[Array, Array]]
    #: (layer, w, jet) → each order of a jet stack (P, n_{l−1}, m) carried to z^l in absolute
    #: values: |∂z^l/∂a^{l−1}| applied per perturbation.
    jet: Callable[[Layer, Array, tuple[Array, ...]], tuple[Array, ...]]
    #: (layer, |a^{l−1}|) → the largest multiple of the step h by which one parameter's step
    #: moves an entry of z^l.
    fd_reach: Callable[[Layer, Array], float]
    #: (layer, F3, |a^{l−1}|) → the third derivatives in b^l and w^l from F3 (n_l, m), the one
    #: in z^l's rows per sample.
    fd_parameters: Callable[[Layer, Array, Array], tuple[Array, Array]]
    #: (layer, w, |δ^l|) → how η at a^{l−1} moves C_x, per element of a^{l−1} and sample.
    cs_back: Callable[[Layer, Array, Array], Array]
    #: (layer, w) → the operations that compute one element of z^l.
    cs_operations: Callable[[Layer, Array], int]
    #: (layer, |a^{l−1}|, z^l's shape) → |∂z^l/∂θ| of b^l's and of w^l's parameters, two
    #: :data:`Directions` (flat parameter indices p ↦ a stack (P, *z^l.shape)): where one
    #: parameter's unit step moves z^l, the start of its FD jet in a net with feature maps (a
    #: dense-only net starts from rows, ``fd_parameters``).
    fd_directions: Callable[[Layer, Array, tuple[int, ...]], tuple[Directions, Directions]]


def _dense_forward(layer: Layer, w: Array, b: Array, abs_a_prev: Array, tiny: float) -> Array:
    """The rounding committed in z^l = w^l a^{l−1} + b^l, a length-n_{l−1} dot product and a sum
    per element: (n_{l−1} + 1)(|w^l||a^{l−1}| + |b^l|), each operation's tiny included."""
    return (w.shape[1] + 1) * (np.abs(w) @ _columns(abs_a_prev) + np.abs(b) + tiny)


def _dense_carry(layer: Layer, w: Array, error: Array) -> Array:
    """|w^l| e."""
    return np.abs(w) @ _columns(error)


def _columns(a: Array) -> Array:
    """Feature maps (C, H, W, m) as the columns (C·H·W, m) a dense layer reads; columns as they
    are."""
    return a if a.ndim == 2 else a.reshape(-1, a.shape[-1])


def _dense_backward(
    layer: Layer,
    w: Array,
    delta: Array,
    abs_delta: Array,
    beta: Array,
    a_prev: Array,
    tiny: float,
) -> tuple[Array, Array]:
    """p = (w^l)ᵀ δ^l: |p| and n_l|w^l|ᵀ|δ^l| + |w^l|ᵀ β^l + |p| (+ tiny)."""
    absw = np.abs(w)
    p = np.abs(w.T @ delta)
    bound = absw.shape[0] * (absw.T @ abs_delta) + absw.T @ beta + p + tiny
    if a_prev.ndim > 2:  # fed by maps: p and its bound in the maps' shape
        return p.reshape(a_prev.shape), bound.reshape(a_prev.shape)
    return p, bound


def _dense_gradients(
    layer: Layer,
    beta: Array,
    abs_delta: Array,
    abs_a_prev: Array,
    alpha_prev: Array,
    nabla_b: Array,
    nabla_w: Array,
) -> tuple[Array, Array]:
    """BP3: mean_x β + m·mean_x |δ| + |∂C/∂b|; BP4: (β|a|ᵀ + |δ|αᵀ + m|δ||a|ᵀ) / m + |∂C/∂w|."""
    m = abs_delta.shape[1]
    abs_a_prev, alpha_prev = _columns(abs_a_prev), _columns(alpha_prev)
    bias = beta.mean(axis=1) + m * abs_delta.mean(axis=1) + np.abs(nabla_b[:, 0])
    weight = (beta @ abs_a_prev.T + abs_delta @ alpha_prev.T + m * abs_delta @ abs_a_prev.T) / m
    return bias, weight + np.abs(nabla_w)


def _dense_jet(layer: Layer, w: Array, jet: tuple[Array, ...]) -> tuple[Array, ...]:
    """c ← |w^l| a for each order, per perturbation (leading axis; maps read flattened)."""
    absw = np.abs(w)
    return tuple(
        np.einsum("ab,jbx->jax", absw, a.reshape(a.shape[0], -1, a.shape[-1])) for a in jet
    )


def _dense_fd_reach(layer: Layer, abs_a_prev: Array) -> float:
    """b^l_j moves z^l_j by h, w^l_jk by h·a^{l−1}_k."""
    return max(1.0, abs_a_prev.max())


def _dense_fd_parameters(layer: Layer, third: Array, abs_a_prev: Array) -> tuple[Array, Array]:
    """b^l_j: the batch mean of row j's; w^l_jk: the mean of row j's times |a^{l−1}_k|³."""
    return third.mean(axis=1), third @ abs_a_prev.T**3 / third.shape[1]


def _dense_cs_back(layer: Layer, w: Array, abs_delta: Array) -> Array:
    """(|w^l|)ᵀ |δ^l|."""
    return np.abs(w).T @ abs_delta


def _dense_cs_operations(layer: Layer, w: Array) -> int:
    """n_{l−1} products and sums, the bias and σ's argument: n_{l−1} + 2."""
    return int(w.shape[1]) + 2


def dense_directions(a_prev: Array, z_shape: tuple[int, ...]) -> tuple[Directions, Directions]:
    """Where a dense layer's parameters move z^l (n, m), for the parameter indices p: b^l_j moves
    row j of every sample by 1; w^l_jk moves row j of sample x by a^{x,l−1}_k (``a_prev``, maps
    read as columns). The finite-difference oracle moves by a^{l−1} itself, its jet by |a^{l−1}|
    (:func:`_dense_fd_directions`)."""
    n, m = z_shape
    flat = _columns(a_prev)

    def bias(p: Index) -> Array:
        move = np.zeros((len(p), n, m))
        move[np.arange(len(p)), p] = 1.0
        return move

    def weight(p: Index) -> Array:
        j, k = np.divmod(p, flat.shape[0])
        move = np.zeros((len(p), n, m))
        move[np.arange(len(p)), j] = flat[k]
        return move

    return bias, weight


def _dense_fd_directions(
    layer: Layer, abs_a_prev: Array, z_shape: tuple[int, ...]
) -> tuple[Directions, Directions]:
    """The dense directions with |a^{l−1}| (:func:`dense_directions`)."""
    return dense_directions(abs_a_prev, z_shape)


# --- Feature maps: a layer's own maps applied to absolute values ------------------------------
# A convolution is linear in a^{l−1} and in w^l, so the dense layer's products with |w^l| and
# (|w^l|)ᵀ become the layer's own forward map and BP2 applied to |w^l| and to absolute values (a
# correlation with |w| and a full correlation with the flipped |w|), BP3 and BP4 its sums over
# positions, and n_{l−1} its K = C_in·k_h·k_w: each output is a K-term dot product, each element
# of BP2's product sums at most C_out·k_h·k_w terms, a parameter's gradient P·m (P positions). A
# max-pool rounds nothing: an error e of a^{l−1} moves each window's max by at most the window's
# max of e (its forward map applied to e), and BP2 routes errors as it routes δ (a tie is a kink,
# outside the model). The FD jet through a map layer is its forward map on the jet's absolute
# values: a convolution's |w^l| ⋆ c (linear, so no σ-like terms of its own: its second and third
# derivatives come from the activations only), a max-pool's window max of c (away from a kink the
# max selects one entry, whose jet is at most the window's largest). A parameter's step moves z^l
# along |∂z^l/∂θ| (``fd_directions``: 1 at every position of map o for b^l_o, the window values
# |â^{l−1}_{c,s·i+u,s·j+v}| for w^l_{o,c,u,v}). The complex step's η at a^{l−1} moves C_x by
# BP2(|w^l|, |δ^l|) (a pool: every window's |δ| to every entry of it, route-free), and one
# element of z^l takes K + 2 operations (a pool: 1, a selection).


def _map_forward(layer: Layer, w: Array, b: Array, abs_a_prev: Array, tiny: float) -> Array:
    """(K + 1)(|w^l| ⋆ |a^{l−1}| + |b^l|): K-term dot products and a bias, each with its tiny."""
    return (layer.fan_in + 1) * (layer.forward(np.abs(w), np.abs(b), abs_a_prev) + tiny)


def _map_carry(layer: Layer, w: Array, error: Array) -> Array:
    """|w^l| ⋆ e (for a pool: the window's max of e)."""
    return layer.forward(np.abs(w), np.zeros(layer.bias_shape), error)


def _map_backward(
    layer: Layer,
    w: Array,
    delta: Array,
    abs_delta: Array,
    beta: Array,
    a_prev: Array,
    tiny: float,
) -> tuple[Array, Array]:
    """p = BP2(w^l, δ^l) with σ' = 1: |p| and N·BP2(|w|, |δ^l|) + BP2(|w|, β^l) + |p| (+ tiny)."""
    ones = np.ones_like(a_prev)
    absw = np.abs(w)
    p = np.abs(layer.backpropagate_error(w, delta, a_prev, ones))
    spread = layer.backpropagate_error(absw, abs_delta, a_prev, ones)
    carried = layer.backpropagate_error(absw, beta, a_prev, ones)
    return p, _back_terms(layer) * spread + carried + p + tiny


def _back_terms(layer: Layer) -> int:
    """N: the terms each element of BP2's product sums (C_out·k_h·k_w; for a pool, the windows
    that can share a position)."""
    if isinstance(layer, Conv):
        return layer.maps * math.prod(layer.kernel_size)
    assert isinstance(layer, MaxPool)
    return math.ceil(layer.window / layer.step) ** 2


def _map_gradients(
    layer: Layer,
    beta: Array,
    abs_delta: Array,
    abs_a_prev: Array,
    alpha_prev: Array,
    nabla_b: Array,
    nabla_w: Array,
) -> tuple[Array, Array]:
    """BP3: BP3(β) + P·m·BP3(|δ|) + |∂C/∂b|; BP4: BP4(β, |a|) + BP4(|δ|, α) + P·m·BP4(|δ|, |a|)
    + |∂C/∂w| (P positions per map, each sum's P·m tiny); empty for a pool."""
    if layer.weight_shape == (0,):
        return np.zeros(0), np.zeros(0)
    tiny = float(np.finfo(np.float64).tiny)
    sums = math.prod(layer.out_shape[1:]) * abs_delta.shape[-1]
    bias = layer.bias_gradient(beta) + sums * layer.bias_gradient(abs_delta) + np.abs(nabla_b)
    weight = (
        layer.weight_gradient(beta, abs_a_prev)
        + layer.weight_gradient(abs_delta, alpha_prev)
        + sums * layer.weight_gradient(abs_delta, abs_a_prev)
        + np.abs(nabla_w)
    )
    return bias + sums * tiny, weight + sums * tiny


def _map_jet(layer: Layer, w: Array, jet: tuple[Array, ...]) -> tuple[Array, ...]:
    """c ← |w^l| ⋆ c (a pool: the window's max of c) for each order, per perturbation."""
    return tuple(_per_perturbation(lambda c: _map_carry(layer, w, c), a) for a in jet)


def _per_perturbation(fn: Callable[[Array], Array], stack: Array) -> Array:
    """fn on maps (C, H, W, m) applied to a stack (P, C, H, W, m): the stack rides the sample
    axis."""
    p, m = stack.shape[0], stack.shape[-1]
    out = fn(np.moveaxis(stack, 0, -1).reshape(*stack.shape[1:-1], m * p))
    return np.moveaxis(out.reshape(*out.shape[:-1], m, p), -1, 0)


def _map_cs_back(layer: Layer, w: Array, abs_delta: Array) -> Array:
    """BP2(|w^l|, |δ^l|) with σ' = 1; for a pool, every window's |δ| to each of its entries."""
    assert isinstance(layer, Conv | MaxPool) and layer.in_shape is not None
    ones = np.ones((*layer.in_shape, abs_delta.shape[-1]))
    if isinstance(layer, Conv):
        return layer.backpropagate_error(np.abs(w), abs_delta, ones, ones)
    k, s = layer.window, layer.step
    _, h, w_out, _ = abs_delta.shape
    spread = np.zeros_like(ones)
    for u in range(k):
        for v in range(k):
            spread[:, u : u + s * h : s, v : v + s * w_out : s] += abs_delta
    return spread


def _map_cs_operations(layer: Layer, w: Array) -> int:
    """K products and sums, the bias and σ's argument: K + 2; a pool selects: 1."""
    return layer.fan_in + 2 if isinstance(layer, Conv) else 1


def _map_fd_directions(
    layer: Layer, abs_a_prev: Array, z_shape: tuple[int, ...]
) -> tuple[Directions, Directions]:
    """|∂z^l/∂b^l_o| (1 on map o) and |∂z^l/∂w^l_{o,c,u,v}| (|â_{c,s·i+u,s·j+v}| on map o)."""
    if not isinstance(layer, Conv):
        return _no_directions, _no_directions
    c_out, c_in, k_h, k_w = layer.weight_shape
    windows = np.empty((c_in, k_h, k_w, *z_shape[1:]))
    for c, u, v in np.ndindex(c_in, k_h, k_w):
        unit = np.zeros((1, c_in, k_h, k_w))
        unit[0, c, u, v] = 1.0
        windows[c, u, v] = layer.forward(unit, np.zeros((1, 1)), abs_a_prev)[0]

    def bias(p: Index) -> Array:
        move = np.zeros((len(p), *z_shape))
        move[np.arange(len(p)), p] = 1.0
        return move

    def weight(p: Index) -> Array:
        o, c, u, v = np.unravel_index(p, (c_out, c_in, k_h, k_w))
        move = np.zeros((len(p), *z_shape))
        move[np.arange(len(p)), o] = windows[c, u, v]  # â_{c,s·i+u,s·j+v} at each (i, j)
        return move

    return bias, weight


def _no_directions(p: Index) -> Array:
    raise NotImplementedError("a max-pool has no parameters to move z^l")


def _not_written(*args: object) -> Any:
    """A dense-only term of a map layer: in a net with maps the FD jet starts from
    ``fd_directions``, so the rows' reach and parameters are not asked of a map layer."""
    raise NotImplementedError(
        f"{type(args[0]).__name__} has no row terms: its FD jet starts from fd_directions"
    )


#: Map nets whose FD and complex-step terms (and oracles) run every perturbation: each element of
#: every map z^l and each parameter of a map layer is one pass of the layers after it (the jet
#: here, the oracles' differences and tangents). A net needing more (the LeNet-like net: 38,160)
#: is judged on a sample (:func:`map_sample`): measured, README "Convolution and max-pooling".
MAP_PERTURBATIONS = 4096
#: In a net over :data:`MAP_PERTURBATIONS`, the elements judged of each δ^l, ∂C/∂b^l and ∂C/∂w^l
#: (a quantity with no more is judged whole).
MAP_SAMPLE = 64
#: The sample's seed: fixed, so every run, oracle and error model judges the same elements.
MAP_SAMPLE_SEED = 25


def map_perturbations(layers: Sequence[Layer]) -> int:
    """The perturbations a map net's numerical oracles would run to judge every element: elements
    and parameters of its map layers (0 for a dense-only net)."""
    return sum(
        math.prod(layer.out_shape) + math.prod(layer.weight_shape) + math.prod(layer.bias_shape)
        for layer in layers
        if isinstance(layer, Conv | MaxPool)
    )


def map_sample(layers: Sequence[Layer]) -> dict[tuple[str, int], Index]:
    """The elements judged of each sampled (quantity, layer l), as sorted flat indices: of one
    sample's z^l for δ^l (judged in every sample: one perturbation moves element e of each), of
    b^l or w^l for ∂C/∂b^l, ∂C/∂w^l. A quantity not in it is judged whole; so is every quantity
    of a net within :data:`MAP_PERTURBATIONS` (an empty dict). Over it, each quantity of more
    than :data:`MAP_SAMPLE` elements, of any layer (the dense ones' perturbations are cheaper,
    not free: the LeNet-like net's w^6 has 64,000), keeps that many, drawn without replacement by
    a generator seeded with (:data:`MAP_SAMPLE_SEED`, l, its size n): a dense layer's δ^l and
    ∂C/∂b^l (n_l elements each; the oracles take ∂C/∂b^l as the batch mean of δ^l's rows) are
    judged at the same rows."""
    if map_perturbations(layers) <= MAP_PERTURBATIONS:
        return {}
    found: dict[tuple[str, int], Index] = {}
    for book, layer in enumerate(layers, start=2):
        sizes = (layer.out_shape, layer.bias_shape, layer.weight_shape)
        for quantity, shape in zip(QUANTITIES, sizes, strict=True):
            n = math.prod(shape)
            if n > MAP_SAMPLE:
                rng = np.random.default_rng((MAP_SAMPLE_SEED, book, n))
                found[quantity, book] = np.sort(rng.choice(n, MAP_SAMPLE, replace=False))
    return found


#: Per layer type, the error model's terms (module docstring).
LAYER_TERMS: dict[type, LayerTerms] = {
    Dense: LayerTerms(
        _dense_forward,
        _dense_carry,
        _dense_backward,
        _dense_gradients,
        _dense_jet,
        _dense_fd_reach,
        _dense_fd_parameters,
        _dense_cs_back,
        _dense_cs_operations,
        _dense_fd_directions,
    ),
    **{
        kind: LayerTerms(
            _map_forward,
            _map_carry,
            _map_backward,
            _map_gradients,
            _map_jet,
            _not_written,
            _not_written,
            _map_cs_back,
            _map_cs_operations,
            _map_fd_directions,
        )
        for kind in (Conv, MaxPool)
    },
}


def layer_terms(layer: object) -> LayerTerms:
    """The layer type's entry of :data:`LAYER_TERMS`; a KeyError naming the type if none."""
    if type(layer) not in LAYER_TERMS:
        raise KeyError(
            f"no error model for layer type {type(layer).__name__}: add its LAYER_TERMS entry"
        )
    return LAYER_TERMS[type(layer)]
