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
from reference.layers import Conv, MaxPool
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


# --- Feature maps: the truth against mpmath, by another route ------------------------------------
# Each map net's cost is written here from the layers' definitions, as loops over positions in
# mpmath (60 digits): a convolution z_{o,i,j} = b_o + Σ_{c,u,v} w_{o,c,u,v} â_{c,s·i+u,s·j+v}, a
# max-pool's max over its window, a dense layer's sum. Its derivatives are mpmath's numerical ones
# (mpmath.diff) of that forward pass in each parameter (the batch-mean C) and in each element of
# each z^l (C_x, one sample): no backward pass at all, so none of the truth's transposes, routes
# or patch matrices are shared.

_SIGMA = {
    "sigmoid": _sig,
    "tanh": mpmath.tanh,
    "identity": lambda z: z,
    "relu": lambda z: z if z > 0 else mpmath.mpf(0),
}
_COST = {
    "quadratic": lambda a, y: sum((u - v) ** 2 for u, v in zip(a, y, strict=True)) / 2,
    "cross_entropy": lambda a, y: (
        -sum(v * mpmath.log(u) + (1 - v) * mpmath.log(1 - u) for u, v in zip(a, y, strict=True))
    ),
}


def _mp_cost(arch, ws, bs, x, y, bump=None) -> object:
    """C_x of one sample (x: its input as nested lists, y its target) by the definitions;
    ``bump`` = (list index of the layer, index into its z, h) adds h to that element of z^l."""
    a = x
    for i, (layer, w, b) in enumerate(zip(arch.layers, ws, bs, strict=True)):
        if isinstance(layer, Conv):
            (k_h, k_w), s, p = layer.kernel_size, layer.stride, layer.padding
            c_in, h, wd = layer.in_shape
            _, h_out, w_out = layer.out_shape

            def at(c, r, q, a=a, p=p, h=h, wd=wd):
                r, q = r - p, q - p
                return a[c][r][q] if 0 <= r < h and 0 <= q < wd else 0

            z = [
                [
                    [
                        b[o][0]
                        + sum(
                            w[o][c][u][v] * at(c, s * r + u, s * q + v)
                            for c in range(c_in)
                            for u in range(k_h)
                            for v in range(k_w)
                        )
                        for q in range(w_out)
                    ]
                    for r in range(h_out)
                ]
                for o in range(layer.maps)
            ]
        elif isinstance(layer, MaxPool):
            k, s = layer.window, layer.step
            _, h_out, w_out = layer.out_shape
            z = [
                [
                    [
                        max(a[c][s * r + u][s * q + v] for u in range(k) for v in range(k))
                        for q in range(w_out)
                    ]
                    for r in range(h_out)
                ]
                for c in range(len(a))
            ]
        else:
            flat = list(np.array(a, dtype=object).ravel())
            z = [
                b[j][0] + sum(wj * v for wj, v in zip(w[j], flat, strict=True))
                for j in range(len(w))
            ]
        z = np.array(z, dtype=object)
        if bump is not None and bump[0] == i:
            z[bump[1]] += bump[2]
        a = np.vectorize(_SIGMA[layer.activation], otypes=[object])(z).tolist()
    return _COST[arch.cost](a, y)


def _mp(a) -> list:
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(a, dtype=float)).tolist()


def mpmath_gradients(arch, params, batch) -> dict[tuple[str, int], np.ndarray]:
    """Every δ^l, ∂C/∂b^l and ∂C/∂w^l of the case by mpmath.diff of :func:`_mp_cost`, rounded to
    the nearest float64."""
    ws, bs = [_mp(w) for w in params.weights], [_mp(b) for b in params.biases]
    m = batch.x.shape[-1]
    xs = [_mp(batch.x[..., x]) for x in range(m)]
    ys = [[mpmath.mpf(float(v)) for v in batch.y[:, x]] for x in range(m)]
    out: dict[tuple[str, int], np.ndarray] = {}

    def batch_cost(i: int, q: str, n: tuple[int, ...], h) -> object:
        """C with h added to element n of layer i's b (q "nabla_b") or w."""
        ws_, bs_ = list(ws), list(bs)
        moved = np.array((bs_ if q == "nabla_b" else ws_)[i], dtype=object)
        moved[n] += h
        (bs_ if q == "nabla_b" else ws_)[i] = moved.tolist()
        return sum(_mp_cost(arch, ws_, bs_, xs[x], ys[x]) for x in range(m)) / m

    for i, layer in enumerate(arch.layers):
        delta = np.zeros(layer.delta_shape(m))
        for n in np.ndindex(*delta.shape):
            at, x = n[:-1], n[-1]
            derivative = mpmath.diff(
                lambda h, at=at, x=x, i=i: _mp_cost(arch, ws, bs, xs[x], ys[x], (i, at, h)), 0
            )
            delta[n] = _near(derivative)
        out["delta", i + 2] = delta
        if layer.weight_shape == (0,):
            continue
        for q, shape in (("nabla_b", layer.bias_shape), ("nabla_w", layer.weight_shape)):
            grad = np.zeros(shape)
            for n in np.ndindex(*shape):
                grad[n] = _near(mpmath.diff(lambda h, i=i, q=q, n=n: batch_cost(i, q, n, h), 0))
            out[q, i + 2] = grad
    return out


#: Tiny map nets the mpmath route can afford: padding and overlapping pool windows; BP2 through
#: a stride-2 convolution whose windows miss the last column; a pool of tied integer inputs (no
#: BP2 through it: not a kink); dead relus, whose pool windows tie at 0 (:func:`_map_case`).
MAP_NETS = {
    "padding, overlapping pool": Architecture(
        ((1, 4, 4), Conv(2, 2, padding=1), MaxPool(3, stride=2), 2),
        ("tanh", "identity", "sigmoid"),
        batch=2,
    ),
    "a 1x2 kernel into stride 2": Architecture(
        ((2, 5, 5), Conv(2, (1, 2)), Conv(2, 3, stride=2, padding=1), 2),
        "sigmoid",
        "cross_entropy",
        batch=2,
    ),
    "pool of tied inputs": Architecture(((1, 4, 4), MaxPool(2), 3), ("identity", "tanh"), batch=2),
    "dead relus tie at 0": Architecture(
        ((1, 4, 4), Conv(2, 2), MaxPool(2, stride=1), 2), ("relu", "identity", "sigmoid"), batch=2
    ),
}


def _map_case(name: str) -> tuple[Architecture, Params, Batch]:
    arch = MAP_NETS[name]
    params, batch = make_case(arch)
    if name == "pool of tied inputs":  # integers 0…1: most windows hold their maximum twice
        x = np.random.default_rng(7).integers(0, 2, batch.x.shape).astype(float)
        batch = Batch(x, batch.y)
    if name == "dead relus tie at 0":  # map 0's relus all dead: its pool windows tie at 0
        biases = (params.biases[0] - np.array([[10.0], [0.0]]), *params.biases[1:])
        params = Params(params.weights, biases)
    return arch, params, batch


@pytest.fixture(scope="module")
def mpmath_truths() -> dict[str, dict]:
    return {name: mpmath_gradients(*_map_case(name)) for name in MAP_NETS}


def _disagreements(exact, expected: dict) -> list[tuple[str, int]]:
    return [key for key, want in expected.items() if not np.array_equal(exact.get(*key)[0], want)]


@pytest.mark.parametrize("name", MAP_NETS)
def test_the_truth_on_maps_is_mpmaths_derivative_of_the_definitions(name, mpmath_truths) -> None:
    """Every element of every δ^l, ∂C/∂b^l, ∂C/∂w^l is the float64 nearest mpmath's."""
    arch, params, batch = _map_case(name)
    exact = truth(arch, params, batch)
    assert set(mpmath_truths[name]) == {(q, layer) for q, layer, _ in exact.gradients.items()}
    assert _disagreements(exact, mpmath_truths[name]) == []
    for q, layer, value in exact.gradients.items():  # Σ|terms| ≥ |value| here too
        assert (exact.terms.get(q, layer) >= np.abs(value) * (1 - 1e-12)).all(), (q, layer)
    if name == "dead relus tie at 0":
        assert (exact.gradients.get("delta", 2)[0] == 0).all()  # the dead map gets nothing


def _kernel_flipped_in_bp2(correct):
    """BP2 through a convolution with the kernel turned by 180° (convolution for correlation)."""

    def backward(layer, w, absw, *rest):
        return correct(layer, w[:, :, ::-1, ::-1], absw[:, :, ::-1, ::-1], *rest)

    return "backward", backward


def _bias_at_one_position(correct):
    def bias_gradient(layer, delta, t_delta):
        return correct(layer, delta[:, :1, :1], t_delta[:, :1, :1])

    return "bias_gradient", bias_gradient


def _kernel_transposed_forward(correct):
    """z^l from the kernel with its rows and columns swapped (square kernels)."""

    def forward(layer, w, absw, *rest):
        return correct(layer, w.swapaxes(2, 3), absw.swapaxes(2, 3), *rest)

    return "forward", forward


def _routed_to_the_minimum(correct):
    """BP2 through a max-pool that routes each window's δ to its smallest entry."""

    def backward(layer, w, absw, delta, t_delta, a_prev, *rest):
        return correct(layer, w, absw, delta, t_delta, -a_prev, *rest)

    return "backward", backward


#: A bug planted in the truth's own map code (its LAYERS entry), the net that shows it, the
#: layer type, and a quantity and layer it breaks.
PLANTED_IN_THE_TRUTH = {
    "kernel flipped in BP2": (
        _kernel_flipped_in_bp2,
        "a 1x2 kernel into stride 2",
        Conv,
        ("delta", 2),
    ),
    "bias at one position": (
        _bias_at_one_position,
        "padding, overlapping pool",
        Conv,
        ("nabla_b", 2),
    ),
    "kernel transposed": (
        _kernel_transposed_forward,
        "padding, overlapping pool",
        Conv,
        ("delta", 4),
    ),
    "routed to the minimum": (
        _routed_to_the_minimum,
        "padding, overlapping pool",
        MaxPool,
        ("delta", 2),
    ),
}


@pytest.mark.parametrize("planted", PLANTED_IN_THE_TRUTH)
def test_a_bug_in_the_truths_map_code_is_caught(monkeypatch, planted, mpmath_truths) -> None:
    """Broken once, the truth disagrees with mpmath, and the reference (right) fails against it
    at the quantity the bug breaks; unbroken, both agree (the test above)."""
    from dataclasses import replace

    from errormodel.compare import compare_to_truth
    from errormodel.tolerances import exact_allowed
    from harness.cases import assemble_case
    from oracles import exact

    bug, name, kind, (q, layer) = PLANTED_IN_THE_TRUTH[planted]
    arch, params, batch = _map_case(name)
    field, broken = bug(getattr(exact.LAYERS[kind], bug(None)[0]))
    monkeypatch.setitem(exact.LAYERS, kind, replace(exact.LAYERS[kind], **{field: broken}))
    wrong = truth(arch, params, batch)
    assert (q, layer) in _disagreements(wrong, mpmath_truths[name])
    case = assemble_case(arch, params, batch, np.float64)
    true, terms = wrong.get(q, layer)
    allowed = exact_allowed("reference", true, terms, case.scales, q, layer)
    compared = compare_to_truth(
        case.reference.get(q, layer), true, allowed, quantity=q, layer=layer, oracle="exact"
    )
    assert not compared.passed
