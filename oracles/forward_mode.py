"""Forward-mode AD as an oracle: ``torch.func.jvp``, tangents pushed from z^l to the cost.

Reverse mode (the torch and jax oracles) pulls one cotangent back from C; forward mode pushes a
tangent forward through torch's separate forward-derivative formulas, so a bug in either
library's reverse mode cannot hide behind the agreement of the two reverse-mode oracles. The
forward formulas of the net (σ and C_x) are the torch oracle's (:mod:`oracles.torch_autograd`).

Every quantity is a directional derivative of the per-sample costs (C_x, one per column) along a
tangent of one weighted-input row j of z^l — the jvp of the linear map (w, b) ↦ w a^{l−1} + b:

- ∂b^l_j's tangent moves row j of every sample by 1; C_x depends on column x only, so sample x's
  output is δ^{x,l}_j, and their batch mean is ∂C/∂b^l_j;
- ∂w^l_jk's tangent moves row j of sample x by a^{x,l−1}_k; the batch mean is ∂C/∂w^l_jk.

The tangents of a layer run batched (``torch.func.vmap`` over ``torch.func.jvp``: the net runs
once, its tangents as one batch axis), in chunks of bounded memory.

A net with feature maps (a convolution, a max-pool: z^l of shape (C, H, W, m), the sample last)
takes the same route with tangents of whole z^l maps (:func:`map_gradients`): δ^{x,l}_e from the
tangent that moves element e = (c, i, j) of every sample by 1; ∂C/∂θ for each parameter θ of
layer l from the tangent ∂z^l/∂θ, itself the jvp of the torch oracle's layer op in θ along the
unit tangent e_θ. For a convolution that tangent is non-zero at every position of map o (θ = b^l_o:
1 there; θ = w^l_{o,c,u,v}: â^{l−1}_{c,s·i+u,s·j+v} at position (i, j)), so pushing it to the cost
sums Σ_{i,j} δ^l_{o,i,j}·∂z^l_{o,i,j}/∂θ over positions: BP3's and BP4's form, reached here by
torch's forward formulas of conv2d, never by a correlation of δ with a^{l−1}. A max-pool has no
parameters; through it a tangent follows torch's forward derivative of max_pool2d (the window's
first maximum; a tie is a kink, as for the reference). A net over the budget of perturbations
pushes the tangents of its seeded sample only (:mod:`oracles.map_stacks`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch.func import jvp, vmap

with warnings.catch_warnings():  # torch scripts its forward-AD decompositions at first use
    warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
    from torch._decomp import decompositions_for_jvp  # noqa: F401

from errormodel.layer_terms import map_sample
from oracles import Output, bound_ops
from oracles.map_stacks import judged_indices, sample_masks, spread
from oracles.torch_autograd import ACTIVATIONS, LAYERS, per_sample_cost
from reference import Architecture, Batch, Gradients, Params
from reference.layers import Conv, MaxPool

#: Upper bound on the floats of one chunk of tangents (n_l · m each, plus what they push).
CHUNK_FLOATS = 2**20


def detailed(arch: Architecture, params: Params, batch: Batch) -> Output:
    """:func:`gradients`, with the elements judged of a map net over the budget (a sample)."""
    return Output(
        gradients(arch, params, batch), judged=sample_masks(arch.layers, batch.y.shape[-1])
    )


def gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l from forward-mode AD (torch.func.jvp)."""
    arch.check()
    if any(type(layer) in (Conv, MaxPool) for layer in arch.layers):
        return map_gradients(arch, params, batch)
    _, _, zs, acts, costs_from = _forward(arch, params, batch)
    m = batch.y.shape[1]

    def pushed(i: int, rows: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
        """(C_x)'s jvp along each tangent p, row rows[p] of z^l moved by directions[p] (every
        other row fixed), shape (P, m); the tangents run vmapped, in chunks."""
        f, z0 = costs_from(i), zs[i]
        widest = max(z.shape[0] for z in zs[i:])
        size = max(1, CHUNK_FLOATS // (widest * m))
        one = vmap(lambda t: jvp(f, (z0,), (t,))[1])
        out = []
        for s in range(0, len(rows), size):
            r = rows[s : s + size]
            tangents = torch.zeros((len(r), *z0.shape), dtype=torch.float64)
            tangents[torch.arange(len(r)), r] = directions[s : s + size]
            out.append(one(tangents))
        return torch.cat(out)

    deltas, nabla_b, nabla_w = [], [], []
    for i, z0 in enumerate(zs):
        n, n_prev = z0.shape[0], acts[i].shape[0]
        # The layer's tangents, pushed together: first p = j, row j of every sample moved by 1
        # (sample x's output is δ^{x,l}_j); then p = (j, k), row j of sample x moved by a^{x,l−1}_k.
        j, k = torch.arange(n).repeat_interleave(n_prev), torch.arange(n_prev).repeat(n)
        rows = torch.cat((torch.arange(n), j))
        directions = torch.cat((torch.ones((n, m), dtype=torch.float64), acts[i][k]))
        out = pushed(i, rows, directions)
        per_row, per_weight = out[:n], out[n:]
        deltas.append(per_row)
        nabla_b.append(per_row.sum(dim=1, keepdim=True) / m)
        nabla_w.append((per_weight.sum(dim=1) / m).reshape(n, n_prev))
    return Gradients.from_lists(
        [d.numpy() for d in deltas], [b.numpy() for b in nabla_b], [w.numpy() for w in nabla_w]
    )


Tensors = list[torch.Tensor]


def _forward(
    arch: Architecture, params: Params, batch: Batch
) -> tuple[Tensors, Tensors, Tensors, Tensors, Callable[[int], Callable[..., torch.Tensor]]]:
    """The net's forward pass by the torch oracle's layer ops and σ: weights, biases, every z^l
    and a^{l−1} (a^1 = x first), and ``costs_from(i)``: z^l ↦ (C_x)_x, running layers l…L
    (l = i + 2), the function whose jvp along a tangent of z^l every quantity is."""
    names = [a.name for a in arch.sigmas]
    ops = bound_ops(LAYERS, arch, "forward_mode")  # the torch oracle's layer ops
    ws = [torch.tensor(w, dtype=torch.float64) for w in params.weights]
    bs = [torch.tensor(b, dtype=torch.float64) for b in params.biases]
    y = torch.tensor(batch.y, dtype=torch.float64)
    zs, acts = [], [torch.tensor(batch.x, dtype=torch.float64)]
    for w, b, name, op in zip(ws, bs, names, ops, strict=True):
        zs.append(op(w, b, acts[-1]))
        acts.append(ACTIVATIONS[name](zs[-1]))

    def costs_from(i: int) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(z: torch.Tensor) -> torch.Tensor:
            a = ACTIVATIONS[names[i]](z)
            for k in range(i + 1, len(zs)):
                z = ops[k](ws[k], bs[k], a)
                a = ACTIVATIONS[names[k]](z)
            return per_sample_cost(arch.cost, z, a, y)

        return run

    return ws, bs, zs, acts, costs_from


def map_gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l of a net with feature maps, from tangents of whole z^l maps
    (module docstring)."""
    ws, bs, zs, acts, costs_from = _forward(arch, params, batch)
    ops = bound_ops(LAYERS, arch, "forward_mode")
    m = batch.y.shape[1]

    sample = map_sample(arch.layers)

    def pushed(
        i: int,
        quantity: str,
        tangents: Callable[[torch.Tensor], torch.Tensor],
        count: int,
        per: int,
    ) -> torch.Tensor:
        """(C_x)'s jvp along the z^l tangents ``tangents(p)`` of p < count (a chunk of indices
        → (P, *z^l.shape)), shape (count, m), for the tangents judged (NaN at the others);
        ``per``: floats each tangent is built from."""
        which = torch.from_numpy(judged_indices(sample, quantity, i + 2, count))
        size = max(1, CHUNK_FLOATS // max(*(z.numel() for z in zs[i:]), per))
        one = vmap(lambda t: jvp(costs_from(i), (zs[i],), (t,))[1])
        out = [torch.empty((0, m), dtype=torch.float64)]
        for s in range(0, len(which), size):
            out.append(one(tangents(which[s : s + size])))
        return torch.from_numpy(spread(torch.cat(out).numpy(), which.numpy(), count))

    def units(p: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """The unit tensors e_p of ``shape``, (P, *shape)."""
        e = torch.zeros((len(p), shape.numel()), dtype=torch.float64)
        e[torch.arange(len(p)), p] = 1.0
        return e.reshape(len(p), *shape)

    def along(
        op: Callable[[torch.Tensor], torch.Tensor], at: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        """p ↦ ∂z^l/∂θ along e_p (P, *z^l.shape): the jvp of ``op`` (θ ↦ z^l) at θ = ``at``."""
        return lambda p: vmap(lambda t: jvp(op, (at,), (t,))[1])(units(p, at.shape))

    def layer(i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """δ^l, ∂C/∂b^l and ∂C/∂w^l of layer l = i + 2."""
        z0, w, b, a, op = zs[i], ws[i], bs[i], acts[i], ops[i]
        shape, size = z0.shape[:-1], z0.numel()
        # δ: the unit tangent of element e moves it in every sample; C_x reads sample x only
        per_element = pushed(
            i,
            "delta",
            lambda p: units(p, shape)[..., None].expand(-1, *z0.shape),
            shape.numel(),
            size,
        )
        delta = per_element.reshape(z0.shape).numpy()
        if not w.numel():  # a pool: no parameters
            return delta, np.zeros(0), np.zeros(0)
        if w.ndim == 2:  # dense (fed by maps): row j of sample x moved by a^{x,l−1}_k
            flat = a.reshape(w.shape[1], m)

            def rows(p: torch.Tensor) -> torch.Tensor:
                t = torch.zeros((len(p), *z0.shape), dtype=torch.float64)
                t[torch.arange(len(p)), p // flat.shape[0]] = flat[p % flat.shape[0]]
                return t

            by_b, by_w = per_element, pushed(i, "nabla_w", rows, w.numel(), size)
        else:  # ∂z^l/∂θ by torch's forward derivative of the layer op in θ, then to the cost
            to_b, to_w = along(lambda v: op(w, v, a), b), along(lambda v: op(v, b, a), w)
            by_b = pushed(i, "nabla_b", to_b, b.numel(), b.numel() + size)
            by_w = pushed(i, "nabla_w", to_w, w.numel(), w.numel() + size)
        return (
            delta,
            (by_b.sum(dim=1) / m).reshape(b.shape).numpy(),
            (by_w.sum(dim=1) / m).reshape(w.shape).numpy(),
        )

    deltas, nabla_b, nabla_w = zip(*(layer(i) for i in range(len(zs))), strict=True)
    return Gradients.from_lists(deltas, nabla_b, nabla_w)
