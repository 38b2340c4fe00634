"""Complex-step derivatives of the cost: ∂C/∂θ = Im C(θ + i·h·e) / h, no subtraction at all.

For a function analytic near the real axis, C(θ + ih e) = C(θ) + ih ∂_e C − h²/2 ∂²_e C − …, so
the imaginary part is h times the derivative up to a relative h² term, and nothing cancels: h can
be tiny and the result is as accurate as an analytic derivative. It needs its own forward
formulas, holomorphic in z: the reference's stable forms (``abs``, ``where``, ``logaddexp`` on z)
are not complex-analytic. Here every activation and cost is one complex formula
(:data:`ACTIVATIONS`, :data:`COSTS`); a formula picks its overflow-free branch by the sign of
Re z only, and both branches are the same analytic function, so the choice never touches the
imaginary part. The
unperturbed net runs through the same formulas on real numbers: nothing comes from the reference
but the architecture, the parameters and the batch.

As in :mod:`oracles.finite_diff`, every quantity is a derivative along a change of one
weighted-input row j of z^l: by ih along every sample for δ^{x,l}_j (C_x depends on column x
only, so sample x's imaginary part is δ^{x,l}_j) and for ∂C/∂b^l_j (their batch mean), and by
ih·a^{l−1}_k for ∂C/∂w^l_jk. Only the imaginary parts are carried through later layers,
z^{k+1} = z^{k+1}_0 + i·w^{k+1} Im a^k: to first order in h the real parts are the unperturbed
ones (their change is h²). All perturbations of a layer run at once as an extra array axis, in
chunks of bounded memory.

The step: truncation is h²|f'''|/6 (relative h² to the slope), rounding is relative (each complex
operation's imaginary part errs by a few ε of its terms), and an imaginary part below the
smallest normal number loses digits absolutely, by η = 2^-1074 per operation, i.e. η/h in the
derivative. :data:`CS_STEP` = 2^-70 ≈ 8.5e-22 keeps both h² (1.4e-42) and η/h (6e-303) far below any
tolerance; :mod:`errormodel.tolerances` (``complex_step_allowed``) states the resulting bound.

Nets with relu or leaky_relu layers are not analytic at the kink: :func:`gradients` raises
:class:`oracles.NotApplicable`, which the gate records and counts (never a pass).

Feature maps (:func:`map_gradients`): a convolution is linear, so Im z^l = w^l ⋆ Im â^{l−1} (no
bias, :func:`oracles.map_stacks.conv`), and each perturbation is a whole Im z^l map: δ^{x,l}_e
moves element e of every sample by ih; b^l_o and w^l_{o,c,u,v} move map o by ih·∂z^l/∂θ (1, or
the window values â^{l−1}_{c,s·i+u,s·j+v} at each position (i, j)), so C_x's imaginary part
sums δ^l·∂z^l/∂θ over positions. A max-pool of complex numbers is not holomorphic (max has no
complex extension); here each window's maximum is chosen by the real part. The real parts are the
unperturbed net's (their change is h², below any rounding), so that choice is the unperturbed
argmax, the route the reference takes, and Im z^l is Im a^{l−1} at it: exact, a selection, as
long as no window's maximum is tied. A tie is a kink of the max (its derivative jumps between the
tied entries); a net with one is not applicable (:class:`oracles.NotApplicable`, counted). A net
over the budget of perturbations runs those of its seeded sample only (:mod:`oracles.map_stacks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from errormodel.layer_terms import map_sample
from oracles import NotApplicable, Output, bound_ops, get_oracle
from oracles import costs as oracle_costs
from oracles.activations import SIGMAS
from oracles.map_stacks import (
    conv,
    judged_indices,
    parameter_directions,
    pool_windows,
    sample_masks,
    spread,
)
from reference import Architecture, Batch, Gradients, Params, activations
from reference.layers import Conv, Dense, MaxPool

#: The complex step: a power of two (exact scaling), tiny enough that h² vanishes against ε.
CS_STEP = get_oracle("complex_step").step  # 2^-70, on its registry record
#: Upper bound on the bytes of one complex array of a chunk of perturbations.
CHUNK_BYTES = 2**17

Z = np.ndarray[Any, Any]  # real or complex arrays


#: σ as one holomorphic formula per activation, this oracle's own (oracles/activations.py).
ACTIVATIONS: dict[str, Callable[[Z], Z]] = {
    name: s.complex_step for name, s in SIGMAS.items() if s.complex_step is not None
}
#: z^l from (w^l, b^l, a^{l−1}) per layer type, on real or complex arrays (linear: holomorphic).
LAYERS: dict[type, Callable[..., Z]] = {Dense: lambda layer, w, b, a: w @ a + b}
#: How a perturbation's imaginary part Im a^{l−1} reaches z^l per layer type (its linear part).
LAYERS_IMAG: dict[type, Callable[..., Z]] = {
    Dense: lambda layer, w, im: (w @ im.reshape(im.shape[0], -1)).reshape(-1, *im.shape[1:])
}
#: Activations with no holomorphic formula (a kink at 0; the activation's record says): nets with
#: them are not applicable.
NOT_HOLOMORPHIC = activations.NOT_HOLOMORPHIC
#: Activations that mix a column (a^L_j depends on every z^L_k): a step in one row of z^L
#: moves the whole output column.
COLUMNWISE = activations.OUTPUT_ONLY


#: C_x per sample as one holomorphic formula of the output layer's (z, a, y), this oracle's own
#: (oracles/costs.py).
COSTS: dict[str, Callable[[Z, Z, Z], Z]] = {
    name: c.complex_step for name, c in oracle_costs.COSTS.items()
}


def not_applicable(arch: Architecture) -> str:
    """Why the complex step cannot judge ``arch`` (a layer without a holomorphic formula), or ""."""
    names = [a.name for a in arch.sigmas]
    missing = sorted({n for n in names if n not in ACTIVATIONS})
    if missing:
        return f"complex step needs analytic activations; {', '.join(missing)} is not analytic"
    if arch.cost not in COSTS:
        return f"complex step has no holomorphic form of the cost {arch.cost!r}"
    return ""


def detailed(arch: Architecture, params: Params, batch: Batch, h: float = CS_STEP) -> Output:
    """:func:`gradients`, with the elements judged of a map net over the budget (a sample)."""
    return Output(
        gradients(arch, params, batch, h), judged=sample_masks(arch.layers, batch.y.shape[-1])
    )


def gradients(arch: Architecture, params: Params, batch: Batch, h: float = CS_STEP) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l as Im C(· + ih·)/h; NotApplicable on a non-analytic net."""
    arch.check()
    reason = not_applicable(arch)
    if reason:
        raise NotApplicable(reason)  # the records and test ids name the net
    if any(type(layer) in (Conv, MaxPool) for layer in arch.layers):
        return map_gradients(arch, params, batch, h)
    sigmas = [ACTIVATIONS[a.name] for a in arch.sigmas]
    cost = COSTS[arch.cost]
    ws = [w.astype(np.float64) for w in params.weights]
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    ops = bound_ops(LAYERS, arch, "complex_step")
    imag_ops = bound_ops(LAYERS_IMAG, arch, "complex_step")
    zs, acts = [], [x]  # the unperturbed net, through the same formulas on reals
    for w, b, sigma, op in zip(ws, params.biases, sigmas, ops, strict=True):
        zs.append(op(w, b.astype(np.float64), acts[-1]))
        acts.append(sigma(zs[-1]))
    m = x.shape[1]
    columnwise = arch.sigmas[-1].name in COLUMNWISE

    def slopes(i: int, rows: np.ndarray[Any, Any], directions: Z) -> Z:
        """Im C_x / h, shape (P, m), with row rows[p] of z^l (l = i + 2) moved by ih·directions[p];
        the perturbations run as axis 1 of (n, P, m) stacks, in chunks."""
        out = np.empty((len(rows), m))
        widest = max(z.shape[0] for z in zs[i:])
        for chunk in _chunks(len(rows), widest * m):
            r, p = rows[chunk], np.arange(chunk.stop - chunk.start)
            z_row = zs[i][r] + 1j * h * directions[chunk]  # only row j of z^l moves
            if i == len(zs) - 1:  # the output layer: the cost needs every row
                z = np.repeat(zs[i][:, None, :].astype(complex), len(r), axis=1)
                z[r, p] = z_row
                if columnwise:  # every a^L_k moves with z^L_j
                    a = sigmas[i](z)
                else:
                    a = np.repeat(acts[i + 1][:, None, :].astype(complex), len(r), axis=1)
                    a[r, p] = sigmas[i](z_row)
            else:
                # z^{l+1} = z^{l+1}_0 + i w^{l+1}[:, j] Im a^l_j, then layer by layer
                a_row = sigmas[i](z_row)
                im = ws[i + 1][:, r, None] * np.imag(a_row)
                for k in range(i + 1, len(zs)):
                    z = zs[k][:, None, :] + 1j * im
                    a = sigmas[k](z)
                    if k + 1 < len(zs):
                        im = imag_ops[k + 1](ws[k + 1], np.imag(a))
            out[chunk] = np.imag(cost(z.transpose(1, 0, 2), a.transpose(1, 0, 2), y)) / h
        return out

    deltas, nabla_b, nabla_w = [], [], []
    for i, z0 in enumerate(zs):
        n, n_prev = z0.shape[0], acts[i].shape[0]
        per_row = slopes(i, np.arange(n), np.ones((n, m)))  # row j along every sample
        deltas.append(per_row)
        nabla_b.append(per_row.sum(axis=1, keepdims=True) / m)
        j, k = np.divmod(np.arange(n * n_prev), n_prev)
        nabla_w.append((slopes(i, j, acts[i][k]).sum(axis=1) / m).reshape(n, n_prev))
    return Gradients.from_lists(deltas, nabla_b, nabla_w)


def map_gradients(
    arch: Architecture, params: Params, batch: Batch, h: float = CS_STEP
) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l of a net with feature maps (module docstring): each
    perturbation a whole imaginary z^l map, carried by the layers' linear parts."""
    sigmas = [ACTIVATIONS[a.name] for a in arch.sigmas]
    cost = COSTS[arch.cost]
    ws = [w.astype(np.float64) for w in params.weights]
    bs = [b.astype(np.float64) for b in params.biases]
    layers = arch.layers
    x, y = batch.x.astype(np.float64), batch.y.astype(np.float64)
    m = x.shape[-1]
    zs, acts, routes = [], [x], {}  # the unperturbed net; each pool's argmax per window
    for i, (layer, w, b, sigma) in enumerate(zip(layers, ws, bs, sigmas, strict=True)):
        if isinstance(layer, MaxPool):
            win = pool_windows(layer, acts[-1])
            routes[i] = win.argmax(axis=-1)[..., None]
            top = np.take_along_axis(win, routes[i], axis=-1)
            if ((win == top).sum(axis=-1) > 1).any():
                raise NotApplicable(
                    f"layer {i + 2} (max-pool) has a window whose maximum is tied: a kink of the "
                    "max, where the complex step has no derivative to give"
                )
            zs.append(top[..., 0])
        elif isinstance(layer, Conv):
            zs.append(conv(layer, w, acts[-1]) + b[:, :, None, None])
        else:
            zs.append(w @ acts[-1].reshape(w.shape[1], m) + b)
        acts.append(sigma(zs[-1]))

    def carry(k: int, im: Z) -> Z:
        """Im z^k from Im a^{k−1}, stacks (P, *a.shape): the layer's linear part."""
        layer, P = layers[k], im.shape[0]
        if isinstance(layer, Dense):
            return np.einsum("jk,pkx->pjx", ws[k], im.reshape(P, -1, m))
        maps = np.moveaxis(im, 0, -1).reshape(*im.shape[1:-1], m * P)  # (C, H, W, m·P)
        if isinstance(layer, Conv):
            out = conv(layer, ws[k], maps)
        else:  # the unperturbed argmax, repeated for every perturbation
            assert isinstance(layer, MaxPool)
            route = np.repeat(routes[k][..., None, :], P, axis=-2).reshape(
                *routes[k].shape[:3], -1, 1
            )
            out = np.take_along_axis(pool_windows(layer, maps), route, axis=-1)[..., 0]
        return np.moveaxis(out.reshape(*out.shape[:-1], m, P), -1, 0)

    sample = map_sample(layers)

    def slopes(i: int, quantity: str, directions: Callable[[Z], Z], count: int) -> Z:
        """Im C_x / h, shape (count, m), with z^l (l = i + 2) moved by ih·directions(p), for the
        perturbations judged (NaN at the others)."""
        which = judged_indices(sample, quantity, i + 2, count)
        out = np.empty((len(which), m))
        widest = max(z.size for z in zs[i:])
        for chunk in _chunks(len(which), widest):
            z = zs[i] + 1j * h * directions(which[chunk])
            a = sigmas[i](z)
            for k in range(i + 1, len(zs)):
                z = zs[k] + 1j * carry(k, np.imag(a))
                a = sigmas[k](z)
            out[chunk] = np.imag(cost(z, a, y)) / h
        return spread(out, which, count)

    deltas, nabla_b, nabla_w = [], [], []
    for i, (layer, z0) in enumerate(zip(layers, zs, strict=True)):
        shape = z0.shape[:-1]
        n = int(np.prod(shape))

        def element(p: Z, shape: tuple[int, ...] = shape, n: int = n) -> Z:
            unit = np.zeros((len(p), n))
            unit[np.arange(len(p)), p] = 1.0
            return np.repeat(unit.reshape(len(p), *shape, 1), m, axis=-1)

        per_element = slopes(i, "delta", element, n)  # δ^{x,l}_e: element e of every sample
        deltas.append(per_element.reshape(n, m).reshape(z0.shape))
        w, a_prev = ws[i], acts[i]
        if isinstance(layer, MaxPool):
            nabla_b.append(np.zeros(0))
            nabla_w.append(np.zeros(0))
            continue
        if isinstance(layer, Dense):  # fed by maps: row j of sample x moved by a^{x,l−1}_k
            flat = a_prev.reshape(w.shape[1], m)

            def row(p: Z, n: int = n, flat: Z = flat) -> Z:
                j, k = np.divmod(p, flat.shape[0])
                move = np.zeros((len(p), n, m))
                move[np.arange(len(p)), j] = flat[k]
                return move

            nabla_b.append(per_element.sum(axis=1, keepdims=True) / m)
            nabla_w.append((slopes(i, "nabla_w", row, w.size).sum(axis=1) / m).reshape(w.shape))
            continue
        bias, weight = parameter_directions(layer, w, a_prev, z0.shape)
        nabla_b.append(
            (slopes(i, "nabla_b", bias, bs[i].size).sum(axis=1) / m).reshape(bs[i].shape)
        )
        nabla_w.append((slopes(i, "nabla_w", weight, w.size).sum(axis=1) / m).reshape(w.shape))
    return Gradients.from_lists(deltas, nabla_b, nabla_w)


def _chunks(total: int, complex_per_item: int) -> Iterator[slice]:
    size = max(1, CHUNK_BYTES // (16 * max(complex_per_item, 1)))
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))
