"""The JAX oracle's shared padded program gives the gradients of the unpadded net.

Padding is claimed exact (padded weights are 0, padded outputs and samples masked out), so the
padded program must agree with a program compiled for the net's own shapes as two autograd
computations do: within the autograd error model. A leak of one padded unit (σ(0) = 0.5, ln 2)
into a real one would be off by O(1); so would a padded row of a softmax output let into its
normaliser (e^0 = 1 added to Σ e^z), which the program masks out as e^{−∞} = 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from errormodel.rounding import error_scales
from errormodel.tolerances import bound_allowed
from oracles import jax_grad
from reference import Architecture, make_case

A = Architecture
NETS = [
    A((1, 1), "sigmoid", "quadratic", batch=1),  # the smallest: almost all padding
    A((3, 5, 2), ("relu", "sigmoid"), "cross_entropy", batch=7),
    A((4, 6, 6, 3), ("softplus", "leaky_relu", "identity"), "quadratic", batch=5, seed=2),
    A(
        (32,) * 9, ("tanh", "relu", "softplus", "sigmoid") * 2, "cross_entropy", batch=16
    ),  # fills it
    A((3, 5, 4), ("relu", "softmax"), "log_likelihood", batch=7),  # 28 padded output rows
    A((4, 6, 2), ("tanh", "softmax"), "quadratic", batch=3, seed=1),  # BP1's Jacobian form
    A((2, 1), "softmax", "log_likelihood", batch=2),  # one real row: a^L = 1, δ^L = 0
    A((5, 32), "softmax", "log_likelihood", batch=16, weight_scale=30.0),  # no padded rows
]


@pytest.mark.parametrize("arch", NETS, ids=lambda a: a.id)
def test_padded_program_matches_one_compiled_for_the_net(arch):
    assert max(arch.sizes) <= jax_grad.SMALL["width"] and arch.batch <= jax_grad.SMALL["batch"]
    params, batch = make_case(arch)
    padded = jax_grad._padded(arch, params, batch)
    own = jax_grad._per_shape(arch, params, batch)
    bounds = error_scales(arch, params, batch, np.float64, numerical=False).rounding
    for (quantity, layer, ours), (_, _, theirs) in zip(padded.items(), own.items(), strict=True):
        allowed = bound_allowed(bounds[quantity, layer], np.float64)
        assert np.abs(ours - theirs).max() <= allowed, f"{arch.id}: {quantity} of layer {layer}"


def test_only_nets_that_fit_are_padded(monkeypatch):
    used = []
    monkeypatch.setattr(jax_grad, "_padded", lambda *args: used.append("padded"))
    monkeypatch.setattr(jax_grad, "_per_shape", lambda *args: used.append("per shape"))
    for arch in (NETS[-1], A((33, 2)), A((2, 2), batch=17), A((2,) * 10)):
        params, batch = make_case(arch)
        jax_grad.gradients(arch, params, batch)
    assert used == ["padded", "per shape", "per shape", "per shape"]


def test_a_padded_softmax_is_exactly_the_unpadded_one():
    """The masked normaliser is exact: on a one-layer softmax net padded and per-shape results
    agree to a few ulps, while the 28 padded rows let into the normaliser (each e^0 = 1) would
    move δ^L = a − y by more than 0.1."""
    arch = A((3, 4), "softmax", "log_likelihood", batch=3, seed=4)
    params, batch = make_case(arch)
    padded = jax_grad._padded(arch, params, batch)
    own = jax_grad._per_shape(arch, params, batch)
    for (_, _, ours), (_, _, theirs) in zip(padded.items(), own.items(), strict=True):
        assert np.abs(ours - theirs).max() <= 4 * np.finfo(np.float64).eps
    e = np.exp(params.weights[0] @ batch.x + params.biases[0])
    leaked = e / (e.sum(axis=0) + jax_grad.SMALL["width"] - e.shape[0])
    assert np.abs(leaked - e / e.sum(axis=0)).max() > 0.1
