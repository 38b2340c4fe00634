"""The error model at the edges: cancellation, saturation, tiny and zero gradients, huge inputs,
overflow and NaN inside the reference, and float32 — each with nets built to reach the edge."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

from errormodel.compare import scale
from errormodel.tolerances import POLICIES, allowed_error
from harness.cases import (
    ReferenceFailure,
    assemble_case,
    build_case,
    compare_all,
    compare_one,
    oracle_gradients,
    oracle_output,
)
from oracles import ORACLES, NotApplicable, complex_step, get_oracle
from reference import Architecture, ArchitectureError, Batch, Gradients, Params, backprop
from reference.activations import OUTPUT_ONLY
from reference.backprop import backprop_matrix
from reference.costs import COSTS
from reference.forward import feedforward
from suite.architectures import CURATED, curated

SCALED = [a for a in CURATED if (a.weight_scale, a.input_scale) != (1.0, 1.0)]


def slopes(sigma, z):
    """σ'(z), or for a softmax output the diagonal of its Jacobian, ∂a_j/∂z_j = a_j(1 − a_j)."""
    if sigma.name in OUTPUT_ONLY:
        return np.einsum("jjx->jx", sigma.jacobian(z))
    return sigma.prime(z)


def oracle_on(case, oracle: str) -> Gradients:
    """An oracle's gradients for a hand-built case (float64 copies of its numbers)."""
    params = case.params.astype(np.float64)
    batch = Batch(case.batch.x.astype(np.float64), case.batch.y.astype(np.float64))
    try:
        return get_oracle(oracle).load()(case.arch, params, batch)
    except NotApplicable as exc:  # the complex step on a relu net
        pytest.skip(f"not applicable: {exc}")


def result_scaled_allowed(arch: Architecture, layer: int, s: float) -> float:
    """The model these tests show wrong (errormodel.tolerances' docstring): 4·N_l·ε·S, with S the
    result's size and N_l = Σ_{k=l}^{L} (n_k + 4) + m the operations in layer l's chain."""
    chain = sum(n + 4 for n in arch.sizes[layer - 1 :]) + arch.batch
    return 4.0 * chain * float(np.finfo(np.float64).eps) * s


def normwise_failures(case, theirs: Gradients) -> int:
    """How many comparisons the result-scaled model (allowed ∝ S, no case scales) would fail."""
    count = 0
    for quantity, layer, ours in case.reference.items():
        other = theirs.get(quantity, layer)
        allowed = result_scaled_allowed(case.arch, layer, scale(ours, other))
        count += np.abs(ours - other).max() > allowed
    return count


def test_curated_registry_holds_saturated_and_huge_input_nets():
    """The scaled entries reach the edge: σ' < ε somewhere (saturated: 1 − σ, or σ itself, lies
    below rounding next to 1), or |z| > 1e6."""
    assert len(SCALED) >= 3
    for arch in SCALED:
        case = build_case(arch)
        fwd = feedforward(case.params, arch.sigmas, case.batch.x)
        smallest_slope = min(
            float(np.abs(slopes(s, z)).min()) for s, z in zip(arch.sigmas, fwd.zs, strict=True)
        )
        largest_z = max(float(np.abs(z).max()) for z in fwd.zs)
        assert smallest_slope < np.finfo(np.float64).eps or largest_z > 1e6, arch.id


@pytest.mark.parametrize("arch", SCALED, ids=lambda a: a.id)
@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_every_oracle_agrees_on_saturated_and_huge_input_nets(arch, oracle):
    case = build_case(arch)
    for comparison in compare_all(case, oracle_on(case, oracle), oracle):
        assert comparison.passed, f"{arch.id}: {comparison.message()}"


def test_the_result_scaled_model_raises_false_alarms_on_them():
    """Why the bound scales with the terms: judged by the size of the result, the same correct
    autograd gradients fail on most of these nets (so the tests above tell the models apart)."""
    # a net whose results are all exactly 0 (every σ' rounds to 0) has no size to scale with
    judged = [a for a in SCALED if any(np.any(g) for _, _, g in build_case(a).reference.items())]
    flagged = [
        arch.id
        for arch in judged
        if any(
            normwise_failures(build_case(arch), oracle_gradients(arch, oracle))
            for oracle in ("torch", "jax")
        )
    ]
    assert len(flagged) >= len(judged) // 2, flagged


def cancelling_case():
    """Two samples with the same input whose output errors are exact opposites: every ∂C/∂b and
    ∂C/∂w is a sum of two terms that cancel to rounding noise."""
    arch = Architecture((3, 4, 2), ("tanh", "identity"), "quadratic", batch=2, seed=5)
    case = build_case(arch)
    x = np.repeat(case.batch.x[:, :1], 2, axis=1)
    a = feedforward(case.params, arch.sigmas, x).activations[-1][:, 0]
    y1 = case.batch.y[:, 0]
    y = np.stack([y1, 2 * a - y1], axis=1)  # δ^L of sample 2 = −δ^L of sample 1
    return assemble_case(arch, case.params, Batch(x, y), np.float64)


@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_batch_means_that_cancel_are_judged_by_their_terms(oracle):
    case = cancelling_case()
    delta = np.abs(case.reference.get("delta", 3)).max()
    assert np.abs(case.reference.get("nabla_b", 3)).max() < 1e-12 * delta  # it did cancel
    for comparison in compare_all(case, oracle_on(case, oracle), oracle):
        assert comparison.passed, comparison.message()


def test_the_result_scaled_model_fails_on_cancellation():
    case = cancelling_case()
    assert sum(normwise_failures(case, oracle_on(case, o)) for o in ("torch", "jax")) > 0


def tiny_gradient_case():
    """A sigmoid unit at z = −690, where σ'(z) ≈ 2e-300: δ^2 and ∂C/∂w^2 near 1e-300."""
    arch = Architecture((1, 1, 1), "sigmoid", "quadratic", batch=1)
    params = Params(
        (np.array([[1.0]]), np.array([[2.0]])), (np.array([[-690.0]]), np.array([[0.5]]))
    )
    batch = Batch(np.array([[0.0]]), np.array([[0.25]]))
    return assemble_case(arch, params, batch, np.float64)


@pytest.mark.parametrize("oracle", ["torch", "jax"])
def test_gradients_near_1e_300_are_judged_against_their_own_size(oracle):
    case = tiny_gradient_case()
    ours = case.reference.get("delta", 2)
    assert 1e-305 < np.abs(ours).max() < 1e-295
    theirs = oracle_on(case, oracle)
    right = compare_one(case, theirs, oracle, "delta", 2)
    assert right.passed and right.resolution < 1e-10, right.message()
    wrong = Gradients(tuple(1.01 * d for d in theirs.deltas), theirs.nabla_b, theirs.nabla_w)
    assert not compare_one(case, wrong, oracle, "delta", 2).passed  # 1% off at 1e-300 is seen


def test_finite_differences_cannot_see_1e_300_and_say_so():
    """A central difference of a cost of ~0.03 cannot resolve a slope of 1e-300: the comparison
    passes but reports itself blind (resolution ≥ 1), so the report can count it."""
    case = tiny_gradient_case()
    comparison = compare_one(case, oracle_on(case, "fd"), "fd", "delta", 2)
    assert comparison.passed and comparison.resolution >= 1


def dead_layer_case():
    """A relu layer whose biases keep every z^2 < 0: δ^2, ∂C/∂b^2, ∂C/∂w^2 are exactly 0."""
    arch = Architecture((3, 4, 2), ("relu", "identity"), "quadratic", batch=3, seed=2)
    case = build_case(arch)
    biases = (np.full((4, 1), -100.0), case.params.biases[1])
    return assemble_case(arch, Params(case.params.weights, biases), case.batch, np.float64)


@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_exact_zeros_compare_exactly(oracle):
    case = dead_layer_case()
    assert not np.any(case.reference.get("delta", 2))
    theirs = oracle_on(case, oracle)
    for quantity in ("delta", "nabla_b", "nabla_w"):
        comparison = compare_one(case, theirs, oracle, quantity, 2)
        assert comparison.passed and comparison.max_abs == 0, comparison.message()
        if get_oracle(oracle).kind == "autograd":  # FD keeps its cost-rounding floor
            assert comparison.allowed < 1e-300  # only the underflow unit: 1e-300 is flagged


def test_overflow_inside_the_reference_is_a_one_line_error_naming_the_case():
    arch = Architecture((2, 2), "identity", "quadratic", batch=2, input_scale=1e200)
    with pytest.raises(ReferenceFailure) as info:
        build_case(arch)
    text = str(info.value)
    assert text.startswith(f"{arch.id}: the reference in float64 failed") and "\n" not in text
    assert "overflow" in text


SATURATING = {"3-2_sigmoid_cross_entropy_m4_s0_x1000", "6-5-3_tanh,sigmoid_cross_entropy_m4_s0_w30"}
SATURATED_CROSS_ENTROPY = [a for a in CURATED if a.id in SATURATING]


@pytest.mark.parametrize("arch", SATURATED_CROSS_ENTROPY, ids=lambda a: a.id)
def test_the_curated_cross_entropy_nets_saturate_and_the_reference_stays_finite(arch):
    """σ(z^L) rounds to exactly 1 somewhere: the book's ln(1 − a) is −∞ there and BP1
    multiplied out is ∞ · 0, so these lines test the reference's δ^L = a − y and the cost from
    z^L (the oracles' agreement on them is the test above)."""
    assert len(SATURATED_CROSS_ENTROPY) == len(SATURATING)  # both lines are still curated
    case = build_case(arch)
    fwd = feedforward(case.params, arch.sigmas, case.batch.x)
    a_out = fwd.activations[-1]
    assert np.any(a_out == 1.0), arch.id
    assert np.all(np.isfinite(arch.cost_object.fn(fwd.zs[-1], a_out, case.batch.y)))
    assert np.all(np.isfinite(case.reference.deltas[-1]))


@pytest.mark.parametrize("where", ["x", "y", "w^2", "b^3"])
def test_nan_in_inputs_or_parameters_is_a_one_line_error_naming_the_array(where):
    arch = Architecture((3, 4, 2), "tanh", "quadratic", batch=2)
    case = build_case(arch)
    ws, bs = [w.copy() for w in case.params.weights], [b.copy() for b in case.params.biases]
    x, y = case.batch.x.copy(), case.batch.y.copy()
    target = {"x": x, "y": y, "w^2": ws[0], "b^3": bs[1]}[where]
    target.flat[1 % target.size] = np.nan
    params, batch = Params(tuple(ws), tuple(bs)), Batch(x, y)
    said = re.escape(f"{arch.id}: {where} has 1 non-finite value(s), nan at ")
    with pytest.raises(ValueError, match=said):
        backprop(arch, params, x, y)
    with pytest.raises(ReferenceFailure, match=rf"^{re.escape(arch.id)}: the reference .*{said}"):
        assemble_case(arch, params, batch, np.float64)


@pytest.mark.parametrize("field", ["weight_scale", "input_scale"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), 0.0, -1.0])
def test_a_non_finite_or_non_positive_scale_is_a_malformed_record(field, value):
    arch = Architecture((3, 2), **{field: value})
    with pytest.raises(ArchitectureError, match=rf"{field} must be a finite number > 0") as info:
        arch.check()
    assert "\n" not in str(info.value)


FLOAT32_NETS = [
    "2-3-1_sigmoid_quadratic_m4_s0",
    "5-4-4-4-4-4-3_tanh_quadratic_m3_s0",
    "8-3-3-3-3-3-3-3-2_sigmoid_cross_entropy_m5_s0",
    "1-1-1-1_sigmoid_quadratic_m2_s0",
    "3-1-4-1-2_relu,tanh,softplus,sigmoid_quadratic_m3_s0",
]


@pytest.mark.parametrize("arch_id", FLOAT32_NETS)
@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_the_float32_reference_agrees_with_float64_oracles_within_float32_bounds(arch_id, oracle):
    arch = curated(arch_id)
    case = build_case(arch, np.float32)
    assert {a.dtype for _, _, a in case.reference.items()} == {np.dtype(np.float32)}
    if oracle == "complex_step" and complex_step.not_applicable(arch):
        pytest.skip("a relu net: the complex step declines it (counted by the gate)")
    theirs = oracle_gradients(arch, oracle, np.float32)
    assert {a.dtype for _, _, a in theirs.items()} == {np.dtype(np.float64)}
    for comparison in compare_all(case, theirs, oracle):
        assert comparison.passed, f"{arch.id}: {comparison.message()}"


def test_float32_tolerances_come_from_float32_epsilon():
    arch = curated("5-4-4-4-4-4-3_tanh_quadratic_m3_s0")
    single, double = build_case(arch, np.float32), build_case(arch, np.float64)
    theirs = oracle_gradients(arch, "torch", np.float64)
    a32 = compare_one(single, theirs, "torch", "delta", 3).allowed
    a64 = compare_one(double, theirs, "torch", "delta", 3).allowed
    eps32, eps64 = np.finfo(np.float32).eps, np.finfo(np.float64).eps
    assert a32 / a64 == pytest.approx((eps32 + eps64) / (2 * eps64), rel=1e-3)
    # and float32 still sees a 1% error
    wrong = Gradients(tuple(1.01 * d for d in theirs.deltas), theirs.nabla_b, theirs.nabla_w)
    assert not compare_one(single, wrong, "torch", "delta", 3).passed


def test_every_oracle_kind_has_a_policy_and_an_unknown_one_is_named():
    assert {o.kind for o in ORACLES.values()} <= set(POLICIES)
    case = build_case(curated("2-3-1_sigmoid_quadratic_m4_s0"))
    with pytest.raises(ValueError, match="no error model for oracle kind 'symbolic'"):
        allowed_error("symbolic", case.scales, "delta", 2, np.float64)


SATURATED_SOFTMAX = [a for a in SCALED if a.sigmas[-1].name == "softmax"]


def test_the_curated_softmax_nets_saturate_and_the_reference_stays_finite():
    """Each scaled softmax line has an output column that rounds to exactly one 1 and entries
    below ε; on one the target's a^L_y underflows to 0, where the book's −ln a_y is ∞ and BP1
    multiplied out divides by 0: these lines test the max-shifted softmax, the log-sum-exp cost
    and δ^L = a − y (every oracle's agreement on them is the saturated-nets test above)."""
    assert len(SATURATED_SOFTMAX) >= 3
    underflowed = 0
    for arch in SATURATED_SOFTMAX:
        case = build_case(arch)
        fwd = feedforward(case.params, arch.sigmas, case.batch.x)
        a_out = fwd.activations[-1]
        assert np.any(a_out == 1.0) and np.any(a_out < np.finfo(np.float64).eps), arch.id
        if arch.cost == "log_likelihood":
            underflowed += int(np.any(np.sum(a_out * case.batch.y, axis=0) == 0.0))
        assert np.all(np.isfinite(arch.cost_object.fn(fwd.zs[-1], a_out, case.batch.y))), arch.id
        assert all(np.all(np.isfinite(d)) for d in case.reference.deltas), arch.id
    assert underflowed >= 1


@dataclasses.dataclass(frozen=True)
class ElementwiseBP1:
    """A planted bug: BP1 in its elementwise form on a softmax output, δ^L = ∇_a C ⊙ diag(J)."""

    cost: str
    requires_output: str | None = None
    one_hot: bool = False

    @property
    def name(self) -> str:
        return self.cost

    def fn(self, z, a, y):
        return COSTS[self.cost].fn(z, a, y)

    def delta(self, z, a, y, sigma):
        gradient = a - y if self.cost == "quadratic" else -y / a  # ∇_a C
        return gradient * a * (1.0 - a)


@pytest.mark.parametrize(
    "arch_id", ["5-4-3_relu,softmax_quadratic_m3_s0", "3-4-3_tanh,softmax_log_likelihood_m4_s0"]
)
@pytest.mark.parametrize("oracle", sorted(ORACLES))
def test_every_oracle_flags_bp1_taken_elementwise_on_a_softmax_output(arch_id, oracle):
    """The softmax error model is not so wide that the classic mistake passes: with δ^L from
    the Jacobian's diagonal, the gate fails δ^L, and through BP2 every layer below it."""
    (arch,) = [a for a in CURATED if a.id == arch_id]
    if oracle == "complex_step" and complex_step.not_applicable(arch):
        pytest.skip("a relu net: the complex step declines it (counted by the gate)")
    case = build_case(arch)
    wrong = backprop_matrix(
        arch.sigmas, ElementwiseBP1(arch.cost), case.params, case.batch.x, case.batch.y
    )
    bad = dataclasses.replace(case, reference=wrong)
    comparisons = compare_all(bad, oracle_output(arch, oracle), oracle)
    failed = {(c.quantity, c.layer) for c in comparisons if not c.passed}
    assert ("delta", arch.depth) in failed and ("delta", 2) in failed, failed
