"""Each of BP1–BP4, σ' and ∇_a C on tiny cases checked by hand (numbers worked out on paper)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pytest

from reference.activations import ACTIVATIONS, OUTPUT_ONLY, Sigmoid
from reference.costs import COSTS
from reference.equations import (
    backpropagate_error,
    bias_gradient,
    output_error,
    output_error_general,
    weight_gradient,
)


def col(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)[:, None]


@dataclass(frozen=True, eq=False)
class GivenSlope:
    """An elementwise activation whose σ'(z^L) is given numbers (to check BP1 by hand)."""

    slope: np.ndarray
    name: str = "given"

    def fn(self, z: np.ndarray) -> np.ndarray:
        return z

    def prime(self, z: np.ndarray, a: np.ndarray | None = None) -> np.ndarray:
        return self.slope


def test_bp1_output_error_is_elementwise_product():
    # δ^L = ∇_a C ⊙ σ'(z^L): (0.5·0.2, −1·0.5)
    np.testing.assert_array_equal(output_error(col(0.5, -1.0), col(0.2, 0.5)), col(0.1, -0.5))


def test_bp2_uses_the_transpose_of_the_next_weights():
    # w^{l+1} is 1×2, so only (w^{l+1})^T δ^{l+1} has the right shape: (2·4, 3·4) ⊙ (0.5, 0.25)
    w_next = np.array([[2.0, 3.0]])
    np.testing.assert_array_equal(
        backpropagate_error(w_next, col(4.0), col(0.5, 0.25)), col(4.0, 3.0)
    )


def test_bp2_on_a_square_layer_is_not_w_times_delta():
    w_next = np.array([[1.0, 2.0], [3.0, 4.0]])
    # (w^T δ) = (1·1 + 3·(−1), 2·1 + 4·(−1)) = (−2, −2); ⊙ (0.5, 2) gives (−1, −4)
    np.testing.assert_array_equal(
        backpropagate_error(w_next, col(1.0, -1.0), col(0.5, 2.0)), col(-1.0, -4.0)
    )


def test_bp3_bias_gradient_is_delta_averaged_over_the_batch():
    delta = np.array([[1.0, 3.0], [2.0, -2.0]])  # two samples
    np.testing.assert_array_equal(bias_gradient(delta), col(2.0, 0.0))
    np.testing.assert_array_equal(
        bias_gradient(delta[:, :1]), col(1.0, 2.0)
    )  # one sample: δ itself


def test_bp4_weight_gradient_is_an_outer_product():
    # ∂C/∂w_jk = a_k δ_j for one sample: δ = (1, 2), a = (3, 4, 5)
    expected = np.array([[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]])
    np.testing.assert_array_equal(weight_gradient(col(1.0, 2.0), col(3.0, 4.0, 5.0)), expected)


def test_bp4_averages_the_outer_products_of_a_batch():
    delta = np.array([[1.0, -1.0]])
    a_prev = np.array([[2.0, 4.0]])
    # (1·2 + (−1)·4) / 2 = −1
    np.testing.assert_array_equal(weight_gradient(delta, a_prev), np.array([[-1.0]]))


@pytest.mark.parametrize(
    ("name", "z", "value", "slope"),
    [
        ("sigmoid", 0.0, 0.5, 0.25),
        ("tanh", 0.0, 0.0, 1.0),
        ("relu", -2.0, 0.0, 0.0),
        ("relu", 3.0, 3.0, 1.0),
        ("relu", 0.0, 0.0, 0.0),  # the convention σ'(0) = 0
        ("leaky_relu", -2.0, -0.02, 0.01),
        ("leaky_relu", 0.0, 0.0, 0.01),  # σ'(0) = α
        ("softplus", 0.0, np.log(2.0), 0.5),
        ("identity", -7.0, -7.0, 1.0),
    ],
)
def test_activation_and_derivative_at_known_points(name, z, value, slope):
    act = ACTIVATIONS[name]
    np.testing.assert_allclose(act.fn(np.array([[z]])), [[value]], rtol=1e-15)
    np.testing.assert_allclose(act.prime(np.array([[z]])), [[slope]], rtol=1e-15)


def test_sigmoid_never_overflows_and_saturates_exactly():
    z = np.array([[-1000.0, 1000.0]])
    np.testing.assert_array_equal(ACTIVATIONS["sigmoid"].fn(z), [[0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sigmoid_keeps_subnormal_values_where_its_quotient_form_would_overflow(dtype):
    """σ(z) = e^z/(1 + e^z) is a subnormal just below where e^{−z} overflows (−709.78 in
    float64, −88.72 in float32): 1/(1 + e^{−z}) would give 0 there, and warn."""
    tiny = np.finfo(dtype).tiny
    z = np.log(np.array([[tiny / 4, tiny / 64]], dtype=np.float64)).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning
        a = ACTIVATIONS["sigmoid"].fn(z)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, np.exp(z.astype(np.float64)), rtol=0.05)  # subnormal precision
    assert np.all((a > 0) & (a < tiny))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softplus_is_numpys_logaddexp_in_the_input_dtype_and_never_overflows(dtype):
    z = np.concatenate([np.linspace(-800.0, 800.0, 20_001), [0.0, -0.0, 1e-300]]).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ACTIVATIONS["softplus"].fn(z)
    assert a.dtype == dtype
    np.testing.assert_array_equal(a, np.logaddexp(0.0, z))
    assert a[-1] == np.log(2.0).astype(dtype) and np.all(a >= 0)


def test_sigmoid_quotient_and_branch_forms_agree_within_two_ulps():
    """The fast quotient 1/(1 + e^{−z}) against the branch form, over the whole finite range."""
    z = np.linspace(-700.0, 40.0, 20_001)
    fast, branchwise = ACTIVATIONS["sigmoid"].fn(z), Sigmoid.fn_branchwise(z)
    np.testing.assert_allclose(fast, branchwise, rtol=2 * np.finfo(np.float64).eps, atol=0)
    assert np.array_equal(fast[z >= 0], branchwise[z >= 0])  # the same operations there


def test_quadratic_cost_and_its_bp1():
    a, y = np.array([[1.0, 0.0], [3.0, 2.0]]), np.array([[0.0, 0.0], [1.0, 2.0]])
    z, sigma_prime = np.full_like(a, np.nan), np.array([[0.5, 2.0], [0.25, 3.0]])  # z unused
    np.testing.assert_array_equal(COSTS["quadratic"].fn(z, a, y), [0.5 * (1 + 4), 0.0])
    np.testing.assert_array_equal(
        COSTS["quadratic"].delta(z, a, y, GivenSlope(sigma_prime)), [[0.5, 0.0], [0.5, 0.0]]
    )


def test_cross_entropy_is_the_books_formula_and_bp1_multiplied_out():
    # eq. 63 written out, and BP1 with ∇_a C = (a − y)/(a(1 − a)) times σ'(z) = a(1 − a)
    z = np.array([[-1.5, 4.0], [0.3, -20.0]])
    a, y = ACTIVATIONS["sigmoid"].fn(z), np.array([[0.2, 0.0], [1.0, 0.7]])
    sigma_prime = ACTIVATIONS["sigmoid"].prime(z)
    book_cost = -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a), axis=0)
    np.testing.assert_allclose(COSTS["cross_entropy"].fn(z, a, y), book_cost, rtol=1e-13)
    multiplied_out = output_error((a - y) / (a * (1 - a)), sigma_prime)
    np.testing.assert_allclose(
        COSTS["cross_entropy"].delta(z, a, y, ACTIVATIONS["sigmoid"]), multiplied_out, rtol=1e-12
    )
    np.testing.assert_allclose(
        COSTS["cross_entropy"].fn(np.zeros((1, 1)), np.array([[0.5]]), np.array([[1.0]])),
        [np.log(2.0)],
        rtol=1e-15,
    )


def test_cross_entropy_stays_finite_where_sigmoid_rounds_to_0_or_1():
    # σ(±40) and σ(±1000) round to 1 and 0: ln(1 − a) would be −∞ and BP1 multiplied out ∞ · 0.
    # C_x → (1 − y)z for z → +∞ and −yz for z → −∞; δ^L = a − y.
    z = np.array([[40.0, 1000.0, -40.0, -1000.0]])
    a, y = ACTIVATIONS["sigmoid"].fn(z), np.full_like(z, 0.25)
    assert a[0, 0] == 1.0 and a[0, 3] == 0.0
    cost = COSTS["cross_entropy"]
    np.testing.assert_allclose(cost.fn(z, a, y), [30.0, 750.0, 10.0, 250.0], rtol=1e-15)
    delta = cost.delta(z, a, y, ACTIVATIONS["sigmoid"])
    np.testing.assert_allclose(delta, [[0.75, 0.75, -0.25, -0.25]], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(set(ACTIVATIONS) - OUTPUT_ONLY))
def test_prime_reusing_the_forward_activation_gives_the_same_bits(name):
    z = np.linspace(-40.0, 40.0, 161).reshape(7, 23)  # saturated, plain, and 0 (the kink) included
    act = ACTIVATIONS[name]
    np.testing.assert_array_equal(act.prime(z, act.fn(z)), act.prime(z))


# --- the softmax output (book ch. 3): z = (0, ln 3) gives a = (1/4, 3/4) ---------------------

SOFTMAX_Z = np.array([[0.0], [np.log(3.0)]])


def test_bp1_general_form_with_a_diagonal_jacobian_is_bp1():
    # J = diag(0.2, 0.5): Σ_k J_kj g_k = g_j σ'_j
    jacobian = np.diag([0.2, 0.5])[:, :, None]
    np.testing.assert_array_equal(
        output_error_general(col(0.5, -1.0), jacobian), output_error(col(0.5, -1.0), col(0.2, 0.5))
    )


def test_bp1_general_form_sums_over_the_transposed_jacobian():
    # J = [[1, 2], [3, 4]] per sample: Jᵀ(1, 10) = (1 + 30, 2 + 40); J(1, 10) would be (21, 43)
    jacobian = np.array([[1.0, 2.0], [3.0, 4.0]])[:, :, None]
    np.testing.assert_array_equal(output_error_general(col(1.0, 10.0), jacobian), col(31.0, 42.0))


def test_softmax_and_its_jacobian_at_known_points():
    softmax = ACTIVATIONS["softmax"]
    np.testing.assert_allclose(softmax.fn(SOFTMAX_Z), col(0.25, 0.75), rtol=1e-15)
    # ∂a_k/∂z_j = a_k(δ_kj − a_j): 3/16 on the diagonal, −3/16 off it
    np.testing.assert_allclose(
        softmax.jacobian(SOFTMAX_Z)[:, :, 0], [[3 / 16, -3 / 16], [-3 / 16, 3 / 16]], rtol=1e-15
    )
    with pytest.raises(TypeError) as info:
        softmax.prime(SOFTMAX_Z)
    assert str(info.value) == (
        "softmax is not elementwise: its σ'(z) is the Jacobian diag(a) − a aᵀ "
        "(Softmax.jacobian), and BP1 takes the general form δ^L = J_σ(z^L)ᵀ ∇_a C"
    )


def test_log_softmax_is_per_column_and_finite_where_columns_lie_far_apart():
    # columns (0, ln 3) → (ln 1/4, ln 3/4); (1000, 0) → (0, −1000) (ln(1 + e^{−1000}) rounds to
    # 0); (−1000, −1001) → (−c, −1 − c), c = ln(1 + e^{−1}). Each column is shifted by its own
    # max: one shift for the whole array would underflow e^{−2000} to 0 and give −∞.
    z = np.array([[0.0, 1000.0, -1000.0], [np.log(3.0), 0.0, -1001.0]])
    c = np.log1p(np.exp(-1.0))
    expected = np.array([[np.log(0.25), 0.0, -c], [np.log(0.75), -1000.0, -1.0 - c]])
    softmax = ACTIVATIONS["softmax"]
    np.testing.assert_allclose(softmax.log_fn(z), expected, rtol=1e-15, atol=0)
    np.testing.assert_allclose(softmax.log_fn(z.T, axis=1), expected.T, rtol=1e-15, atol=0)


def test_quadratic_cost_on_a_softmax_output_takes_bp1_general_form():
    # g = a − y = (1/4, 3/4) for y = 0; Jᵀg = (3/64 − 9/64, −3/64 + 9/64) = (−3/32, 3/32).
    # BP1's elementwise form, g ⊙ diag(J), would give (3/64, 9/64).
    softmax, y = ACTIVATIONS["softmax"], np.zeros((2, 1))
    a = softmax.fn(SOFTMAX_Z)
    delta = COSTS["quadratic"].delta(SOFTMAX_Z, a, y, softmax)
    np.testing.assert_allclose(delta, col(-3 / 32, 3 / 32), rtol=1e-14)
    # y = (0, 1): g = (1/4, −1/4), Jᵀg = (3/64 + 3/64, −3/64 − 3/64) = (3/32, −3/32)
    delta = COSTS["quadratic"].delta(SOFTMAX_Z, a, col(0.0, 1.0), softmax)
    np.testing.assert_allclose(delta, col(3 / 32, -3 / 32), rtol=1e-14)


def test_log_likelihood_cost_and_its_bp1():
    # C_x = −ln a_y = −ln(3/4) for y = class 2; δ^L = a − y = (1/4, −1/4) (book eq. 81)
    softmax, y = ACTIVATIONS["softmax"], col(0.0, 1.0)
    a = softmax.fn(SOFTMAX_Z)
    cost = COSTS["log_likelihood"]
    np.testing.assert_allclose(cost.fn(SOFTMAX_Z, a, y), [np.log(4 / 3)], rtol=1e-15)
    np.testing.assert_allclose(cost.delta(SOFTMAX_Z, a, y, softmax), col(0.25, -0.25), rtol=1e-15)


def test_softmax_and_log_likelihood_stay_finite_where_the_output_saturates():
    # e^{1000} overflows and e^{−1000} underflows: max-shifted, a = (0, 0, 1) exactly, and the
    # log-likelihood of class 1 from log-sum-exp is 2000 (−ln a_1 would be ∞).
    z = col(-1000.0, 0.0, 1000.0)
    softmax, cost = ACTIVATIONS["softmax"], COSTS["log_likelihood"]
    a = softmax.fn(z)
    np.testing.assert_array_equal(a, col(0.0, 0.0, 1.0))
    y = col(1.0, 0.0, 0.0)
    np.testing.assert_allclose(cost.fn(z, a, y), [2000.0], rtol=1e-15)
    np.testing.assert_array_equal(cost.delta(z, a, y, softmax), col(-1.0, 0.0, 1.0))
    assert np.all(np.isfinite(COSTS["quadratic"].delta(z, a, y, softmax)))
