"""The reference against itself: matrix form vs network.py's per-sample path, and SGD."""

from __future__ import annotations

import re

import numpy as np
import pytest

from errormodel.rounding import error_scales
from errormodel.tolerances import bound_allowed
from reference import (
    Architecture,
    ArchitectureError,
    Params,
    Step,
    backprop,
    backprop_per_sample,
    cost,
    make_case,
    sgd,
    update_mini_batch,
    update_mini_batch_per_sample,
)
from reference.sgd import mini_batch_order
from suite.architectures import CURATED, curated


@pytest.mark.parametrize("arch", CURATED, ids=lambda a: a.id)
def test_matrix_form_equals_per_sample_backprop(arch):
    params, batch = make_case(arch)
    matrix = backprop(arch, params, batch.x, batch.y)
    loop = backprop_per_sample(arch, params, batch.x, batch.y)
    bounds = error_scales(arch, params, batch, np.float64, numerical=False).rounding
    for quantity, layer, ours in matrix.items():
        theirs = loop.get(quantity, layer)
        # the same formulas summed in another order: each within ε·B of the truth
        allowed = bound_allowed(bounds[quantity, layer], np.float64)
        assert np.abs(ours - theirs).max() <= allowed, f"{arch.id}: {quantity} of layer {layer}"


SGD_NETS = [
    "784-30-10_sigmoid_quadratic_m10_s0_normal",
    "2-3-1_sigmoid_quadratic_m4_s0",
    "5-4-4-4-4-4-3_tanh_quadratic_m3_s0",
    "8-3-3-3-3-3-3-3-2_sigmoid_cross_entropy_m5_s0",
    "1-1-1-1_sigmoid_quadratic_m2_s0",
    "3-1-4-1-2_relu,tanh,softplus,sigmoid_quadratic_m3_s0",
]


@pytest.mark.parametrize("arch_id", SGD_NETS)
@pytest.mark.parametrize("lmbda", [0.0, 5.0])
def test_update_mini_batch_forms_agree(arch_id, lmbda):
    arch = curated(arch_id)
    params, batch = make_case(arch)
    step = Step(eta=0.5, lmbda=lmbda, n=50)
    a = update_mini_batch(arch, params, batch.x, batch.y, step)
    b = update_mini_batch_per_sample(arch, params, batch.x, batch.y, step)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-13 * max(1.0, np.abs(wa).max()))


def test_sgd_step_is_the_books_formula():
    arch = Architecture((3, 2), "identity", "quadratic", batch=4)
    params, batch = make_case(arch)
    step = Step(eta=0.3, lmbda=2.0, n=10)
    new = update_mini_batch(arch, params, batch.x, batch.y, step)
    # for a linear layer with quadratic cost, ∂C_x/∂w = (w x + b − y) xᵀ, summed over samples
    w, b = params.weights[0], params.biases[0]
    residual = w @ batch.x + b - batch.y
    expected_w = (1 - 0.3 * 2.0 / 10) * w - 0.3 / 4 * residual @ batch.x.T
    expected_b = b - 0.3 / 4 * residual.sum(axis=1, keepdims=True)  # biases are not decayed
    np.testing.assert_allclose(new.weights[0], expected_w, rtol=1e-14)
    np.testing.assert_allclose(new.biases[0], expected_b, rtol=1e-14)


def test_sgd_lowers_the_cost_of_a_toy_problem():
    arch = Architecture((2, 3, 1), "sigmoid", "quadratic", batch=64)
    params, batch = make_case(arch)
    before = cost(arch, params, batch.x, batch.y)
    trained = sgd(
        arch, params, batch.x, batch.y, epochs=30, mini_batch_size=8, step=Step(eta=3.0), seed=1
    )
    assert cost(arch, trained, batch.x, batch.y) < 0.8 * before


def test_shuffle_is_seeded_and_covers_every_sample_each_epoch():
    first, again = mini_batch_order(10, 3, 2, seed=4), mini_batch_order(10, 3, 2, seed=4)
    assert all((a == b).all() for a, b in zip(first, again, strict=True))
    assert sorted(np.concatenate(first[:4]).tolist()) == list(range(10))
    assert [len(b) for b in first[:4]] == [3, 3, 3, 1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eta": 0.0}, "eta must be > 0"),
        ({"eta": 1.0, "lmbda": -1.0}, "lmbda must be >= 0"),
        ({"eta": 1.0, "n": 0}, "n must be >= 1"),
    ],
)
def test_bad_step_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Step(**kwargs)


def test_bad_batches_are_named():
    arch = Architecture((3, 2), "sigmoid", batch=4)
    params, batch = make_case(arch)
    with pytest.raises(ValueError, match="mini-batch size must be in 1…4"):
        mini_batch_order(4, 5, 1, seed=0)
    with pytest.raises(ValueError, match=r"x must be \(3, m\)"):
        update_mini_batch(arch, params, batch.x[:2], batch.y, Step(eta=1.0))
    with pytest.raises(ValueError, match="x has 4 samples but y has 3"):
        update_mini_batch(arch, params, batch.x, batch.y[:, :3], Step(eta=1.0))


def test_float32_is_selectable():
    arch = Architecture((4, 3, 2), "tanh", batch=3)
    params, batch = make_case(arch, np.float32)
    grads = backprop(arch, params, batch.x, batch.y)
    assert {a.dtype for _, _, a in grads.items()} == {np.dtype(np.float32)}


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("where", ["x", "y", "w^2", "b^2", "w^3"])
@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_a_non_finite_input_is_named_even_where_the_results_would_stay_finite(
    activation, where, value
):
    """backprop scans its inputs only when a sum of the z^l or of ∂C/∂b^L is not finite; ∞ in a
    sigmoid's bias saturates (σ' = 0, every result finite), so only z^l's sum can catch it."""
    arch = Architecture((3, 4, 2), activation, "quadratic", batch=2)
    params, batch = make_case(arch)
    ws, bs = [w.copy() for w in params.weights], [b.copy() for b in params.biases]
    x, y = batch.x.copy(), batch.y.copy()
    {"x": x, "y": y, "w^2": ws[0], "b^2": bs[0], "w^3": ws[1]}[where].flat[1] = value
    with pytest.raises(ValueError, match=rf"^{re.escape(arch.id)}: {re.escape(where)} has 1 "):
        backprop(arch, Params(tuple(ws), tuple(bs)), x, y)


def test_a_dense_net_is_a_list_of_layers_with_the_same_record():
    """Architecture.of_layers builds the record of today's one-line form (same id and repr), its
    layers own BP2–BP4 (the reference's gradients are theirs), and a miswired layer is named."""
    from reference.layers import Dense

    line = Architecture((5, 4, 3), ("tanh", "sigmoid"), "quadratic", batch=3)
    built = Architecture.of_layers(5, [Dense(5, 4, "tanh"), Dense(4, 3, "sigmoid")], batch=3)
    assert built == line and built.id == line.id and repr(built) == repr(line)
    assert line.layers == (Dense(5, 4, "tanh"), Dense(4, 3, "sigmoid"))
    assert [layer.weight_shape for layer in line.layers] == [(4, 5), (3, 4)]
    params, batch = make_case(line)
    grads = backprop(line, params, batch.x, batch.y)
    assert grads.shapes_match(line.layers, 3) == []
    assert grads.shapes_match(line.layers, 2) != []
    with pytest.raises(ArchitectureError, match="fed by 4 neurons, not 5"):
        Architecture.of_layers(5, [Dense(5, 4), Dense(5, 3)])
