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

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from errormodel.layer_terms import MAP_PERTURBATIONS
from errormodel.rounding import error_scales
from harness.cases import build_case, compare_all, oracle_output
from oracles import map_stacks, torch_autograd
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


#: The oracles that judge feature maps by perturbations (differences, complex steps, tangents).
NUMERICAL = ("fd", "forward_mode", "complex_step")


def test_every_map_oracle_judges_the_lenet_like_net() -> None:
    """On the LeNet-like net (38,160 perturbations, over the budget) torch and jax judge every
    element within B; the perturbation oracles judge the seeded sample of each quantity of more
    than MAP_SAMPLE elements (δ^l: those elements in every sample) and every element of the
    rest, within their derived bounds, and each comparison says how many it judged."""
    from errormodel.layer_terms import MAP_SAMPLE, map_perturbations

    arch = MAPS[0]
    assert map_perturbations(arch.layers) == 38_160 > MAP_PERTURBATIONS
    case = build_case(arch)
    for oracle in ("torch", "jax"):
        compared = compare_all(case, oracle_output(arch, oracle), oracle)
        assert len(compared) == 14 and all(c.ratio <= 1 and not c.judged for c in compared)
    for oracle in NUMERICAL:
        compared = compare_all(case, oracle_output(arch, oracle), oracle)
        assert len(compared) == 14 and all(c.ratio <= 1 for c in compared)
        for c in compared:
            size = int(np.prod(c.shape))
            per_sample = size // arch.batch if c.quantity == "delta" else size
            if per_sample > MAP_SAMPLE:
                judged = MAP_SAMPLE * (arch.batch if c.quantity == "delta" else 1)
                assert c.judged == judged, c.message()
                assert f"a seeded sample: {judged} of {size} elements judged" in c.message()
            else:
                assert c.judged == 0, c.message()


def test_a_sample_is_judged_as_the_whole_would_be(monkeypatch) -> None:
    """A small net forced over the budget: each perturbation oracle's sampled values are its
    values of the whole net at those elements (NaN elsewhere, never compared), every quantity
    is judged on the same elements by all three, and the FD truncation bound of a sample is
    the whole's at most (a largest over fewer perturbations)."""
    import errormodel.layer_terms as terms
    from harness.cases import assemble_case
    from oracles import get_oracle

    arch = MAPS[8]
    params, batch = make_case(arch)
    whole_case = assemble_case(arch, params, batch, np.float64)
    whole = {o: get_oracle(o).run(arch, params, batch) for o in NUMERICAL}
    monkeypatch.setattr(terms, "MAP_PERTURBATIONS", 0)
    monkeypatch.setattr(terms, "MAP_SAMPLE", 5)
    sample = terms.map_sample(arch.layers)
    assert sample and all(len(which) == 5 for which in sample.values())
    case = assemble_case(arch, params, batch, np.float64)
    for key, bound in case.scales.fd_truncation.items():
        assert bound <= whole_case.scales.fd_truncation[key], key
    masks = None
    for oracle in NUMERICAL:
        output = get_oracle(oracle).run(arch, params, batch)
        assert masks is None or output.judged.keys() == masks.keys()
        masks = output.judged
        assert {key for key in masks} == set(sample)
        for quantity, layer, value in output.gradients.items():
            judged = output.sample(quantity, layer)
            full = whole[oracle].gradients.get(quantity, layer)
            if judged is None:
                np.testing.assert_allclose(value, full, rtol=1e-12, atol=1e-300)
                continue
            assert np.isnan(value[~judged]).all() and np.isfinite(value[judged]).all()
            np.testing.assert_allclose(value[judged], full[judged], rtol=1e-12, atol=1e-300)
        compared = compare_all(case, output, oracle)
        assert all(c.passed for c in compared), max(compared, key=lambda c: c.ratio)
        assert {(c.quantity, c.layer) for c in compared if c.judged} == set(sample)


def test_a_bug_in_a_sampled_element_fails_and_the_rest_is_not_compared() -> None:
    """The comparison of a sample: elements outside it (NaN) are not compared and not counted
    as excluded; one wrong element inside it fails; the record keeps the count, and an unsampled
    comparison's record has no ``judged`` field (the records keep their form)."""
    from errormodel.compare import compare
    from suite.results import Record, comparison_record

    rng = np.random.default_rng(0)
    ours = rng.normal(size=(4, 5))
    judged = np.zeros_like(ours, dtype=bool)
    judged[[0, 2, 3], [1, 4, 0]] = True
    theirs = np.where(judged, ours, np.nan)
    where = {"quantity": "nabla_w", "layer": 2, "oracle": "fd"}
    right = compare(ours, theirs, 1e-12, **where, judged=judged)
    assert right.passed and right.judged == 3 and right.excluded == 0
    assert "3 of 20 elements judged" in right.message()
    theirs[2, 4] += 1e-6
    wrong = compare(ours, theirs, 1e-12, **where, judged=judged)
    assert not wrong.passed and wrong.worst_index == (2, 4)
    rec = comparison_record(MAPS[0], wrong, "float64", (ours, theirs))
    assert rec["judged"] == 3 and "diff_map" not in rec
    assert Record.from_dict(rec | {"test": "t"}).to_dict()["judged"] == 3
    assert "judged" not in compare(ours, ours, 1e-12, **where).as_dict()


#: (net, oracle) pairs a perturbation oracle declines, with why (counted by the gate too).
DECLINED = {
    (MAPS[6].id, "complex_step"): "relu is not analytic",
    (MAPS[7].id, "complex_step"): "maximum is tied",
}


@pytest.mark.parametrize("oracle", NUMERICAL)
@pytest.mark.parametrize("arch", MAPS[1:], ids=lambda a: a.id)
def test_the_perturbation_oracles_judge_every_map_layer(arch: Architecture, oracle: str) -> None:
    """FD, forward mode and the complex step give every δ^l, ∂C/∂b^l, ∂C/∂w^l of a map net in
    the reference's shapes, within their derived bounds (or decline, saying why)."""
    from oracles import NotApplicable

    case = build_case(arch)
    if (arch.id, oracle) in DECLINED:
        with pytest.raises(NotApplicable, match=DECLINED[arch.id, oracle]):
            oracle_output(arch, oracle)
        return
    output = oracle_output(arch, oracle)
    assert not output.gradients.shapes_match(arch.layers, arch.batch)
    compared = compare_all(case, output, oracle)
    assert len(compared) == len(list(case.reference.items()))
    assert all(c.ratio <= 1 for c in compared), max(compared, key=lambda c: c.ratio)


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


#: (planted bug, oracle) pairs that oracle cannot see, with why.
UNSEEN = {
    # the tied entries' δ is a kink of the max: FD excludes exactly the elements the bug changes
    ("every tie", "fd"): "FD excludes the tied windows' elements (kinks)",
    ("every tie", "complex_step"): "the complex step declines a net with a tied window",
    ("kernel not flipped", "complex_step"): "MAPS[7] has tied pool windows: declined",
    # MAPS[7] is saturated (weights ×30): its gradients, 1e-13…1.7e-8, sit at or below FD's
    # resolution there (allowed 1.1e-9, mostly ε_64·R/h, R the re-run cost's rounding scale)
    ("kernel not flipped", "fd"): "MAPS[7]'s gradients are below FD's resolution (saturated)",
}


@pytest.mark.parametrize("oracle", ["torch", *NUMERICAL])
@pytest.mark.parametrize("planted", PLANTED)
def test_a_planted_conv_bug_fails_the_gate(monkeypatch, planted: str, oracle: str) -> None:
    """The gate's comparison against each oracle fails at the quantity and layer the bug breaks
    (and passes there without it): the conv comparisons can fail."""
    import reference.layers.conv as conv_layer
    import reference.layers.pool as pool_layer
    from harness.cases import assemble_case
    from oracles import get_oracle

    if (planted, oracle) in UNSEEN:
        pytest.skip(UNSEEN[planted, oracle])
    name, bug, arch, first = PLANTED[planted]
    params, batch = tied_case() if arch is TIED else make_case(arch)
    theirs = get_oracle(oracle).run(arch, params, batch)

    def ratios() -> dict[tuple[str, int], float]:
        case = assemble_case(arch, params, batch, np.float64)
        return {(c.quantity, c.layer): c.ratio for c in compare_all(case, theirs, oracle)}

    right = ratios()
    for module in (maps, conv_layer, pool_layer):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, bug)
    wrong = ratios()
    assert max(right.values()) <= 1 < wrong[first], (right[first], wrong[first])


def _flipped_conv(layer, w, a):
    """A convolution whose kernel is turned by 180°: a bug of the oracle's own forward map."""
    return _correct_conv(layer, np.ascontiguousarray(w[:, :, ::-1, ::-1]), a)


def _unflipped_torch_conv(layer, w, b, a):
    return _correct_torch_conv(layer, w.flip(2, 3), b, a)


def _transposed_directions(layer, w, a_prev, z_shape):
    """∂z/∂w^l_{o,c,u,v} taken at (v, u): the oracle's parameter directions transposed."""
    bias, weight = _correct_directions(layer, w, a_prev, z_shape)
    c_in, (k_h, k_w) = layer.in_shape[0], layer.kernel_size
    order = np.arange(w.size).reshape(-1, c_in, k_h, k_w).transpose(0, 1, 3, 2).ravel()
    return bias, lambda p: weight(order[p])


_correct_conv = map_stacks.conv
_correct_directions = map_stacks.parameter_directions
_correct_torch_conv = torch_autograd.LAYERS[Conv]

#: A bug planted in an oracle's own map code: where, what, and the quantity it breaks on MAPS[8]
#: (two convolutions, the second strided and padded; k_h = k_w, so a 180° turn is visible).
ORACLE_BUGS = {
    "fd: kernel turned in the carried change": (
        "fd",
        lambda mp: mp.setattr(map_stacks, "conv", _flipped_conv),
        ("delta", 2),
    ),
    "fd: weight directions transposed": (
        "fd",
        lambda mp: mp.setattr(map_stacks, "parameter_directions", _transposed_directions),
        ("nabla_w", 2),
    ),
    "forward mode: unflipped kernel in the layer op": (
        "forward_mode",
        lambda mp: mp.setitem(torch_autograd.LAYERS, Conv, _unflipped_torch_conv),
        ("delta", 2),
    ),
    "complex step: kernel turned": (
        "complex_step",
        lambda mp: mp.setattr("oracles.complex_step.conv", _flipped_conv),
        ("delta", 2),
    ),
    "complex step: weight directions transposed": (
        "complex_step",
        lambda mp: mp.setattr("oracles.complex_step.parameter_directions", _transposed_directions),
        ("nabla_w", 2),
    ),
}


@pytest.mark.parametrize("bug", ORACLE_BUGS)
def test_a_bug_in_a_map_oracle_fails_the_gate(monkeypatch, bug: str) -> None:
    """Each new oracle path can fail: a bug planted in its own map code makes the gate's
    comparison of the quantity it breaks fail (and it passes without the bug)."""
    from oracles import get_oracle

    oracle, plant, first = ORACLE_BUGS[bug]
    arch = MAPS[8]
    case = build_case(arch)
    params, batch = case.params, case.batch

    def ratios() -> dict[tuple[str, int], float]:
        theirs = get_oracle(oracle).run(arch, params, batch)
        return {(c.quantity, c.layer): c.ratio for c in compare_all(case, theirs, oracle)}

    right = ratios()
    plant(monkeypatch)
    wrong = ratios()
    assert max(right.values()) <= 1 < wrong[first], (right[first], wrong[first])


def test_fd_excludes_and_counts_the_elements_at_pool_ties(monkeypatch) -> None:
    """On the tied net FD's ±h steps move some window's argmax: those elements are excluded and
    counted (the rest pass); without the pool's kink detection the same comparisons fail."""
    import oracles.finite_diff as fd
    from harness.cases import assemble_case

    params, batch = tied_case()
    case = assemble_case(TIED, params, batch, np.float64)
    compared = compare_all(case, fd.differences(TIED, params, batch), "fd")
    excluded = {(c.quantity, c.layer): c.excluded for c in compared}
    assert excluded["delta", 2] > 0 and all(c.ratio <= 1 for c in compared), excluded
    pool = fd.LAYERS[MaxPool]

    def blind(*args):  # the pool's carry without its kink detection
        moved, crossed = pool.carry(*args)
        return moved, np.zeros_like(crossed)

    monkeypatch.setitem(fd.LAYERS, MaxPool, dataclasses.replace(pool, carry=blind))
    unseen = compare_all(case, fd.differences(TIED, params, batch), "fd")
    assert max(c.ratio for c in unseen if (c.quantity, c.layer) == ("delta", 2)) > 1


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


# --- The ground truth on maps (oracles/exact.py): where a pool's route is a kink -------------


def test_the_truth_declines_a_tied_pool_window() -> None:
    """Exactly tied maxima with σ' = 1 below them: a kink, declined (counted), never judged."""
    from oracles import NotApplicable
    from oracles.exact import truth

    params, batch = tied_case()
    with pytest.raises(NotApplicable, match=r"holds its maximum \d times \(1\.0+\): a tie, a kink"):
        truth(TIED, params, batch)


def test_the_truth_declines_maxima_within_rounding() -> None:
    """MAPS[7]'s saturated tanh feeds its pool entries 1 − 1e-26 apart: float64 rounds them to
    one value (the reference, torch and jax route δ to the first), the truth to the largest, so
    the route is a kink at float64: declined, as the complex step declines it."""
    from harness.cases import truth_of
    from oracles import NotApplicable

    for _ in range(2):  # the second from truth_of's cache: the same answer
        with pytest.raises(NotApplicable, match="entries tied or within rounding of its maximum"):
            truth_of(MAPS[7])


def _near_tie(gap: float) -> tuple[Params, Batch]:
    """:data:`TIED`'s net (a^2 = x) on distinct inputs but one pool window, whose top two entries
    are 2 and 2 + gap."""
    params, batch = tied_case()
    x = np.arange(batch.x.size, dtype=float).reshape(batch.x.shape) / 8  # distinct, below 4
    x[0, 0, 0, 0], x[0, 0, 1, 0] = 2.0, 2.0 + gap
    return params, Batch(x, batch.y)


def test_a_near_tie_is_a_kink_at_the_judged_precision() -> None:
    """2 and 2 + 2^-40 are apart by 2^12 float64 ulps, beyond what float64 rounding of the
    entries (the error model's bound on them) can swap: judged. In float32 they are one value:
    the route is a kink there, declined."""
    from oracles import NotApplicable
    from oracles.exact import truth

    params, batch = _near_tie(2.0**-40)
    exact = truth(TIED, params, batch)
    assert exact.gradients.get("delta", 2)[0, 0, 0, 0] == 0  # δ goes to 2 + 2^-40 alone
    assert exact.gradients.get("delta", 2)[0, 0, 1, 0] != 0
    with pytest.raises(NotApplicable, match="2 entries tied or within rounding of its maximum"):
        truth(TIED, params, batch, dtype=np.float32)
    with pytest.raises(NotApplicable, match="within rounding"):  # 2 ulps: within float64's
        truth(TIED, *_near_tie(2.0**-51))


def test_a_pool_of_overlapping_pools_outputs_is_tied() -> None:
    """Overlapping windows share their maximum, so the next pool's window holds one ball twice:
    a tie (said so), declined."""
    from oracles import NotApplicable
    from oracles.exact import truth

    arch = Architecture(((1, 5, 5), MaxPool(2, stride=1), MaxPool(2, stride=1), 2), "identity")
    params, batch = make_case(arch)
    with pytest.raises(NotApplicable, match=r"holds its maximum \d times .*: a tie"):
        truth(arch, params, batch)
