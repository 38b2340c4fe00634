"""Finite differences across a relu kink: detected, excluded and counted, never tolerated.

The nets below have dyadic inputs and weights, so every z is exact and a relu pre-activation sits
exactly at 0 or at h/2 for one sample: a central difference there mixes two slopes.
"""

from __future__ import annotations

import numpy as np
import pytest

from errormodel.compare import compare
from harness.cases import assemble_case, compare_one
from oracles import get_oracle
from oracles.finite_diff import FD_STEP, differences, gradients
from reference import Architecture, Batch, Params
from reference.forward import feedforward
from suite.results import comparison_record

h = FD_STEP
X = np.array([[1.0, 2.0], [0.5, -1.0]])
Y = np.array([[0.1, 0.9]])


def kink_in_layer_2(act: str) -> tuple[Architecture, Params]:
    """z^2 = [[0, 4], [1 + h/2, h/2]]: unit 1 of sample 1 at 0, unit 2 of sample 2 at h/2."""
    arch = Architecture((2, 2, 1), (act, "identity"), "quadratic", batch=2)
    weights = (np.array([[1.0, -2.0], [0.5, 1.0]]), np.array([[1.5, -1.0]]))
    biases = (np.array([[0.0], [h / 2]]), np.array([[0.25]]))
    return arch, Params(weights, biases)


def kink_in_layer_3(act: str) -> tuple[Architecture, Params]:
    """A linear layer 2, then z^3 = [[0, −4.75], [h/2, −1.125 + h/2]]: the kinks sit one layer
    after the parameters of layer 2, so perturbing those must carry the detection forward."""
    arch = Architecture((2, 2, 2, 1), ("identity", act, "identity"), "quadratic", batch=2)
    weights = (
        np.array([[1.0, 0.5], [-1.0, 1.0]]),
        np.array([[1.0, 2.0], [0.5, 0.5]]),
        np.array([[1.5, -1.0]]),
    )
    biases = (np.array([[0.25], [0.0]]), np.array([[-0.5], [-0.5 + h / 2]]), np.array([[0.25]]))
    return arch, Params(weights, biases)


T, F = True, False
EXPECTED = {
    kink_in_layer_2: {
        ("delta", 2): [[T, F], [F, T]],
        ("nabla_b", 2): [[T], [T]],
        ("nabla_w", 2): [[T, T], [T, T]],
    },
    kink_in_layer_3: {
        ("delta", 2): [[T, F], [T, F]],  # sample 1 of layer 2 feeds the kinked sample
        ("nabla_b", 2): [[T], [T]],
        ("nabla_w", 2): [[T, T], [T, T]],
        ("delta", 3): [[T, F], [T, F]],
        ("nabla_b", 3): [[T], [T]],
        ("nabla_w", 3): [[T, T], [T, T]],
    },
}


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("net", list(EXPECTED), ids=lambda f: f.__name__)
def test_pre_activations_at_and_near_zero_are_detected(net, act):
    arch, params = net(act)
    z = feedforward(params, arch.sigmas, X).zs
    assert 0.0 in z[-2] and h / 2 in z[-2]  # the premise: one z exactly at 0, one at h/2
    out = differences(arch, params, Batch(X, Y))
    for quantity, layer, _ in out.gradients.items():
        want = EXPECTED[net].get((quantity, layer))
        got = out.mask(quantity, layer)
        assert got is not None
        np.testing.assert_array_equal(got, want if want is not None else np.zeros_like(got))


@pytest.mark.parametrize("act", ["relu", "leaky_relu"])
@pytest.mark.parametrize("net", list(EXPECTED), ids=lambda f: f.__name__)
def test_kinked_elements_are_excluded_and_counted_the_rest_compared(net, act):
    arch, params = net(act)
    case = assemble_case(arch, params, Batch(X, Y), np.float64)
    out = get_oracle("fd").run(arch, case.params, case.batch)
    for quantity, layer, _ in out.gradients.items():
        mask = out.mask(quantity, layer)
        kept = compare_one(case, out.gradients, "fd", quantity, layer, mask)
        assert kept.passed, kept.message()
        assert kept.excluded == int(mask.sum())
        if kept.excluded:
            assert f"{kept.excluded} of {mask.size} elements excluded" in kept.message()
            # the test can fail: compared naively, a difference across a kink is far off
            naive = compare_one(case, out.gradients, "fd", quantity, layer)
            assert not naive.passed and naive.ratio > 1e3 and naive.excluded == 0


def test_a_smooth_net_has_no_kinks_and_the_same_gradients():
    arch = Architecture((4, 5, 3), ("tanh", "sigmoid"), "quadratic", batch=3)
    params = Params(
        (np.full((5, 4), 0.25), np.full((3, 5), -0.5)), (np.zeros((5, 1)), np.ones((3, 1)))
    )
    batch = Batch(np.linspace(-1, 1, 12).reshape(4, 3), np.full((3, 3), 0.5))
    out = differences(arch, params, batch)
    assert not any(m.any() for m in out.excluded.values())
    assert len(out.excluded) == 6  # 3 quantities × 2 layers
    plain = gradients(arch, params, batch)
    for (_, _, a), (_, _, b) in zip(out.gradients.items(), plain.items(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_exclusion_leaves_out_only_the_masked_elements_and_never_hides_nan():
    ours = np.array([[1.0, 2.0], [3.0, 4.0]])
    theirs = ours + np.array([[0.5, 0.0], [0.0, 1e-3]])
    mask = np.array([[True, False], [False, False]])
    where = {"quantity": "nabla_w", "layer": 2, "oracle": "fd"}
    result = compare(ours, theirs, 1e-2, exclude=mask, **where)
    assert result.passed and result.excluded == 1 and result.max_abs == pytest.approx(1e-3)
    assert result.worst_index == (1, 1)
    assert comparison_record(Architecture((2, 2)), result, "float64")["excluded"] == 1
    other_mask = np.array([[False, True], [False, False]])
    assert not compare(ours, theirs, 1e-2, exclude=other_mask, **where).passed  # 0.5 is seen
    theirs[0, 0] = np.nan
    nan = compare(ours, theirs, 1e-2, exclude=mask, **where)
    assert not nan.passed and "non-finite" in nan.message()
    with pytest.raises(ValueError, match="exclude mask has shape"):
        compare(ours, theirs, 1e-2, exclude=mask[:1], **where)
