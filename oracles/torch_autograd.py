"""PyTorch autograd as an oracle: the same network from torch ops, gradients from ``backward``.

δ^l is the gradient of Σ_x C_x with respect to the z^l tensor itself (column x is ∂C_x/∂z^{x,l});
∂C/∂w^l and ∂C/∂b^l are gradients of the mean cost. Runs in the parameters' dtype.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from oracles import activations as oracle_sigmas
from oracles import costs as oracle_costs
from oracles import layer_ops
from reference import Architecture, Batch, Gradients, Params
from reference.layers import Dense

#: σ per activation, this oracle's own torch formulas (oracles/activations.py).
ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = oracle_sigmas.table("torch", torch)


#: z^l from (w^l, b^l, a^{l−1}) per layer type: the one place this oracle says what a layer does.
LAYERS: dict[type, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    Dense: lambda w, b, a: w @ a + b,
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
    for w, b, name, op in zip(ws, bs, names, layer_ops(LAYERS, arch, "torch"), strict=True):
        z = op(w, b, a)
        zs.append(z)
        a = ACTIVATIONS[name](z)
    total = per_sample_cost(arch.cost, zs[-1], a, torch.tensor(batch.y)).sum()
    grads = torch.autograd.grad(total, [*zs, *ws, *bs])
    n, m = len(zs), batch.x.shape[1]
    as_np: Callable[[torch.Tensor], np.ndarray] = lambda t: t.detach().numpy()  # noqa: E731
    return Gradients(
        deltas=tuple(as_np(g) for g in grads[:n]),
        nabla_b=tuple(as_np(g / m) for g in grads[2 * n :]),
        nabla_w=tuple(as_np(g / m) for g in grads[n : 2 * n]),
    )
