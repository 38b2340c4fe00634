"""The ground truth (oracles/exact.py) against closed forms derived by hand, evaluated in mpmath
at 60 digits (another library), and its certification: every element the float64 nearest the
exact value, or NotCertified."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from flint import arb, ctx

from oracles.exact import NotCertified, round_certified, truth
from reference import Architecture, Batch, Params, make_case
from suite.architectures import TAILS, curated

mpmath.mp.dps = 60


def _net(sizes, acts, cost, ws, bs, x, y) -> tuple[Architecture, Params, Batch]:
    arch = Architecture(tuple(sizes), acts, cost, batch=np.asarray(x).shape[1])
    params = Params(
        tuple(np.array(w, dtype=float) for w in ws), tuple(np.array(b, dtype=float) for b in bs)
    )
    return arch, params, Batch(np.array(x, dtype=float), np.array(y, dtype=float))


def _sig(z):
    return 1 / (1 + mpmath.exp(-z))


def _near(v) -> float:
    """mpmath's value rounded to the nearest float64 (through an exact fraction)."""
    v = mpmath.mpf(v)
    man, exp = v.man_exp  # the magnitude's
    return float((-1 if v < 0 else 1) * Fraction(int(man)) * Fraction(2) ** int(exp))


@pytest.mark.parametrize("z", [0.5, 20.0, 37.43, 300.0, -30.0])
def test_sigmoid_quadratic_one_neuron(z) -> None:
    """δ = (σ(z) − y) σ'(z), σ' = σ(z)σ(−z); ∂C/∂b = δ; ∂C/∂w = δ·x (x = 1, w = z)."""
    arch, params, batch = _net((1, 1), "sigmoid", "quadratic", [[[z]]], [[[0.0]]], [[1.0]], [[1.0]])
    exact = truth(arch, params, batch)
    zz = mpmath.mpf(z)
    delta = -_sig(-zz) * _sig(zz) * _sig(-zz)  # σ(z) − 1 = −σ(−z): no digits lost in mpmath
    for q in ("delta", "nabla_b", "nabla_w"):
        assert exact.gradients.get(q, 2)[0, 0] == _near(delta)


@pytest.mark.parametrize(("z", "y"), [(37.43, 1.0), (-37.43, 0.0), (40.0, 0.0), (5.0, 0.3)])
def test_cross_entropy_output_error(z, y) -> None:
    """δ^L = σ(z) − y (book eq. 66): −5.55e-17 at z = 37.43, y = 1, where σ(z) rounds to 1."""
    arch, params, batch = _net(
        (1, 1), "sigmoid", "cross_entropy", [[[1.0]]], [[[0.0]]], [[z]], [[y]]
    )
    got = truth(arch, params, batch).gradients.get("delta", 2)[0, 0]
    assert got == _near(_sig(mpmath.mpf(z)) - y)
    if (z, y) == (37.43, 1.0):
        assert got == pytest.approx(-5.55e-17, rel=1e-3)


def test_tanh_two_layers_backpropagates() -> None:
    """BP2 by hand on 1-1-1 tanh,identity: δ^3 = a^3 − y, δ^2 = w^3 δ^3 sech²(z^2), z^2 = 20."""
    arch, params, batch = _net(
        (1, 1, 1),
        ("tanh", "identity"),
        "quadratic",
        [[[20.0]], [[3.0]]],
        [[[0.0]], [[0.5]]],
        [[1.0]],
        [[0.25]],
    )
    exact = truth(arch, params, batch)
    t = mpmath.tanh(20)
    d3 = 3 * t + mpmath.mpf(0.5) - mpmath.mpf(0.25)
    d2 = 3 * d3 / mpmath.cosh(20) ** 2
    assert exact.gradients.get("delta", 3)[0, 0] == _near(d3)
    assert exact.gradients.get("delta", 2)[0, 0] == _near(d2)
    assert exact.gradients.get("nabla_w", 3)[0, 0] == _near(d3 * t)
    assert d2 != 0 and 1 - np.tanh(20.0) ** 2 == 0  # the book's 1 − tanh² loses all of it


def test_softmax_log_likelihood_confident_right() -> None:
    """δ = a − y; for the true class a_0 − 1 = −a_1 − a_2 (z = [40, 0, −40]): 4.25e-18."""
    arch, params, batch = _net(
        (1, 3),
        "softmax",
        "log_likelihood",
        [[[40.0], [0.0], [-40.0]]],
        [[[0.0]] * 3],
        [[1.0]],
        [[1.0], [0.0], [0.0]],
    )
    got = truth(arch, params, batch).gradients.get("delta", 2)[:, 0]
    e = [mpmath.exp(v) for v in (40, 0, -40)]
    s = sum(e)
    assert list(got) == [_near(-(e[1] + e[2]) / s), _near(e[1] / s), _near(e[2] / s)]
    assert got[0] == pytest.approx(-4.25e-18, rel=1e-2)


def test_softmax_quadratic_is_the_jacobian_transpose() -> None:
    """δ_j = Σ_k a_k(δ_kj − a_j)(a_k − y_k) on a 2-way softmax with z = [3, −1]."""
    arch, params, batch = _net(
        (1, 2), "softmax", "quadratic", [[[3.0], [-1.0]]], [[[0.0], [0.0]]], [[1.0]], [[0.2], [0.7]]
    )
    got = truth(arch, params, batch).gradients.get("delta", 2)[:, 0]
    e = [mpmath.exp(3), mpmath.exp(-1)]
    a = [v / sum(e) for v in e]
    g = [a[0] - mpmath.mpf(0.2), a[1] - mpmath.mpf(0.7)]
    want = [sum(a[k] * ((k == j) - a[j]) * g[k] for k in range(2)) for j in range(2)]
    assert list(got) == [_near(v) for v in want]


def test_dead_relu_gives_exact_zeros_and_a_subnormal_stays() -> None:
    """A relu with z < 0 passes nothing back: δ^2 is exactly 0. And σ'(−740) is subnormal."""
    arch, params, batch = _net(
        (1, 1, 1),
        ("relu", "sigmoid"),
        "quadratic",
        [[[-2.0]], [[1.0]]],
        [[[0.0]], [[-740.0]]],
        [[1.0]],
        [[1.0]],
    )
    exact = truth(arch, params, batch)
    assert exact.gradients.get("delta", 2)[0, 0] == 0.0
    d3 = exact.gradients.get("delta", 3)[0, 0]
    z = mpmath.mpf(-740)
    assert d3 == _near(-_sig(-z) * _sig(z) * _sig(-z))
    assert 0 < -d3 < np.finfo(float).tiny


def test_rounding_is_certified_or_refused() -> None:
    assert round_certified(arb(1) / 3) is None  # at arb's default 53 bits the ball is too wide
    saved, ctx.prec = ctx.prec, 256
    try:
        third = arb(1) / 3
    finally:
        ctx.prec = saved
    assert round_certified(third) == 1 / 3
    half_ulp = arb(1) + arb(2) ** -53  # exactly between 1 and 1 + 2^-52
    assert round_certified(arb(half_ulp, arb(2) ** -80)) is None
    assert round_certified(arb(0)) == 0.0
    assert round_certified(arb(2) ** -1074) == 5e-324


def test_precision_rises_until_certified_then_refuses() -> None:
    arch = curated("2-3-1_sigmoid_quadratic_m4_s0")
    params, batch = make_case(arch)
    assert truth(arch, params, batch, precisions=(16, 256)).precision == 256
    with pytest.raises(NotCertified, match="2-3-1_sigmoid_quadratic_m4_s0: not certified at 16"):
        truth(arch, params, batch, precisions=(16,))


@pytest.mark.parametrize(
    "arch", [*TAILS, curated("3-4-3_tanh,softmax_log_likelihood_m4_s0")], ids=lambda a: a.id
)
def test_terms_bound_the_value(arch) -> None:
    """Σ|terms| ≥ |value| for every element (T of a sum is the sum of the terms' T)."""
    params, batch = make_case(arch)
    exact = truth(arch, params, batch)
    for q, layer, value in exact.gradients.items():
        terms = exact.terms.get(q, layer)
        assert (terms >= np.abs(value) * (1 - 1e-12)).all(), (q, layer)
