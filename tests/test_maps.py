"""Convolution and max-pooling (issue 25): the reference's map equations, their records, their
error model and their power to catch the bugs people write.

Three independent checks of the equations:

- exactness: on small integers (|x| ≤ 4, kernels |w| ≤ 3, m a power of 2) every product, sum and
  the batch mean is exact in float64, so the reference, torch's conv2d/max_pool2d under autograd
  and a loop over the definition must agree bit for bit, whatever order each sums in;
- the definition: z^l and ∂z^l/∂â^{l−1} written as loops over every (o, c, i, j, u, v);
- the float64 error against the same backprop in extended precision (np.longdouble, 11 more
  bits) stays within ε·B, the error model's bound.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from errormodel.rounding import error_scales
from harness.cases import build_case, compare_all, oracle_output
from reference import Architecture, ArchitectureError, Batch, Params, backprop, make_case
from reference import map_equations as maps
from reference.layers import Conv, MaxPool
from suite.architectures import MAPS

#: (C_in, H, W), kernel, stride, padding, C_out: the edge cases of a convolution.
CONV_CASES = [
    ((2, 5, 5), (3, 3), 1, 0, 3),
    ((1, 6, 6), (1, 1), 1, 0, 2),  # 1×1 kernels
    ((3, 4, 4), (4, 4), 1, 0, 2),  # kernel = input size
    ((2, 7, 6), (3, 3), 2, 1, 3),  # stride 2 with padding; a row left over
    ((2, 6, 6), (2, 3), 3, 2, 2),  # stride > kernel, padding 2, a 2×3 kernel
    ((1, 5, 5), (5, 5), 1, 2, 1),  # kernel = input, padded: every alignment
]
#: (C, H, W), window, stride: disjoint, overlapping and ragged windows.
POOL_CASES = [((2, 6, 6), 2, 2), ((1, 7, 7), 3, 1), ((2, 7, 5), 2, 2), ((1, 5, 5), 3, 2)]
M = 4  # a power of 2: the batch mean divides exactly


def small_integers(rng: np.random.Generator, shape: tuple[int, ...], top: int) -> np.ndarray:
    return rng.integers(-top, top + 1, shape).astype(np.float64)


def torch_conv(a, w, b, stride, padding):
    """z^l by torch (its layout: samples first), and the tensors autograd needs."""
    a_t = torch.tensor(np.moveaxis(a, -1, 0).copy(), requires_grad=True)
    w_t = torch.tensor(w, requires_grad=True)
    b_t = torch.tensor(b[:, 0].copy(), requires_grad=True)
    z = torch.nn.functional.conv2d(a_t, w_t, b_t, stride=stride, padding=padding)
    return z, a_t, w_t, b_t


@pytest.mark.parametrize("in_shape, kernel, stride, padding, c_out", CONV_CASES)
def test_convolution_is_exact_on_integers(in_shape, kernel, stride, padding, c_out) -> None:
    """Forward, BP2 (σ' = 1), BP3 and BP4 of one convolution equal torch's to the last bit."""
    rng = np.random.default_rng(sum(in_shape) + stride)
    a = small_integers(rng, (*in_shape, M), 4)
    w = small_integers(rng, (c_out, in_shape[0], *kernel), 3)
    b = small_integers(rng, (c_out, 1), 3)
    z = maps.conv_weighted_input(w, a, b, stride, padding)
    z_t, a_t, w_t, b_t = torch_conv(a, w, b, stride, padding)
    np.testing.assert_array_equal(z, np.moveaxis(z_t.detach().numpy(), 0, -1))
    delta = small_integers(rng, z.shape, 3)
    z_t.backward(torch.tensor(np.moveaxis(delta, -1, 0).copy()))
    back = maps.conv_backpropagate_error(w, delta, np.ones_like(a), stride, padding)
    np.testing.assert_array_equal(back, np.moveaxis(a_t.grad.numpy(), 0, -1))
    np.testing.assert_array_equal(maps.conv_bias_gradient(delta), b_t.grad.numpy()[:, None] / M)
    dw = maps.conv_weight_gradient(delta, a, kernel, stride, padding)
    np.testing.assert_array_equal(dw, w_t.grad.numpy() / M)


@pytest.mark.parametrize("in_shape, kernel, stride, padding, c_out", CONV_CASES)
def test_convolution_is_its_definition(in_shape, kernel, stride, padding, c_out) -> None:
    """z^l and BP2 against loops over the definition z_{o,i,j} = Σ w_{o,c,u,v} â_{c,si+u,sj+v}."""
    rng = np.random.default_rng(7 + stride)
    a = small_integers(rng, (*in_shape, 2), 4)
    w = small_integers(rng, (c_out, in_shape[0], *kernel), 3)
    b = np.zeros((c_out, 1))
    z = maps.conv_weighted_input(w, a, b, stride, padding)
    delta = small_integers(rng, z.shape, 3)
    padded = np.pad(a, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    want_z = np.zeros_like(z)
    want_grad = np.zeros_like(padded)
    c_in, (k_h, k_w) = in_shape[0], kernel
    for o, i, j in itertools.product(range(c_out), range(z.shape[1]), range(z.shape[2])):
        for c, u, v in itertools.product(range(c_in), range(k_h), range(k_w)):
            at = (c, stride * i + u, stride * j + v)
            want_z[o, i, j] += w[o, c, u, v] * padded[at]
            want_grad[at] += w[o, c, u, v] * delta[o, i, j]
    h, w_ = in_shape[1:]
    np.testing.assert_array_equal(z, want_z)
    got = maps.conv_backpropagate_error(w, delta, np.ones_like(a), stride, padding)
    np.testing.assert_array_equal(got, want_grad[:, padding : padding + h, padding : padding + w_])


@pytest.mark.parametrize("in_shape, window, stride", POOL_CASES)
def test_max_pool_routes_as_torch_and_jax_do(in_shape, window, stride) -> None:
    """A max-pool's z and BP2 on values with ties (integers 0…2): each window's δ goes to its
    first maximum in row-major order, as torch and XLA route it; the ties are found."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(window * 10 + stride)
    a = rng.integers(0, 3, (*in_shape, M)).astype(np.float64)
    z = maps.max_pool(a, window, stride)
    delta = small_integers(rng, z.shape, 3)
    back = maps.max_pool_backpropagate_error(delta, a, np.ones_like(a), window, stride)
    a_t = torch.tensor(np.moveaxis(a, -1, 0).copy(), requires_grad=True)
    z_t = torch.nn.functional.max_pool2d(a_t, window, stride)
    z_t.backward(torch.tensor(np.moveaxis(delta, -1, 0).copy()))
    np.testing.assert_array_equal(z, np.moveaxis(z_t.detach().numpy(), 0, -1))
    np.testing.assert_array_equal(back, np.moveaxis(a_t.grad.numpy(), 0, -1))

    def pooled(x):
        dims = (1, window, window, 1)
        return jax.lax.reduce_window(
            x, -jnp.inf, jax.lax.max, dims, (1, stride, stride, 1), "VALID"
        )

    _, vjp = jax.vjp(pooled, jnp.asarray(a))
    np.testing.assert_array_equal(back, np.asarray(vjp(jnp.asarray(delta))[0]))
    ties = maps.max_pool_ties(a, window, stride)
    patches = maps.windows(a, (window, window), stride)
    counted = [(p == p.max()).sum() > 1 for p in patches.reshape(-1, window * window)]
    assert ties.any() and ties.ravel().tolist() == counted


@pytest.mark.parametrize("arch", MAPS, ids=lambda a: a.id)
def test_rounding_bound_covers_the_reference(arch: Architecture) -> None:
    """|float64 − extended precision| ≤ ε·B for every quantity of every layer: the error model's
    bound for feature maps covers what the reference's own arithmetic loses."""
    if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps / 2**8:
        pytest.skip("np.longdouble is no wider than float64 here")
    params, batch = make_case(arch)
    ours = backprop(arch, params, batch.x, batch.y)
    wide = backprop(
        arch,
        params.astype(np.longdouble),
        batch.x.astype(np.longdouble),
        batch.y.astype(np.longdouble),
    )
    scales = error_scales(arch, params, batch, np.float64, numerical=False)
    eps = float(np.finfo(np.float64).eps)
    for (quantity, layer, value), (_, _, truth) in zip(ours.items(), wide.items(), strict=True):
        error = float(np.max(np.abs(value - truth)))
        assert error <= eps * scales.rounding[quantity, layer], (quantity, layer, error)


def test_every_map_oracle_agrees_and_the_rest_decline() -> None:
    """On the LeNet-like net torch and jax agree within B; the oracles still written for dense
    layers say so (not applicable, counted), never pass."""
    from oracles import NotApplicable

    arch = MAPS[0]
    case = build_case(arch)
    for oracle in ("torch", "jax"):
        compared = compare_all(case, oracle_output(arch, oracle), oracle)
        assert len(compared) == 14 and all(c.ratio <= 1 for c in compared)
    for oracle in ("fd", "forward_mode", "complex_step"):
        with pytest.raises(NotApplicable, match="dense layers only"):
            oracle_output(arch, oracle)


def _no_flip(w_next, delta_next, sigma_prime_z, stride, padding):
    return _correct["conv_backpropagate_error"](
        w_next[:, :, ::-1, ::-1], delta_next, sigma_prime_z, stride, padding
    )


def _bias_at_one_position(delta):
    return delta[:, 0, 0].sum(axis=-1).reshape(-1, 1) / delta.shape[-1]


def _stride_ignored_backward(w_next, delta_next, sigma_prime_z, stride, padding):
    return _correct["conv_backpropagate_error"](w_next, delta_next, sigma_prime_z, 1, padding)


def _route_to_every_tie(delta_next, a_prev, sigma_prime_z, window, stride):
    patches = maps.windows(a_prev, (window, window), stride)
    top = patches.max(axis=(4, 5))
    routed = np.zeros_like(a_prev)
    _, h_out, w_out, _ = delta_next.shape
    for u, v in itertools.product(range(window), range(window)):
        into = routed[:, u : u + stride * h_out : stride, v : v + stride * w_out : stride]
        into += np.where(patches[..., u, v] == top, delta_next, 0.0)
    return routed * sigma_prime_z


_correct = {name: getattr(maps, name) for name in ("conv_backpropagate_error",)}

#: A net whose pool windows tie where σ' = 1: identity maps, a 1×1 kernel of 1 (a^2 = x), and
#: integer inputs 0…1, so most 2×2 windows hold their maximum twice or more.
TIED = Architecture(((1, 4, 4), Conv(1, 1), MaxPool(2), 2), "identity", batch=2)


def tied_case() -> tuple[Params, Batch]:
    params, batch = make_case(TIED)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 2, batch.x.shape).astype(np.float64)
    weights = (np.ones((1, 1, 1, 1)), *params.weights[1:])
    biases = (np.zeros((1, 1)), *params.biases[1:])
    return Params(weights, biases), Batch(x, batch.y)


#: A planted bug, the net that shows it, and the first quantity and layer it breaks.
PLANTED = {
    "kernel not flipped": ("conv_backpropagate_error", _no_flip, MAPS[7], ("delta", 3)),
    "bias at one position": ("conv_bias_gradient", _bias_at_one_position, MAPS[1], ("nabla_b", 2)),
    "stride ignored": ("conv_backpropagate_error", _stride_ignored_backward, MAPS[8], ("delta", 2)),
    "every tie": ("max_pool_backpropagate_error", _route_to_every_tie, TIED, ("delta", 2)),
}


@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_conv_bug_fails_the_gate(monkeypatch, planted: str) -> None:
    """The gate's comparison against torch fails at the quantity and layer the bug breaks (and
    passes there without it): the conv comparisons can fail."""
    import reference.layers.conv as conv_layer
    import reference.layers.pool as pool_layer
    from harness.cases import assemble_case
    from oracles.torch_autograd import gradients as torch_gradients

    name, bug, arch, first = PLANTED[planted]
    params, batch = tied_case() if arch is TIED else make_case(arch)
    theirs = torch_gradients(arch, params, batch)

    def ratios() -> dict[tuple[str, int], float]:
        case = assemble_case(arch, params, batch, np.float64)
        return {(c.quantity, c.layer): c.ratio for c in compare_all(case, theirs, "torch")}

    right = ratios()
    for module in (maps, conv_layer, pool_layer):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, bug)
    wrong = ratios()
    assert max(right.values()) <= 1 < wrong[first], (right[first], wrong[first])


def test_a_map_line_rebuilds_itself_and_names_its_faults() -> None:
    """The one-line form: id, repr that rebuilds the record, and one-line faults."""
    arch = MAPS[0]
    assert arch.id.startswith("1x28x28-c20k5-mp2-c40k5-mp2-100-10_")
    assert (
        eval(repr(arch), {"Architecture": Architecture, "Conv": Conv, "MaxPool": MaxPool}) == arch
    )
    assert [layer.out_shape for layer in arch.layers] == [
        (20, 24, 24),
        (20, 12, 12),
        (40, 8, 8),
        (40, 4, 4),
        (100,),
        (10,),
    ]
    faults = {
        Architecture(((1, 5, 5), Conv(2, 7), 3)): "larger than its padded input",
        Architecture((4, Conv(2, 1), 3)): "needs feature maps",
        Architecture(((1, 4, 4), MaxPool(2), Conv(1, 1))): "output layer must be dense",
        Architecture(((1, 4, 4), MaxPool(2), 3), ("relu", "relu")): "pool's σ is the identity",
        Architecture(((1, 4, 4), MaxPool(5), 3)): "larger than its input",
        Architecture(((1, 4, 4), Conv(0, 1), 3)): "maps must be a positive integer",
    }
    for bad, words in faults.items():
        with pytest.raises(ArchitectureError, match=words):
            bad.check()


@pytest.mark.parametrize("arch", MAPS[1:], ids=lambda a: a.id)
def test_one_sample_at_a_time_is_the_batch(arch: Architecture) -> None:
    """network.py's way (one sample's maps at a time, then the mean) gives the batch's δ^l,
    ∂C/∂b^l, ∂C/∂w^l within the bound B (both are the reference, summed in other orders)."""
    from reference.backprop import backprop_per_sample

    params, batch = make_case(arch)
    ours = backprop(arch, params, batch.x, batch.y)
    one_by_one = backprop_per_sample(arch, params, batch.x, batch.y)
    scales = error_scales(arch, params, batch, np.float64, numerical=False)
    eps = float(np.finfo(np.float64).eps)
    for (quantity, layer, value), (_, _, other) in zip(
        ours.items(), one_by_one.items(), strict=True
    ):
        error = float(np.max(np.abs(value - other)))
        assert error <= 2 * eps * scales.rounding[quantity, layer], (quantity, layer, error)
