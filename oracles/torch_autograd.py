"""PyTorch autograd as an oracle: the same network from torch ops, gradients from ``backward``.

δ^l is the gradient of Σ_x C_x with respect to the z^l tensor itself (column x is ∂C_x/∂z^{x,l});
∂C/∂w^l and ∂C/∂b^l are gradients of the mean cost. Runs in the parameters' dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from oracles import activations as oracle_sigmas
from oracles import bound_ops
from oracles import costs as oracle_costs
from reference import Architecture, Batch, Gradients, Params
from reference.layers import Conv, Dense, MaxPool

#: σ per activation, this oracle's own torch formulas (oracles/activations.py).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = oracle_sigmas.table("torch", torch)


#: z^l from (w^l, b^l, a^{l−1}) per layer type: the one place this oracle says what a layer does.
#: Feature maps are (C, H, W, m) tensors, the sample last as in the reference; torch's ops take
#: (m, C, H, W), so each permutes in and back (views; autograd's δ^l is then the reference's).
LAYERS: dict[type, Callable[..., torch.Tensor]] = {
    Dense: lambda layer, w, b, a: w @ a.reshape(w.shape[1], a.shape[-1]) + b,
    Conv: lambda layer, w, b, a: torch.nn.functional.conv2d(
        a.permute(3, 0, 1, 2), w, b[:, 0], stride=layer.stride, padding=layer.padding
    ).permute(1, 2, 3, 0),
    MaxPool: lambda layer, w, b, a: torch.nn.functional.max_pool2d(
        a.permute(3, 0, 1, 2), layer.window, layer.step
    ).permute(1, 2, 3, 0),
}


#: C_x per column from the output layer's z and a = σ(z), this oracle's own torch formulas
#: (oracles/costs.py).
COSTS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = (
    oracle_costs.table("torch", torch)
)


def per_sample_cost(name: str, z: torch.Tensor, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """C_x per column by the cost named ``name`` (:data:`COSTS`)."""
    if name not in COSTS:
        raise KeyError(f"torch oracle has no cost {name!r}")
    return COSTS[name](z, a, y)


def gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l from torch.autograd."""
    arch.check()
    names = [a.name for a in arch.sigmas]
    ws = [torch.tensor(w, requires_grad=True) for w in params.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in params.biases]
    a = torch.tensor(batch.x)
    zs = []
    for w, b, name, op in zip(ws, bs, names, bound_ops(LAYERS, arch, "torch"), strict=True):
        z = op(w, b, a)
        if not z.requires_grad:  # a pool on the input: no parameter below it, so a leaf
            z.requires_grad_()
        zs.append(z)
        a = ACTIVATIONS[name](z)
    total = per_sample_cost(arch.cost, zs[-1], a, torch.tensor(batch.y)).sum()
    # a pool's empty w and b are not in the graph: their gradients are empty too
    grads = torch.autograd.grad(total, [*zs, *ws, *bs], allow_unused=True, materialize_grads=True)
    n, m = len(zs), batch.x.shape[-1]
    as_np: Callable[[torch.Tensor], np.ndarray] = lambda t: t.detach().numpy()  # noqa: E731
    return Gradients(
        deltas=tuple(as_np(g) for g in grads[:n]),
        nabla_b=tuple(as_np(g / m) for g in grads[2 * n :]),
        nabla_w=tuple(as_np(g / m) for g in grads[n : 2 * n]),
    )
