"""What a case's conv network must return, by the reference's map equations, in network3.py's
layout; its bounds B; and the gradients of the classic bugs, by which a mismatch is named.

The learner's layers map onto the reference's: a ConvPoolLayer is a :class:`~reference.layers.Conv`
(σ) then a :class:`~reference.layers.MaxPool` (identity) — network3 applies σ after the pool,
which is the same map, σ being increasing — a FullyConnectedLayer a dense layer (σ), the
SoftmaxLayer a dense softmax layer under the log-likelihood. network3's dense w is (n_in, n_out)
and every b a vector: the reference's w^l transposed and b^l's column; a kernel is (F, C, k_h,
k_w) in both (a correlation, as torch's conv2d). The images are (m, C, H, W) for the learner, the
reference's maps (C, H, W, m) transposed; y the labels (m,), the reference's one-hot columns.

A bug's gradients are the reference's own backward pass (:func:`reference.backprop.backward`)
with one step of one layer type replaced by what the bug computes (the kernel not rotated,
stride 1 where it is s, δ routed to every tied maximum, …) in every layer of that type, as a
learner's bug sits in the class that every such layer is. Each bug carries the equation it
breaks; the bound it is judged within is the correct gradient's (its terms a subset or a
permutation of the correct sum's, or the same sum on other entries).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from checker.conv_cases import ConvNetCase, ConvPool, FullyConnected, Softmax
from checker.layer_reference import (
    last_positions,
    padding_ignored_input,
    route,
    route_ties,
    stride_ignored_input,
)
from errormodel.rounding import ErrorScales, error_scales
from reference import Architecture, Batch, Params, make_case
from reference.backprop import backward, forward_backward
from reference.forward import Forward, feedforward
from reference.gradients import Gradients
from reference.layers import Conv, Layer, MaxPool
from reference.map_equations import max_pool_positions, windows
from reference.types import Array

#: The kinds of the learner's layers, as findings name them (``BP2 (conv 1)``).
KIND = {ConvPool: "conv", FullyConnected: "dense", Softmax: "dense"}


def architecture(case: ConvNetCase) -> Architecture:
    """The reference's record of the case's net: each ConvPool a Conv and a MaxPool."""
    sizes: list[Any] = [case.image]
    names: list[str] = []
    for layer in case.layers:
        if isinstance(layer, ConvPool):
            sizes += [Conv(layer.filters, layer.kernel, layer.stride, layer.padding)]
            sizes += [MaxPool(layer.pool)]
            names += [case.activation, "identity"]
        else:
            sizes.append(layer.n_out)
            names.append("softmax" if isinstance(layer, Softmax) else case.activation)
    return Architecture(
        tuple(sizes), tuple(names), "log_likelihood", batch=case.batch, seed=case.seed
    )


def parameter_layers(case: ConvNetCase) -> list[int]:
    """The index, among the reference's layers, of each learner layer's parameters (a
    ConvPool's convolution)."""
    at, index = [], 0
    for layer in case.layers:
        at.append(index)
        index += 2 if isinstance(layer, ConvPool) else 1
    return at


def case_data(case: ConvNetCase) -> tuple[Architecture, Params, Batch]:
    """The seeded parameters and mini-batch (``make_case``'s); a ``ties`` case's input and
    first kernel are small integers instead (0…2 and −1…1), so the first convolution's z are
    exact integers and many pool windows tie."""
    arch = architecture(case)
    params, batch = make_case(arch)
    if case.ties:
        rng = np.random.default_rng((25, case.seed))
        x = rng.integers(0, 3, batch.x.shape).astype(np.float64)
        w = list(params.weights)
        w[0] = rng.integers(-1, 2, w[0].shape).astype(np.float64)
        params, batch = Params(tuple(w), params.biases), Batch(x, batch.y)
    return arch, params, batch


def learner_params(case: ConvNetCase, params: Params) -> list[Array]:
    """w, b of each learner layer in network3's shapes, in order: [w_1, b_1, w_2, b_2, …]."""
    out = []
    for layer, i in zip(case.layers, parameter_layers(case), strict=True):
        w, b = params.weights[i], params.biases[i][:, 0]
        out += [w if isinstance(layer, ConvPool) else w.T, b]
    return [np.ascontiguousarray(a) for a in out]


def learner_batch(batch: Batch) -> tuple[Array, Array]:
    """The images (m, C, H, W) and the labels (m,), as network3 takes them."""
    x = np.ascontiguousarray(np.moveaxis(batch.x, -1, 0))
    return x, batch.y.argmax(axis=0).astype(np.int64)


@dataclass(frozen=True)
class NetGradients:
    """Per learner layer, ∂C/∂b and ∂C/∂w in network3's shapes."""

    nabla_b: tuple[Array, ...]
    nabla_w: tuple[Array, ...]

    def get(self, quantity: str, layer: int) -> Array:
        """``nabla_b`` or ``nabla_w`` of learner layer ``layer`` (1-based)."""
        return (self.nabla_b if quantity == "nabla_b" else self.nabla_w)[layer - 1]


def in_learner_layout(case: ConvNetCase, grads: Gradients) -> NetGradients:
    """The reference's gradients, read at each learner layer's parameters, in its shapes."""
    b, w = [], []
    for layer, i in zip(case.layers, parameter_layers(case), strict=True):
        b.append(grads.nabla_b[i][:, 0])
        w.append(grads.nabla_w[i] if isinstance(layer, ConvPool) else grads.nabla_w[i].T)
    return NetGradients(tuple(b), tuple(w))


@dataclass(frozen=True)
class Bug:
    """One classic bug: the equation it breaks (BP2, BP3, BP4, FORWARD), the kind of layer whose
    step it replaces (``conv``, ``pool``), the cause in words, and the step (the layer, and
    the step's arguments → what the bug computes)."""

    label: str
    kind: str
    cause: str
    step: Callable[..., Array]
    applies: Callable[[Layer], bool] = lambda layer: True


@dataclass(frozen=True)
class Variant:
    """A learner whose classes hold ``bugs``: its gradients."""

    bugs: tuple[Bug, ...]
    grads: NetGradients


class _Bugged:
    """A reference layer with one or more of its backward steps replaced (the rest its own)."""

    def __init__(self, layer: Layer, bugs: tuple[Bug, ...]) -> None:
        self.layer = layer
        self.steps = {b.label: b.step for b in bugs if b.applies(layer)}

    def backpropagate_error(self, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
        step = self.steps.get("BP2")
        if step is None:
            return self.layer.backpropagate_error(w, delta, a_prev, sp)
        return step(self.layer, w, delta, a_prev, sp)

    def bias_gradient(self, delta: Array) -> Array:
        step = self.steps.get("BP3")
        return self.layer.bias_gradient(delta) if step is None else step(self.layer, delta)

    def weight_gradient(self, delta: Array, a_prev: Array) -> Array:
        step = self.steps.get("BP4")
        if step is None:
            return self.layer.weight_gradient(delta, a_prev)
        return step(self.layer, delta, a_prev)


def _is(kind: type) -> Callable[[Layer], bool]:
    return lambda layer: isinstance(layer, kind)


def _strided(layer: Layer) -> bool:
    return isinstance(layer, Conv) and layer.stride > 1


def _padded(layer: Layer) -> bool:
    return isinstance(layer, Conv) and layer.padding > 0


def _flip(w: Array) -> Array:
    return w[:, :, ::-1, ::-1]


def _pool_route(at: Callable[[Array, int, int], Array]) -> Callable[..., Array]:
    def step(layer: MaxPool, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
        k, s = layer.window, layer.step
        return route(a_prev, delta, k, s, at(a_prev, k, s)) * sp

    return step


def _every_tie(layer: MaxPool, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
    return route_ties(a_prev, delta, layer.window, layer.step) * sp


def _whole_window(layer: MaxPool, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
    """Each window's δ to every position of the window (the mask of the maximum left out), times
    σ' of the window's maximum: network3 applies σ after the pool, so its σ' is the pooled z's."""
    k, s = layer.window, layer.step
    at = np.asarray(max_pool_positions(a_prev, k, s), dtype=np.intp)
    patches = windows(sp, (k, k), s)
    flat = patches.reshape(*patches.shape[:4], k * k)
    pooled_prime = np.take_along_axis(flat, at[..., None], axis=-1)[..., 0]
    spread = np.zeros_like(a_prev)
    _, h_out, w_out, _ = delta.shape
    for u in range(k):
        for v in range(k):
            spread[:, u : u + s * h_out : s, v : v + s * w_out : s] += delta * pooled_prime
    return spread


def _bias_mean(layer: Conv, delta: Array) -> Array:
    _, h, w, _ = delta.shape
    return layer.bias_gradient(delta) / (h * w)


def _bias_one(layer: Conv, delta: Array) -> Array:
    return delta[:, 0, 0, :].mean(axis=-1)[:, None]


def _unstrided_bp2(layer: Conv, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
    """BP2 stepping by 1 where the layer steps by s."""
    return dataclasses.replace(layer, stride=1).backpropagate_error(w, delta, a_prev, sp)


def _unpadded_bp2(layer: Conv, w: Array, delta: Array, a_prev: Array, sp: Array) -> Array:
    """BP2 with the padded input's δ not shifted back by p."""
    return dataclasses.replace(layer, padding=0).backpropagate_error(w, delta, a_prev, sp)


def _reading(
    input_of: Callable[[Conv, Array], tuple[Conv, Array]],
) -> Callable[..., Array]:
    def step(layer: Conv, delta: Array, a_prev: Array) -> Array:
        lay, seen = input_of(layer, a_prev)
        return lay.weight_gradient(delta, seen)

    return step


CONV, POOL = _is(Conv), _is(MaxPool)
KERNEL_NOT_FLIPPED = Bug(
    "BP2",
    "conv",
    "kernel not flipped",
    lambda lay, w, d, a, sp: lay.backpropagate_error(_flip(w), d, a, sp),
    CONV,
)
BP2_STRIDE = Bug("BP2", "conv", "stride ignored", _unstrided_bp2, _strided)
BP2_PADDING = Bug(
    "BP2",
    "conv",
    "padding ignored: δ of the padded input not shifted back by the padding",
    _unpadded_bp2,
    _padded,
)
BP3_MEAN = Bug("BP3", "conv", "bias gradient averaged over positions, not summed", _bias_mean, CONV)
BP3_ONE = Bug(
    "BP3", "conv", "bias gradient from one position, not summed over positions", _bias_one, CONV
)
BP4_FLIPPED = Bug(
    "BP4",
    "conv",
    "kernel flipped in ∂C/∂w (a convolution of a with δ, not a correlation)",
    lambda lay, d, a: _flip(lay.weight_gradient(d, a)),
    CONV,
)
BP4_STRIDE = Bug("BP4", "conv", "stride ignored", _reading(stride_ignored_input), _strided)
BP4_PADDING = Bug(
    "BP4",
    "conv",
    "padding ignored: windows taken from a, not the padded a",
    _reading(padding_ignored_input),
    _padded,
)
EVERY_TIE = Bug("BP2", "pool", "δ routed to every tied maximum", _every_tie, POOL)
LAST_TIE = Bug(
    "BP2",
    "pool",
    "δ routed to the last of tied maxima (the reference, like torch and XLA, routes it to the "
    "first in row-major order)",
    _pool_route(last_positions),
    POOL,
)
WHOLE_WINDOW = Bug(
    "BP2",
    "pool",
    "δ routed to every position of its window, not to its maximum",
    _whole_window,
    POOL,
)
#: The forward's bug: a convolution where the layer correlates (theano's conv2d in network3).
FORWARD_FLIPPED = Bug(
    "FORWARD",
    "conv",
    "kernel flipped in the forward: a convolution where the layer correlates (torch's conv2d "
    "and the reference do; theano's conv2d, network3's, flips the kernel)",
    lambda *args: np.zeros(0),
    CONV,
)

#: The bugs a mismatch is named by: each alone, then those that sit in one line of code for
#: both steps (a backward pass that ignores the stride, or the padding, throughout).
BUGS: tuple[tuple[Bug, ...], ...] = (
    (KERNEL_NOT_FLIPPED,),
    (BP2_STRIDE,),
    (BP2_PADDING,),
    (BP3_MEAN,),
    (BP3_ONE,),
    (BP4_FLIPPED,),
    (BP4_STRIDE,),
    (BP4_PADDING,),
    (EVERY_TIE,),
    (LAST_TIE,),
    (WHOLE_WINDOW,),
    (FORWARD_FLIPPED,),
    (BP2_STRIDE, BP4_STRIDE),
    (BP2_PADDING, BP4_PADDING),
)


@dataclass(frozen=True)
class Expected:
    """One case: the reference's gradients (network3's layout), their bounds B per (quantity,
    learner layer), and the variants that differ from them on this case."""

    grads: NetGradients
    scales: dict[tuple[str, int], float]
    variants: tuple[Variant, ...]


def expected(case: ConvNetCase) -> Expected:
    """The reference's gradients of the case, their B, and every bug's that differs."""
    arch, params, batch = case_data(case)
    computed = forward_backward(arch, params, batch.x, batch.y)
    rounding = error_scales(arch, params, batch, np.float64, numerical=False, computed=computed)
    right = in_learner_layout(case, computed[1])
    variants = []
    for bugs in BUGS:
        grads = bugged(case, arch, params, batch, computed[0], bugs)
        if not _same(grads, right):
            variants.append(Variant(bugs, grads))
    return Expected(right, _learner_scales(case, rounding), tuple(variants))


def bugged(
    case: ConvNetCase,
    arch: Architecture,
    params: Params,
    batch: Batch,
    fwd: Forward,
    bugs: tuple[Bug, ...],
) -> NetGradients:
    """The gradients of a learner whose classes hold ``bugs``, in network3's layout."""
    if bugs == (FORWARD_FLIPPED,):
        flipped = [
            _flip(w) if isinstance(ly, Conv) else w
            for ly, w in zip(arch.layers, params.weights, strict=True)
        ]
        turned = Params(tuple(flipped), params.biases)
        fwd = feedforward(turned, arch.sigmas, batch.x, arch.layers)
        grads = backward(arch.sigmas, arch.cost_object, turned, fwd, batch.y, arch.layers)
        got = in_learner_layout(case, grads)
        w = [
            _flip(g) if isinstance(ly, ConvPool) else g
            for ly, g in zip(case.layers, got.nabla_w, strict=True)
        ]
        return NetGradients(got.nabla_b, tuple(w))
    layers = [cast(Layer, _Bugged(layer, bugs)) for layer in arch.layers]
    grads = backward(arch.sigmas, arch.cost_object, params, fwd, batch.y, layers)
    return in_learner_layout(case, grads)


def _same(a: NetGradients, b: NetGradients) -> bool:
    return all(
        x.shape == y.shape and np.array_equal(x, y)
        for x, y in zip(a.nabla_b + a.nabla_w, b.nabla_b + b.nabla_w, strict=True)
    )


def _learner_scales(case: ConvNetCase, rounding: ErrorScales) -> dict[tuple[str, int], float]:
    """B of each learner layer's ∂C/∂b and ∂C/∂w: the reference's of its parameter layer."""
    return {
        (q, k): rounding.rounding[q, i + 2]
        for k, i in enumerate(parameter_layers(case), start=1)
        for q in ("nabla_b", "nabla_w")
    }
