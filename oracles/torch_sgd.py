"""A training run driven by ``torch.optim.SGD`` (activations of :mod:`oracles.torch_autograd`).

The book's step maps exactly onto torch's. ``torch.optim.SGD`` (no momentum, dampening or
Nesterov) does, per parameter p with gradient g of the loss and weight decay κ,

    g ← g + κ p,    p ← p − lr · g,    i.e.    p ← (1 − lr·κ) p − lr · g.

With the loss the MEAN cost of the mini-batch, g = (1/m) Σ_x ∂C_x/∂p, and lr = η this is
p ← (1 − ηκ) p − (η/m) Σ_x ∂C_x/∂p; matching network2's (1 − ηλ/n) needs κ = λ/n (not λ, and
not λ/m). Biases are not decayed, so they sit in their own parameter group with κ = 0:

    [{"params": weights, "weight_decay": λ/n}, {"params": biases, "weight_decay": 0}], lr = η.

Only rounding differs from the reference: torch forms lr·(g + κp) where the reference forms
(1 − ηλ/n)·w − η·g.

The run uses one intra-op thread (restored afterwards): its matrices are tiny, and on a shared
machine OpenMP's waiting workers made a 650-step run 50× slower (4.3 s against 0.09 s per epoch).
"""

from __future__ import annotations

import numpy as np
import torch

from oracles import bound_ops
from oracles.torch_autograd import ACTIVATIONS, LAYERS, per_sample_cost
from oracles.trainers import Order, check_run
from reference import Architecture, Params, Step
from reference.types import Array


def trajectory(
    arch: Architecture, params: Params, x: Array, y: Array, order: Order, step: Step
) -> list[Params]:
    """The parameters after each torch.optim.SGD step, one per mini-batch of ``order``."""
    check_run(arch, params, x, y, order, step)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(arch, params, x, y, order, step)
    finally:
        torch.set_num_threads(threads)


def _train(
    arch: Architecture, params: Params, x: Array, y: Array, order: Order, step: Step
) -> list[Params]:
    names = [a.name for a in arch.sigmas]
    ops = bound_ops(LAYERS, arch, "torch_sgd")
    dtype = params.weights[0].dtype
    ws = [torch.tensor(w, requires_grad=True) for w in params.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in params.biases]
    optimizer = torch.optim.SGD(
        [
            {"params": ws, "weight_decay": step.lmbda / step.n},
            {"params": bs, "weight_decay": 0.0},
        ],
        lr=step.eta,
    )
    x_all, y_all = torch.tensor(x.astype(dtype)), torch.tensor(y.astype(dtype))
    steps = []
    for batch in order:
        index = torch.as_tensor(np.asarray(batch))
        a, y_batch = x_all[:, index], y_all[:, index]
        for w, b, name, op in zip(ws, bs, names, ops, strict=True):
            z = op(w, b, a)
            a = ACTIVATIONS[name](z)
        optimizer.zero_grad()
        cost = per_sample_cost(arch.cost, z, a, y_batch).mean()
        cost.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        steps.append(
            Params(
                tuple(w.detach().numpy().copy() for w in ws),
                tuple(b.detach().numpy().copy() for b in bs),
            )
        )
    return steps
