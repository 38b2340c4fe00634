"""The reference's σ' and δ^L elementwise against the truth in ball arithmetic (issue 21, item 2).

The truth is python-flint's ``arb`` (rigorous balls: the enclosure proves the digits) at
:data:`PRECISION` bits, from the float64 inputs taken exactly, by the book's formulas: σ' =
σ(1 − σ), 1 − tanh², a − y, J = diag(a) − aaᵀ. (At that precision their cancellation costs at
most the 1,075 bits of 1 − σ(745); every ball is checked to be tight before it is used.)

Every element must be within :data:`ULPS` units, a unit being ε·max(|true|, Σ|terms|) — or η, the
smallest subnormal, where that is smaller (no float64 is closer to a subnormal truth than η/2).
Σ|terms| is the same computation over absolute values, its terms exact functions of the inputs:
a − y has the terms a(1 − y) and (1 − a)y where the output saturates at 1 (sigmoid, tanh,
softmax: for y ∈ {0, 1} one of them is 0, so a confident output is judged by its own size) and a
and y elsewhere; the softmax's Jᵀg sums |J_kj||g_k|; σ' alone is one term. The test can fail:
the book's formulas in float64 (:data:`BOOK`) fail it, each by far more than 8 units.

``python -m tests.test_accuracy`` prints the worst ulps of every function.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import flint
import numpy as np
import pytest

from reference.activations import ACTIVATIONS, OUTPUT_ONLY, Sigmoid
from reference.costs import COSTS
from reference.types import Array
from reference.vocabulary import LEAKY_RELU_ALPHA

#: Bits of the ball arithmetic: 1 − σ(745) cancels 1,075 of them, a softmax spread of 1,490 more.
PRECISION = 3000
#: Units of ε·max(|true|, Σ|terms|) (or η) allowed per element.
ULPS = 8.0
EPS = float(np.finfo(np.float64).eps)
ETA = float(np.finfo(np.float64).smallest_subnormal)

#: Named points: the issue's (20, 30, 37.43, 40, 400, 700), where σ, tanh and the book's
#: formulas round to their limits, where σ' and sech² turn subnormal (708.4, 354.6 and beyond).
_POINTS = [
    *(0.0, ETA, 1e-300, 1e-8, 0.5, 1.0, 2.0, 5.0, 10.0, 19.1, 20.0, 30.0, 36.0, 37.43, 40.0),
    *(100.0, 354.6, 355.3, 372.5, 400.0, 700.0, 708.4, 709.78, 710.5, 720.0, 740.0, 745.0),
]
#: Weighted inputs from −745 to 745: the named points of both signs, a grid, seeded draws.
Z = np.unique(
    np.concatenate(
        [
            np.array(_POINTS),
            -np.array(_POINTS),
            np.linspace(-745.0, 745.0, 299),
            np.random.default_rng(21).uniform(-745.0, 745.0, 100),
            np.random.default_rng(22).uniform(-45.0, 45.0, 100),
        ]
    )
)
#: Targets: the two confident ones (right and wrong, whatever the sign of z) and one inside.
Y = (0.0, 1.0, 0.25)


def _softmax_columns() -> dict[int, Array]:
    """Columns of z^L for a softmax, by height: pairs and triples of the named points (ties,
    spreads up to 1,490, shifts that round), and seeded 10-neuron columns at scales 1, 30, 300."""
    pairs, triples = [], []
    for v in _POINTS[4:]:
        for shift in (0.0, 0.3, -700.25):
            pairs += [(v + shift, shift), (shift, v + shift)]
            triples += [(v, shift, -v), (v, v, shift)]
    rng = np.random.default_rng(23)
    tall = [rng.standard_normal(10) * s for s in (1.0, 30.0, 300.0) for _ in range(4)]
    return {2: np.array(pairs).T, 3: np.array(triples).T, 10: np.array(tall).T}


SOFTMAX_Z = _softmax_columns()


# --- the truth ---------------------------------------------------------------------------------


def _arb(x: float) -> object:
    return flint.arb(float(x))


def _tight(x: object) -> object:
    """x, after checking its ball proves it to far beyond float64 (or it is exact)."""
    if x.rad() != 0 and not (x.rad() < abs(x.mid()) * flint.arb(2) ** -120):
        raise AssertionError(f"ball too wide for a truth: {x}")
    return x


def _sig(x: object) -> object:
    return 1 / (1 + (-x).exp())


def _elementwise_truth(name: str, x: object) -> tuple[object, object]:
    """(σ(x), σ'(x)) by the book's formulas, exactly enough."""
    if name == "sigmoid":
        s = _sig(x)
        return s, s * (1 - s)
    if name == "tanh":
        t = x.tanh()
        return t, 1 - t * t
    if name == "softplus":
        return (1 + x.exp()).log(), _sig(x)
    if name in ("relu", "leaky_relu"):
        slope = 1.0 if x > 0 else (0.0 if name == "relu" else LEAKY_RELU_ALPHA)
        return (x if x > 0 else x * _arb(slope)), _arb(slope)
    if name == "identity":
        return x, _arb(1.0)
    raise KeyError(f"no truth for activation {name!r}: add it to _elementwise_truth")


#: Activations whose output saturates at 1: a − y has the terms a(1 − y) and (1 − a)y.
SATURATING = frozenset({"sigmoid", "tanh", "softmax"})


def _residual_terms(name: str, a: object, y: object) -> object:
    if name in SATURATING:
        return abs(a * (1 - y)) + abs((1 - a) * y)
    return abs(a) + abs(y)


def _softmax_truth(column: Array) -> list[object]:
    e = [_arb(v).exp() for v in column]
    total = _sum(iter(e))
    return [v / total for v in e]


@dataclass(frozen=True)
class Elements:
    """Computed float64 elements, their truths and Σ|terms| (arb), and where each came from."""

    computed: Array
    truth: list[object]
    terms: list[object]
    where: list[str]

    def ulps(self) -> Array:
        """|computed − true| / max(ε·max(|true|, Σ|terms|), η), per element."""
        found = []
        for c, t, s in zip(self.computed.ravel(), self.truth, self.terms, strict=True):
            scale = float(max(abs(t), s).mid())
            unit = _arb(max(EPS * scale, ETA))
            found.append(float((abs(_arb(c) - t) / unit).mid()))
        return np.array(found)


# --- what is judged: one function per quantity, on the reference or the book -------------------

Primes = Callable[[str, Array], Array]
Deltas = Callable[[str, str, Array, Array], Array]


def reference_prime(name: str, z: Array) -> Array:
    return ACTIVATIONS[name].prime(z)


def reference_delta(cost: str, output: str, z: Array, y: Array) -> Array:
    sigma = ACTIVATIONS[output]
    return COSTS[cost].delta(z, sigma.fn(z), y, sigma)


def book_prime(name: str, z: Array) -> Array:
    """network.py's σ' = σ(1 − σ), and 1 − tanh²; the rest as the reference has them."""
    if name == "sigmoid":
        s = Sigmoid().fn(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - np.tanh(z) ** 2
    return reference_prime(name, z)


def book_delta(cost: str, output: str, z: Array, y: Array) -> Array:
    """network2.py's δ^L: (a − y)σ'(z) and a − y; the softmax's Jᵀ(a − y), J = diag(a) − aaᵀ."""
    a = ACTIVATIONS[output].fn(z)
    if cost != "quadratic":
        return a - y
    if output == "softmax":
        return np.einsum("kjx,kx->jx", book_jacobian(z), a - y)
    return (a - y) * book_prime(output, z)


def prime_elements(name: str, prime: Primes) -> Elements:
    with flint.ctx.workprec(PRECISION):
        truth = [_tight(_elementwise_truth(name, _arb(v))[1]) for v in Z]
        return Elements(prime(name, Z.reshape(1, -1)), truth, [abs(t) for t in truth], _at(Z))


def delta_elements(cost: str, output: str, delta: Deltas) -> Elements:
    """δ^L of ``cost`` on an ``output`` layer: elementwise on every z of Z with every y of Y; a
    softmax on every column of SOFTMAX_Z with a one-hot y of each class."""
    with flint.ctx.workprec(PRECISION):
        if output == "softmax":
            return _softmax_delta_elements(cost, delta)
        z = np.repeat(Z, len(Y)).reshape(1, -1)
        y = np.tile(np.array(Y), len(Z)).reshape(1, -1)
        truth, terms = [], []
        for zv, yv in zip(z.ravel(), y.ravel(), strict=True):
            a, slope = _elementwise_truth(output, _arb(zv))
            r, r_terms = a - _arb(yv), _residual_terms(output, a, _arb(yv))
            if cost == "quadratic":
                r, r_terms = r * slope, r_terms * abs(slope)
            truth.append(_tight(r))
            terms.append(r_terms)
        where = [f"z={zv!r}, y={yv!r}" for zv, yv in zip(z.ravel(), y.ravel(), strict=True)]
        return Elements(delta(cost, output, z, y), truth, terms, where)


def _softmax_delta_elements(cost: str, delta: Deltas) -> Elements:
    parts = [_softmax_delta_block(cost, delta, columns) for columns in SOFTMAX_Z.values()]
    return Elements(
        np.concatenate([p.computed.ravel() for p in parts]),
        [t for p in parts for t in p.truth],
        [t for p in parts for t in p.terms],
        [w for p in parts for w in p.where],
    )


def _softmax_delta_block(cost: str, delta: Deltas, columns: Array) -> Elements:
    """Every column with a one-hot y of each class in turn (confident right and wrong)."""
    n, cols = columns.shape
    z = np.repeat(columns, n, axis=1)
    y = np.tile(np.eye(n), cols)
    truth: list[list[object]] = []
    terms: list[list[object]] = []
    for x in range(z.shape[1]):
        a = _softmax_truth(z[:, x])
        g = [a[k] - _arb(y[k, x]) for k in range(n)]
        g_terms = [_residual_terms("softmax", a[k], _arb(y[k, x])) for k in range(n)]
        if cost == "log_likelihood":
            truth.append([_tight(t) for t in g])
            terms.append(g_terms)
            continue
        jac = [[a[k] * ((1 if k == j else 0) - a[j]) for k in range(n)] for j in range(n)]
        truth.append(
            [_tight(_sum(jk * gk for jk, gk in zip(jac[j], g, strict=True))) for j in range(n)]
        )
        terms.append(
            [_sum(abs(jk) * tk for jk, tk in zip(jac[j], g_terms, strict=True)) for j in range(n)]
        )
    # the (n, m) result in row-major order: element (j, x) is truth[x][j]
    order = [(j, x) for j in range(n) for x in range(z.shape[1])]
    where = [f"neuron {j}, z={z[:, x].tolist()}, class {int(y[:, x].argmax())}" for j, x in order]
    return Elements(
        delta(cost, "softmax", z, y),
        [truth[x][j] for j, x in order],
        [terms[x][j] for j, x in order],
        where,
    )


def jacobian_elements(jacobian: Callable[[Array], Array]) -> Elements:
    """The softmax's σ', its Jacobian J[k, j, x] = a_k(δ_kj − a_j), on every SOFTMAX_Z column."""
    parts = []
    with flint.ctx.workprec(PRECISION):
        for columns in SOFTMAX_Z.values():
            n, cols = columns.shape
            truth = []
            for k, j, x in itertools.product(range(n), range(n), range(cols)):
                a = _softmax_truth(columns[:, x])
                truth.append(_tight(a[k] * ((1 if k == j else 0) - a[j])))
            where = [
                f"J[{k}, {j}] at z={columns[:, x].tolist()}"
                for k, j, x in itertools.product(range(n), range(n), range(cols))
            ]
            parts.append(Elements(jacobian(columns).ravel(), truth, [abs(t) for t in truth], where))
    return Elements(
        np.concatenate([p.computed for p in parts]),
        [t for p in parts for t in p.truth],
        [t for p in parts for t in p.terms],
        [w for p in parts for w in p.where],
    )


def book_jacobian(z: Array) -> Array:
    a = ACTIVATIONS["softmax"].fn(z)
    return a[:, None, :] * (np.eye(a.shape[0])[:, :, None] - a[None, :, :])


def _sum(items: Iterator[object]) -> object:
    total = flint.arb(0)
    for item in items:
        total = total + item
    return total


def _at(z: Array) -> list[str]:
    return [f"z={v!r}" for v in z]


ELEMENTWISE = sorted(set(ACTIVATIONS) - OUTPUT_ONLY)
#: (cost, output activation) of every δ^L the reference computes.
DELTAS = [("quadratic", name) for name in ELEMENTWISE] + [
    ("cross_entropy", "sigmoid"),
    ("log_likelihood", "softmax"),
    ("quadratic", "softmax"),
]
#: The book's formulas that cancel, each of which must fail the test.
BOOK = [("prime", "sigmoid"), ("prime", "tanh"), ("prime", "softmax")] + [
    ("delta", f"{cost}/{output}")
    for cost, output in DELTAS
    if output in SATURATING or cost != "quadratic"
]


def elements(kind: str, what: str, book: bool = False) -> Elements:
    if kind == "prime" and what == "softmax":
        return jacobian_elements(book_jacobian if book else ACTIVATIONS["softmax"].jacobian)
    if kind == "prime":
        return prime_elements(what, book_prime if book else reference_prime)
    cost, output = what.split("/")
    return delta_elements(cost, output, book_delta if book else reference_delta)


def worst(found: Elements) -> tuple[float, str]:
    ulps = found.ulps()
    i = int(np.argmax(ulps))
    value, truth = found.computed.ravel()[i], float(found.truth[i].mid())
    return float(ulps[i]), f"{ulps[i]:.3g} ulps at {found.where[i]}: got {value!r}, true {truth!r}"


def cases() -> Iterator[tuple[str, str]]:
    yield from (("prime", name) for name in [*ELEMENTWISE, "softmax"])
    yield from (("delta", f"{cost}/{output}") for cost, output in DELTAS)


@pytest.mark.parametrize(("kind", "what"), list(cases()), ids=lambda v: v)
def test_reference_is_accurate_elementwise(kind, what):
    ulps, detail = worst(elements(kind, what))
    assert ulps <= ULPS, f"{kind} {what}: {detail} (allowed {ULPS:g})"


@pytest.mark.parametrize(("kind", "what"), BOOK, ids=lambda v: v)
def test_the_books_cancelling_formulas_fail_it(kind, what):
    ulps, detail = worst(elements(kind, what, book=True))
    assert ulps > 1e3 * ULPS, f"the book's {kind} {what} should fail: {detail}"


def test_the_inputs_reach_the_tails():
    """The z reach ±745 and the named points, σ' and sech² reach subnormal values, the softmax
    columns spread by up to 1,490 with confident right and wrong classes."""
    assert Z.min() == -745.0 and Z.max() == 745.0
    assert {37.43, -37.43, 20.0, 30.0, 40.0, 400.0, 700.0} <= set(Z.tolist())
    tiny = np.finfo(np.float64).tiny
    for name in ("sigmoid", "tanh"):
        slope = ACTIVATIONS[name].prime(Z)
        assert np.any((slope > 0) & (slope < tiny)), name
    spread = max(float(np.ptp(c, axis=0).max()) for c in SOFTMAX_Z.values())
    assert spread >= 1490.0
    assert len(list(cases())) == len(ACTIVATIONS) + len(DELTAS)


if __name__ == "__main__":
    for kind, what in cases():
        print(f"{kind:5} {what:24} reference {worst(elements(kind, what))[1]}")
    for kind, what in BOOK:
        print(f"{kind:5} {what:24} book      {worst(elements(kind, what, book=True))[1]}")
