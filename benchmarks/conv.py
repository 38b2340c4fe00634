"""Measure 9: the reference's convolution and max-pool against torch's CPU conv2d / max_pool2d.

The LeNet-like net of the book's chapter 6 (:data:`LENET`) at m = 100, forward and backward
(every δ^l, ∂C/∂b^l, ∂C/∂w^l): the reference's :func:`reference.backprop` against the same net in
torch's own layout (samples first, NCHW), one thread, its gradients taken by autograd with respect
to every z^l and parameter as the torch oracle does. Also each map layer on its own, forward and
BP2–BP4, to show where the time goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from benchmarks.rows import Row
from reference import Architecture, backprop, make_case
from reference.layers import Conv, MaxPool

#: The book's chapter 6 net: 20 maps of 5×5, pool 2×2, 40 maps of 5×5, pool 2×2, dense 100,
#: softmax 10, on 28×28 inputs.
LENET = ((1, 28, 28), Conv(20, 5), MaxPool(2), Conv(40, 5), MaxPool(2), 100, 10)
LENET_ACTIVATIONS = ("sigmoid", "identity", "sigmoid", "identity", "sigmoid", "softmax")
#: The figure's target: the reference within this factor of torch's time.
TARGET = 2.0


def lenet(m: int) -> Architecture:
    return Architecture(LENET, LENET_ACTIVATIONS, "log_likelihood", batch=m)


def torch_net(arch: Architecture) -> Callable[..., Any]:
    """Forward and backward of ``arch`` in torch's NCHW layout: autograd's gradients of Σ_x C_x
    with respect to every z^l, w^l and b^l (the pools have none)."""
    import torch
    import torch.nn.functional as F

    params, batch = make_case(arch)
    ws = [torch.tensor(w, requires_grad=True) for w in params.weights]
    bs = [torch.tensor(b, requires_grad=True) for b in params.biases]
    x = torch.tensor(np.ascontiguousarray(np.moveaxis(batch.x, -1, 0)))
    y = torch.tensor(np.ascontiguousarray(batch.y.T))

    def run() -> object:
        a, zs, wanted = x, [], []
        for layer, w, b in zip(arch.layers, ws, bs, strict=True):
            if isinstance(layer, Conv):
                z = F.conv2d(a, w, b[:, 0], stride=layer.stride, padding=layer.padding)
                wanted += [w, b]
            elif isinstance(layer, MaxPool):
                z = F.max_pool2d(a, layer.window, layer.step)
            else:
                z = a.reshape(a.shape[0], -1) @ w.T + b[:, 0]
                wanted += [w, b]
            zs.append(z)
            a = torch.sigmoid(z) if layer.activation == "sigmoid" else z
        cost = -(y * torch.log_softmax(zs[-1], dim=1)).sum()
        return torch.autograd.grad(cost, [*zs, *wanted])

    return run


def against_torch(rounds: int, round_times: Callable[..., dict[str, list[float]]]) -> Iterator[Row]:
    """9. The LeNet-like net at m = 100, the reference against torch on one thread."""
    import torch

    torch.set_num_threads(1)
    arch = lenet(100)
    params, batch = make_case(arch)
    candidates: dict[str, Callable[[], object]] = {
        "reference": lambda: backprop(arch, params, batch.x, batch.y),
        "torch": torch_net(arch),
    }
    times = round_times(candidates, rounds)
    ratio = float(np.median(np.divide(times["reference"], times["torch"])))
    t = {name: float(np.median(s)) * 1e3 for name, s in times.items()}
    yield Row(
        "9. conv: reference vs torch conv2d/max_pool2d, LeNet-like m=100, forward+backward",
        f"reference {ratio:.2f}x torch's time ({t['reference']:.1f} vs {t['torch']:.1f} ms)",
        f"<= {TARGET:g}x",
        ratio <= TARGET,
    )
