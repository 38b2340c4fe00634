"""Each of BP1–BP4, σ' and ∇_a C on tiny cases checked by hand (numbers worked out on paper)."""

from __future__ import annotations

import numpy as np
import pytest

from reference.activations import ACTIVATIONS
from reference.costs import COSTS
from reference.equations import backpropagate_error, bias_gradient, output_error, weight_gradient


def col(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)[:, None]


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


def test_quadratic_cost_and_its_bp1():
    a, y = np.array([[1.0, 0.0], [3.0, 2.0]]), np.array([[0.0, 0.0], [1.0, 2.0]])
    z, sigma_prime = np.full_like(a, np.nan), np.array([[0.5, 2.0], [0.25, 3.0]])  # z unused
    np.testing.assert_array_equal(COSTS["quadratic"].fn(z, a, y), [0.5 * (1 + 4), 0.0])
    np.testing.assert_array_equal(
        COSTS["quadratic"].delta(z, a, y, sigma_prime), [[0.5, 0.0], [0.5, 0.0]]
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
        COSTS["cross_entropy"].delta(z, a, y, sigma_prime), multiplied_out, rtol=1e-12
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
    delta = cost.delta(z, a, y, ACTIVATIONS["sigmoid"].prime(z))
    np.testing.assert_allclose(delta, [[0.75, 0.75, -0.25, -0.25]], rtol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_prime_reusing_the_forward_activation_gives_the_same_bits(name):
    z = np.linspace(-40.0, 40.0, 161).reshape(7, 23)  # saturated, plain, and 0 (the kink) included
    act = ACTIVATIONS[name]
    np.testing.assert_array_equal(act.prime(z, act.fn(z)), act.prime(z))
