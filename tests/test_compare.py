"""The comparison can fail: wrong gradients fed through the gate's own comparison are flagged."""

from __future__ import annotations

import numpy as np
import pytest

from harness.cases import build_case, compare_all, compare_one
from reference import Architecture, Gradients

ARCH = Architecture((5, 5, 5, 3), ("tanh", "sigmoid", "sigmoid"), "quadratic", batch=4, seed=3)


def mutated(grads: Gradients, quantity: str, layer: int, change) -> Gradients:
    parts = {
        "delta": list(grads.deltas),
        "nabla_b": list(grads.nabla_b),
        "nabla_w": list(grads.nabla_w),
    }
    parts[quantity][layer - 2] = change(parts[quantity][layer - 2].copy())
    return Gradients.from_lists(parts["delta"], parts["nabla_b"], parts["nabla_w"])


def bump_one_element(a: np.ndarray) -> np.ndarray:
    # 1e-6 relative: above what FD resolves (~1e-8 of the scale), far below a typical bug
    a.flat[a.size // 2] *= 1 + 1e-6
    return a


@pytest.mark.parametrize("oracle", ["torch", "jax", "fd"])
@pytest.mark.parametrize(
    ("quantity", "layer", "change"),
    [
        ("delta", 2, bump_one_element),
        ("nabla_b", 3, lambda a: -a),  # a sign error
        ("nabla_w", 2, lambda a: a.T.copy()),  # a transposition on a square layer
        ("nabla_w", 4, lambda a: a * 4 / 3),  # a wrong averaging factor
    ],
    ids=["one-element", "sign", "transpose", "factor"],
)
def test_a_wrong_gradient_is_flagged(oracle, quantity, layer, change):
    case = build_case(ARCH)
    wrong = mutated(case.reference, quantity, layer, change)
    result = compare_one(case, wrong, oracle, quantity, layer)
    assert not result.passed
    assert f"{quantity} of layer {layer} ({oracle} vs reference)" in result.message()
    assert "allowed" in result.message()


def test_the_unchanged_reference_passes_every_comparison():
    case = build_case(ARCH)
    assert all(c.passed and c.max_abs == 0 for c in compare_all(case, case.reference, "torch"))


def test_nan_is_flagged_never_hidden():
    case = build_case(ARCH)
    wrong = mutated(case.reference, "delta", 3, lambda a: np.where(a > 0, np.nan, a))
    result = compare_one(case, wrong, "jax", "delta", 3)
    assert not result.passed and "non-finite value nan from jax" in result.message()


def test_a_wrong_shape_is_flagged():
    from errormodel.compare import compare

    result = compare(
        np.zeros((3, 2)), np.zeros((2, 3)), 1.0, quantity="nabla_w", layer=2, oracle="x"
    )
    assert not result.passed and "shape (2, 3), expected (3, 2)" in result.message()


def test_the_failure_message_says_what_where_how_far_and_the_allowed():
    case = build_case(ARCH)
    wrong = mutated(case.reference, "nabla_w", 3, lambda a: a + np.eye(5)[:, :5] * 1e-3)
    msg = compare_one(case, wrong, "torch", "nabla_w", 3).message()
    assert msg.startswith("nabla_w of layer 3 (torch vs reference): max abs error 1.000e-03 at (")
    assert "max rel error" in msg and "allowed" in msg and "error/allowed" in msg
