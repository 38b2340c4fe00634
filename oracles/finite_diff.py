"""Central finite differences of the reference's cost: no derivative formula at all.

Every quantity is a directional derivative of the cost along a change of one weighted-input row:
perturbing w^l_jk by h adds h·a^{l−1}_k to row j of z^l, b^l_j adds h to row j, and the entry
z^{x,l}_j itself is perturbed directly for δ. Only row j of z^l and of a^l changes, so layer l+1
changes by the outer product w^{l+1}[:, j] Δa^l_j, and each later layer by w Δa: the perturbed
network is the unperturbed one plus these changes (exact algebra, not a derivative). All
perturbations of a layer run at once as an extra array axis, in chunks of bounded memory. A softmax
output is the exception: moving z^L_j moves every a^L_k, so the output layer's whole column is
re-evaluated (it is the last layer: nothing after it needs carrying).

The step h: a central difference errs by truncation ≈ h²|f'''|/6 and by rounding ≈ ε|C|/h, so
the best h is ~ (3ε|C|/|f'''|)^{1/3} ≈ ε^{1/3} ≈ 6e-6 for |C|, |f'''| ~ 1. :data:`FD_STEP` is that
order; :mod:`errormodel.rounding` bounds the same two terms for the allowed error. Always float64:
a float32 central difference has ε^{2/3} ≈ 2e-5 relative error at best, too coarse to judge by.

Per layer type, :data:`LAYERS` says which rows of z^l a parameter moves and how a change of
a^{l−1} moves z^l (a dense layer: w^l Δa^{l−1}, and w^l[:, j] Δa^{l−1}_j for one row j).

Feature maps (:func:`map_differences`): a perturbation is a whole change h·v of z^l (P of them
as the leading axis of (P, *z^l.shape) stacks, all samples at once: C_x reads column x only, so
each sample's own difference is its slope). δ^{x,l}_e: v the unit at element e of every sample;
b^l_o and w^l_{o,c,u,v} of a convolution: v = ∂z^l/∂θ
(:func:`oracles.map_stacks.parameter_directions`: 1 at every position of map o, or the window
values â^{l−1}_{c,s·i+u,s·j+v} there). Later layers carry only the change, per layer type
(:class:`LayerDifferences`' ``carry``): a convolution's Δz = w ⋆ Δâ (linear, no bias), a dense
layer's w Δa (maps read flattened), a max-pool's max(a + Δa) − max(a) over each window. A net
over the budget of perturbations runs those of its seeded sample only (:mod:`oracles.map_stacks`).

Kinks: σ' of relu and leaky_relu jumps at z = 0, so a difference whose ±h evaluations put some
pre-activation of such a layer on another side of 0 (z ≤ 0 or z > 0) than the unperturbed one
measures a mix of two slopes, wrong by construction. :func:`differences` marks those elements;
the gate excludes and counts them rather than widening any tolerance. A max-pool is a kink too:
its derivative jumps where a window's maximum moves to another entry, so a difference whose ±h
evaluations change some window's argmax (the first maximum in row-major order, as the reference
routes; a tied window's is moved by any step that separates the tie) is marked the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from errormodel.layer_terms import dense_directions, map_sample
from oracles import Output, get_oracle, layer_ops, map_stacks
from reference import Architecture, Batch, Gradients, Params
from reference.activations import ACTIVATION_INFO, KINKED, OUTPUT_ONLY, Activation
from reference.costs import Cost
from reference.forward import Forward, feedforward
from reference.layers import Conv, Dense, Layer, MaxPool
from reference.types import Array, Mask

#: The central-difference step, ≈ ε^{1/3} for float64 (see the module docstring).
#: 2^-17 ≈ 7.6e-6 on its registry record: a power of two, so ±h is exact relative to the values
#: it is added to.
FD_STEP = get_oracle("fd").step
#: Upper bound on the bytes of one array of a chunk of perturbations (a dozen live at once). Small
#: enough to stay in cache and in glibc's heap, large enough that NumPy's per-call overhead stays
#: small (its measurement: README.md, "Measured figures").
CHUNK_BYTES = 2**17
#: Per activation: whether its σ' jumps at z = 0 (the activation's record says).
KINKS = {name: info.kinked for name, info in ACTIVATION_INFO.items()}

Index = np.ndarray[Any, np.dtype[np.intp]]
#: Perturbations as row moves of z^l: perturbation p moves row rows[p] along source[pick[p]]
#: (a length-m vector, one entry per sample), and the parameter's shape the slopes fill.
RowMoves = tuple[Index, Array, Index, tuple[int, ...]]


@dataclass(frozen=True)
class LayerDifferences:
    """What the differences need of one layer type l (fed by a^{l−1}, ``a_prev``)."""

    #: ∂C/∂b^l's and ∂C/∂w^l's perturbations as row moves of z^l: (layer, w, a_prev) → (b, w).
    parameters: Callable[[Layer, Array, Array], tuple[RowMoves, RowMoves]]
    #: Δz^l, (n_l, m, P), from row rows[p] of a^{l−1} changed by Δ[:, p], Δ (m, P):
    #: (layer, w, a_prev, rows, Δ). The first layer after the perturbed one.
    row: Callable[[Layer, Array, Array, Index, Array], Array]
    #: Δz^l, (n_l, m, P), from a stack of changes Δa^{l−1}, (n_{l−1}, m, P): (layer, w, a_prev, Δ).
    stack: Callable[[Layer, Array, Array, Array], Array]
    #: In a net with maps: Δz^l, (P, *z^l.shape), from changes Δa^{l−1}, (P, *a^{l−1}.shape), and
    #: per (perturbation, sample) whether the change crossed a kink of the layer itself:
    #: (layer, w, a_prev, Δ).
    carry: Callable[[Layer, Array, Array, Array], tuple[Array, Mask]]
    #: In a net with maps: (b's, w's) :data:`oracles.map_stacks.Directions`, ∂z^l/∂θ per unit
    #: step of each parameter: (layer, w, a_prev, z^l's shape).
    directions: Callable[[Layer, Array, Array, tuple[int, ...]], tuple[Any, Any]]


def _dense_parameters(layer: Layer, w: Array, a_prev: Array) -> tuple[RowMoves, RowMoves]:
    """b^l_j moves every column of row j by h; w^l_jk moves row j by h·a^{l−1}_k, per sample."""
    n, m = w.shape[0], a_prev.shape[1]
    bias = (np.arange(n), np.ones((1, m)), np.zeros(n, np.intp), (n, 1))
    j, k = np.divmod(np.arange(n * a_prev.shape[0]), a_prev.shape[0])
    return bias, (j, a_prev, k, (n, a_prev.shape[0]))


def _dense_row(layer: Layer, w: Array, a_prev: Array, rows: Index, change: Array) -> Array:
    """w^l[:, j] Δa^{l−1}_j: take() keeps the stack C-contiguous."""
    return w.take(rows, axis=1)[:, None, :] * change


def _dense_stack(layer: Layer, w: Array, a_prev: Array, change: Array) -> Array:
    """w^l Δa^{l−1}, one matrix product over every sample and perturbation."""
    return (w @ change.reshape(change.shape[0], -1)).reshape(-1, *change.shape[1:])


def _dense_carry(layer: Layer, w: Array, a_prev: Array, change: Array) -> tuple[Array, Mask]:
    """w^l Δa^{l−1} per perturbation (maps read flattened); a dense layer has no kink."""
    p, m = change.shape[0], change.shape[-1]
    moved = np.einsum("jk,pkx->pjx", w, change.reshape(p, -1, m))
    return moved, np.zeros((p, m), dtype=bool)


def _dense_directions(
    layer: Layer, w: Array, a_prev: Array, z_shape: tuple[int, ...]
) -> tuple[map_stacks.Directions, map_stacks.Directions]:
    """b^l_j moves row j of every sample by 1; w^l_jk moves row j of sample x by a^{x,l−1}_k
    (the error model's builder, :func:`errormodel.layer_terms.dense_directions`)."""
    return dense_directions(a_prev, z_shape)


def _conv_carry(layer: Layer, w: Array, a_prev: Array, change: Array) -> tuple[Array, Mask]:
    """w^l ⋆ Δâ^{l−1} (no bias: z^l is linear in a^{l−1}); no kink of its own."""
    assert isinstance(layer, Conv)
    moved = _per_perturbation(lambda d: map_stacks.conv(layer, w, d), change)
    return moved, np.zeros((change.shape[0], change.shape[-1]), dtype=bool)


def _pool_carry(layer: Layer, w: Array, a_prev: Array, change: Array) -> tuple[Array, Mask]:
    """max(a + Δa) − max(a) per window, and whether some window's argmax moved (a kink)."""
    assert isinstance(layer, MaxPool)
    base = map_stacks.pool_windows(layer, a_prev)
    top, at = base.max(axis=-1), base.argmax(axis=-1)
    moved = _per_perturbation(lambda d: map_stacks.pool_windows(layer, d), a_prev[None] + change)
    crossed: Mask = np.asarray((moved.argmax(axis=-1) != at[None]).any(axis=(1, 2, 3)))
    return moved.max(axis=-1) - top[None], crossed


def _no_parameters(layer: Layer, w: Array, a_prev: Array, z_shape: tuple[int, ...]) -> Any:
    raise NotImplementedError(f"{type(layer).__name__} has no parameters to perturb")


def _per_perturbation(fn: Callable[[Array], Array], stack: Array) -> Array:
    """fn of maps (C, H, W, N) applied to a stack (P, C, H, W, m) riding the sample axis."""
    p, m = stack.shape[0], stack.shape[-1]
    out = fn(np.moveaxis(stack, 0, -1).reshape(*stack.shape[1:-1], m * p))
    return np.moveaxis(out.reshape(*out.shape[:3], m, p, *out.shape[4:]), 4, 0)


def _row_only(*args: object) -> Any:
    raise NotImplementedError("a map layer's differences run as whole-map stacks (carry)")


#: Per layer type, how its parameters and a change of its input move its z^l.
LAYERS: dict[type, LayerDifferences] = {
    Dense: LayerDifferences(
        _dense_parameters, _dense_row, _dense_stack, _dense_carry, _dense_directions
    ),
    Conv: LayerDifferences(
        _row_only,
        _row_only,
        _row_only,
        _conv_carry,
        lambda layer, w, a_prev, z_shape: map_stacks.parameter_directions(
            layer, w, a_prev, z_shape
        ),
    ),
    MaxPool: LayerDifferences(_row_only, _row_only, _row_only, _pool_carry, _no_parameters),
}


def gradients(arch: Architecture, params: Params, batch: Batch, h: float = FD_STEP) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l by central differences of the cost with step h."""
    return differences(arch, params, batch, h).gradients


def differences(arch: Architecture, params: Params, batch: Batch, h: float = FD_STEP) -> Output:
    """The central differences, and per (quantity, layer) a mask of the elements whose ±h
    evaluations crossed a relu/leaky_relu kink (``Output.excluded``)."""
    arch.check()
    if any(type(layer) in (Conv, MaxPool) for layer in arch.layers):
        return map_differences(arch, params, batch, h)
    params = params.astype(np.float64)
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    net = _Net(
        arch.sigmas,
        arch.cost_object,
        params,
        y,
        feedforward(params, arch.sigmas, x),
        arch.layers,
        tuple(layer_ops(LAYERS, arch, "fd")),
    )
    found: dict[str, list[Array]] = {"delta": [], "nabla_b": [], "nabla_w": []}
    kinks: dict[tuple[str, int], Mask] = {}

    def keep(
        quantity: str, layer: int, slopes: Array, crossed: Mask, shape: tuple[int, ...]
    ) -> None:
        found[quantity].append(slopes.reshape(shape))
        kinks[quantity, layer] = crossed.reshape(shape)

    m = x.shape[1]
    for i, z in enumerate(net.fwd.zs):
        layer, n = i + 2, z.shape[0]
        a_prev = net.fwd.activations[i]
        # δ^{x,l}_j: entry (j, x) of z^l alone moves (row j, direction e_x); C = Σ_x C_x here.
        j, s = np.divmod(np.arange(n * m), m)
        keep("delta", layer, *net.slopes(i, j, np.eye(m), s, h), (n, m))
        # ∂C/∂b^l and ∂C/∂w^l: the layer type's row moves; / m as C is the mean cost.
        moves = net.ops[i].parameters(net.layers[i], params.weights[i], a_prev)
        for quantity, (rows, source, pick, shape) in zip(
            ("nabla_b", "nabla_w"), moves, strict=True
        ):
            slopes, crossed = net.slopes(i, rows, source, pick, h)
            keep(quantity, layer, slopes / m, crossed, shape)
    grads = Gradients.from_lists(found["delta"], found["nabla_b"], found["nabla_w"])
    return Output(grads, kinks)


@dataclass(frozen=True)
class _Net:
    """The unperturbed network and mini-batch that every difference starts from."""

    sigmas: tuple[Activation, ...]
    cost: Cost
    params: Params
    y: Array
    fwd: Forward
    layers: tuple[Layer, ...]
    ops: tuple[LayerDifferences, ...]  # the layers' entries of LAYERS

    @functools.cached_property
    def _transposed(self) -> dict[str, tuple[Array, ...]]:
        return {
            "z": tuple(np.ascontiguousarray(z.T) for z in self.fwd.zs),
            "a": tuple(np.ascontiguousarray(a.T) for a in self.fwd.activations[1:]),
        }

    def columns(self, of: str, i: int) -> Array:
        """z^l (``of="z"``) or a^l of layer l = i + 2 transposed, (m, n_l), C-contiguous."""
        return self._transposed[of][i]

    def slopes(
        self, i: int, rows: Index, source: Array, pick: Index, h: float
    ) -> tuple[Array, Mask]:
        """[C(z + h·e_j v^T) − C(z − h·e_j v^T)] / 2h, C = Σ_x C_x, for each perturbation p: row
        j = rows[p] of z^l (l = i + 2) along v = source[pick[p]]; and whether it crossed a kink.

        Differences are taken per sample before summing, so unchanged samples add exactly 0.
        """
        out, crossed = np.empty(len(rows)), np.zeros(len(rows), dtype=bool)
        stacked = self.fwd.zs[i + 1 :] or self.fwd.zs[i:]  # the layers run as (n, m, P) stacks
        widest = max(z.shape[0] for z in stacked)
        for chunk in _chunks(len(rows), widest * self.y.shape[1]):
            r, step = rows[chunk], source.T.take(pick[chunk], axis=1)  # column p: v of p
            step *= h  # a fresh array (fancy indexing copies): h·v in place
            plus, crossed_plus = self.costs(i, r, step)
            np.negative(step, out=step)
            minus, crossed_minus = self.costs(i, r, step)
            plus -= minus
            slopes = np.ascontiguousarray(plus).sum(axis=-1)  # per perturbation, over samples
            slopes /= 2 * h
            out[chunk] = slopes
            crossed[chunk] = crossed_plus | crossed_minus
        return out, crossed

    def costs(self, i: int, rows: Index, shift: Array) -> tuple[Array, Mask]:
        """C_x, shape (P, m), with row rows[p] of z^l moved by shift[:, p] (m, P), running layers
        l…L; and whether a kinked layer's pre-activation changed side of 0, shape (P,).

        Perturbations are the last axis of (n, m, P) stacks: w @ Δa is one matrix product, and
        elementwise work broadcasts the unperturbed (n, m) values along long contiguous rows.
        Stacks are updated in place where the arithmetic allows (σ returns a new array, or z).
        """
        zs, activations, weights = self.fwd.zs, self.fwd.activations, self.params.weights
        z_row = self.columns("z", i).take(rows, axis=1)  # (m, P): column p is z^l's row rows[p]
        z_row += shift
        crossed = np.zeros(len(rows), dtype=bool)
        if self.sigmas[i].name in KINKED:
            crossed |= _crossed(z_row, self.columns("z", i).take(rows, axis=1), axis=0)
        if i == len(zs) - 1:  # the output layer: only row j of z^L differs
            p = np.arange(len(rows))
            z = np.repeat(zs[-1][:, :, None], len(rows), axis=2)
            z[rows, :, p] = z_row.T
            if self.sigmas[i].name in OUTPUT_ONLY:  # softmax: every a^L_k moves with z^L_j
                a = self.sigmas[i].fn(z)  # normalised over axis 0, the neurons
            else:  # elementwise: only row j of a^L
                a = np.repeat(activations[-1][:, :, None], len(rows), axis=2)
                a[rows, :, p] = self.sigmas[i].fn(z_row).T
        else:
            a_row = self.sigmas[i].fn(z_row)
            a_row -= self.columns("a", i).take(rows, axis=1)  # Δa^l_j
            # Δz^{l+1} from Δa^l_j (dense: w^{l+1}[:, j] Δa^l_j), then z^{l+1}
            z = self.ops[i + 1].row(
                self.layers[i + 1], weights[i + 1], activations[i + 1], rows, a_row
            )
            for k in range(i + 1, len(zs)):
                z += zs[k][:, :, None]  # z^k + Δz^k
                if self.sigmas[k].name in KINKED:
                    crossed |= _crossed(z, zs[k][:, :, None], axis=(0, 1))
                a = self.sigmas[k].fn(z)
                if k + 1 < len(zs):
                    a -= activations[k + 1][:, :, None]  # Δa^k
                    z = self.ops[k + 1].stack(
                        self.layers[k + 1], weights[k + 1], activations[k + 1], a
                    )
        return self.cost.fn(z.transpose(2, 0, 1), a.transpose(2, 0, 1), self.y), crossed


#: The bytes of one array of a chunk of whole-map perturbations.
MAP_CHUNK_BYTES = 2**20


def map_differences(arch: Architecture, params: Params, batch: Batch, h: float = FD_STEP) -> Output:
    """:func:`differences` of a net with feature maps: each perturbation a whole change of z^l,
    carried layer by layer (module docstring), kinks of relu layers and of max-pools marked."""
    params = params.astype(np.float64)
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    fwd = feedforward(params, arch.sigmas, x, arch.layers)
    layers, ws, zs, acts = arch.layers, params.weights, fwd.zs, fwd.activations
    ops = layer_ops(LAYERS, arch, "fd")
    sigmas, cost, m = arch.sigmas, arch.cost_object, x.shape[-1]

    def kinked(k: int, z: Array) -> Mask:
        """Per (perturbation, sample): did some z^k change side of 0 in a kinked layer?"""
        if sigmas[k].name not in KINKED:
            return np.zeros((z.shape[0], m), dtype=bool)
        side = (z > 0) != (zs[k] > 0)[None]
        return side.reshape(z.shape[0], -1, m).any(axis=1)

    def costs(i: int, shift: Array) -> tuple[Array, Mask]:
        """C_x, (P, m), with z^l moved by ``shift`` (P, *z^l.shape); kinks crossed, (P, m)."""
        z = zs[i][None] + shift
        crossed = kinked(i, z)
        for k in range(i + 1, len(zs)):
            change = sigmas[k - 1].fn(z) - acts[k][None]  # Δa^{k−1}
            moved, kink = ops[k].carry(layers[k], ws[k], acts[k], change)
            z = zs[k][None] + moved
            crossed |= kink | kinked(k, z)
        a = sigmas[-1].fn(z.transpose(1, 2, 0)).transpose(2, 0, 1)  # softmax: over the neurons
        return cost.fn(z, a, y), crossed

    sample = map_sample(layers)

    def slopes(
        i: int, quantity: str, directions: Callable[[Index], Array], count: int
    ) -> tuple[Array, Mask]:
        """Per perturbation p < count and sample: [C_x(z + h·v_p) − C_x(z − h·v_p)] / 2h, for the
        perturbations judged (NaN at the others; their kink mask False)."""
        which = map_stacks.judged_indices(sample, quantity, i + 2, count)
        out, crossed = np.empty((len(which), m)), np.zeros((len(which), m), dtype=bool)
        widest = max(z.size for z in zs[i:])
        size = max(1, MAP_CHUNK_BYTES // (8 * widest))
        for start in range(0, len(which), size):
            chunk = slice(start, min(start + size, len(which)))
            step = h * directions(which[chunk])
            plus, crossed_plus = costs(i, step)
            minus, crossed_minus = costs(i, -step)
            out[chunk] = (plus - minus) / (2 * h)
            crossed[chunk] = crossed_plus | crossed_minus
        return map_stacks.spread(out, which, count), map_stacks.spread(crossed, which, count, False)

    found: dict[str, list[Array]] = {"delta": [], "nabla_b": [], "nabla_w": []}
    kinks: dict[tuple[str, int], Mask] = {}
    for i, (layer, z0) in enumerate(zip(layers, zs, strict=True)):
        shape, book = z0.shape[:-1], i + 2
        n = int(np.prod(shape))

        def element(p: Index, shape: tuple[int, ...] = shape, n: int = n) -> Array:
            unit = np.zeros((len(p), n))
            unit[np.arange(len(p)), p] = 1.0
            return np.repeat(unit.reshape(len(p), *shape, 1), m, axis=-1)

        per_element, crossed = slopes(i, "delta", element, n)  # δ^{x,l}_e, per sample
        found["delta"].append(per_element.reshape(z0.shape))
        kinks["delta", book] = crossed.reshape(z0.shape)
        if not ws[i].size:  # a pool: no parameters
            for quantity in ("nabla_b", "nabla_w"):
                found[quantity].append(np.zeros(0))
                kinks[quantity, book] = np.zeros(0, dtype=bool)
            continue
        moves = ops[i].directions(layer, ws[i], acts[i], z0.shape)
        for quantity, directions, param in zip(
            ("nabla_b", "nabla_w"), moves, (params.biases[i], ws[i]), strict=True
        ):
            each, crossed = slopes(i, quantity, directions, param.size)
            found[quantity].append((each.sum(axis=1) / m).reshape(param.shape))
            kinks[quantity, book] = np.asarray(crossed.any(axis=1)).reshape(param.shape)
    grads = Gradients.from_lists(found["delta"], found["nabla_b"], found["nabla_w"])
    return Output(grads, kinks, map_stacks.sample_masks(layers, m))


def _crossed(z: Array, base: Array, axis: int | tuple[int, ...]) -> Mask:
    """Per perturbation: did some z land on another side of 0 (z ≤ 0 or z > 0) than ``base``?"""
    return np.any((z > 0) != (base > 0), axis=axis)


def _chunks(total: int, floats_per_item: int) -> Iterator[slice]:
    size = max(1, CHUNK_BYTES // (8 * max(floats_per_item, 1)))
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
