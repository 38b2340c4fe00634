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

Kinks: σ' of relu and leaky_relu jumps at z = 0, so a difference whose ±h evaluations put some
pre-activation of such a layer on another side of 0 (z ≤ 0 or z > 0) than the unperturbed one
measures a mix of two slopes, wrong by construction. :func:`differences` marks those elements;
the gate excludes and counts them rather than widening any tolerance.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from oracles import Output, dense_only, get_oracle, layer_ops
from reference import Architecture, Batch, Gradients, Params
from reference.activations import ACTIVATION_INFO, KINKED, OUTPUT_ONLY, Activation
from reference.costs import Cost
from reference.forward import Forward, feedforward
from reference.layers import Dense, Layer
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


#: Per layer type, how its parameters and a change of its input move its z^l.
LAYERS: dict[type, LayerDifferences] = {
    Dense: LayerDifferences(_dense_parameters, _dense_row, _dense_stack)
}


def gradients(arch: Architecture, params: Params, batch: Batch, h: float = FD_STEP) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l by central differences of the cost with step h."""
    return differences(arch, params, batch, h).gradients


def differences(arch: Architecture, params: Params, batch: Batch, h: float = FD_STEP) -> Output:
    """The central differences, and per (quantity, layer) a mask of the elements whose ±h
    evaluations crossed a relu/leaky_relu kink (``Output.excluded``)."""
    arch.check()
    dense_only(arch, "finite differences")
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


def _crossed(z: Array, base: Array, axis: int | tuple[int, ...]) -> Mask:
    """Per perturbation: did some z land on another side of 0 (z ≤ 0 or z > 0) than ``base``?"""
    return np.any((z > 0) != (base > 0), axis=axis)


def _chunks(total: int, floats_per_item: int) -> Iterator[slice]:
    size = max(1, CHUNK_BYTES // (8 * max(floats_per_item, 1)))
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
