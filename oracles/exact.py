"""The ground truth: every δ^l, ∂C/∂b^l and ∂C/∂w^l in ball arithmetic, rounded once to float64.

The net's float64 parameters and batch are exact in python-flint's ``arb`` (a midpoint and a
radius that provably encloses the real number). The forward pass, BP1–BP4 and every activation
and cost are evaluated on balls at 256 bits; an element is *certified* when both ends of its ball
round to the same float64 (round to nearest, so every real in the ball does too). Elements that
are not get the whole computation again at 1024 and then 4096 bits; one still uncertain raises
:class:`NotCertified`. No formula can cancel digits away unseen: a cancellation widens the ball.
Each layer type's forward map and BP2–BP4 on balls are its entry of :data:`LAYERS`.
Each activation's σ and each cost's δ^L on an elementwise output are its record's ``exact``
formula (oracles/activations.py, oracles/costs.py: :data:`ELEMENTWISE`, :data:`OUTPUT_ERRORS`);
a softmax output's σ and δ^L, column by column, are this module's own (:func:`_softmax`,
:data:`SOFTMAX_OUTPUT_ERRORS`).

Per element it also returns Σ|terms|, T, the same computation over absolute values, as the scale
a computation that cancels is fairly judged by (errormodel.tolerances.exact_allowed). The rules:

- an exact input v (x, w, b, y): T = |v|; a sum: the sum of the terms' T; a product: their
  product (so a dot product w·a has T = |w|·T(a), and z^l = w^l a^{l−1} + b^l has
  T(z) = |w^l| T(a^{l−1}) + |b^l|);
- a function f of one argument, accurate to a few ulps by itself (σ, σ', 1 − σ for sigmoid and
  tanh, ln(1 + e^z)): T(f(u)) = |f(u)| + |f'(u)|·T(u), its value plus how far its argument's
  terms move it (σ'(z) at |z| = 700 moves by 700ε relative when z moves by ε relative);
- softmax: T(a_j) = a_j + Σ_k |∂a_j/∂z_k| T(z_k);
- the output error a − y: the better of two exact forms, a − y (T(a) + |y|) and, for a
  sigmoid or tanh output with y ≥ ½ (1 − y is then exact), (1 − y) − (1 − σ(z)) (|1 − y| +
  T(1 − σ)); a softmax output with one-hot y: a_j − 1 = −Σ_{k≠j} a_k. The quadratic cost on a
  softmax output: δ_j = a_j Σ_{k≠j} a_k (e_j − e_k), e = a − y, with Σ_k a_k = 1 used exactly.

These are the terms of a formula that does not cancel where the book's does (σ(1 − σ),
1 − tanh², a − y of a saturated σ, the softmax VJP s(g − s·g)): a computation that loses its
digits there is judged by the size of the true result, not of the cancelled terms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from flint import arb, ctx

from oracles import activations as oracle_sigmas
from oracles import costs as oracle_costs
from oracles import dense_only, layer_ops
from reference import Architecture, Batch, Gradients, Params
from reference.layers import Dense, Layer
from reference.types import Array

#: Working precisions in bits, tried in turn until every element's ball rounds to one float64.
PRECISIONS = (256, 1024, 4096)


class NotCertified(ArithmeticError):
    """At the highest precision some element's ball still straddles two float64 values."""


#: A decision (the sign of a relu's z) the ball does not settle at this precision.
_Uncertain = oracle_sigmas.Undecided


@dataclass(frozen=True)
class Truth:
    """The exact gradients rounded once to float64, and Σ|terms| per element (same shapes)."""

    gradients: Gradients
    terms: Gradients
    precision: int  # the bits that certified every element

    def get(self, quantity: str, layer: int) -> tuple[Array, Array]:
        """(truth, Σ|terms|) of one quantity of one layer (book numbering)."""
        return self.gradients.get(quantity, layer), self.terms.get(quantity, layer)


Balls = list[list[arb]]  # rows are neurons, columns samples, as the reference's arrays


def truth(
    arch: Architecture, params: Params, batch: Batch, precisions: Sequence[int] = PRECISIONS
) -> Truth:
    """Every quantity of every layer, certified (module docstring); NotCertified names the case
    and the element if the last precision does not settle it."""
    arch.check()
    dense_only(arch, "the ground truth")
    last = ""
    for prec in precisions:
        saved = ctx.prec
        ctx.prec = prec
        try:
            balls, terms = _backprop(arch, params, batch)
            values, uncertain = _round_all(balls)
        except _Uncertain as exc:
            last = str(exc)
            continue
        finally:
            ctx.prec = saved
        if not uncertain:
            return Truth(_gradients(values), _gradients(terms), prec)
        last = uncertain
    raise NotCertified(f"{arch.id}: not certified at {precisions[-1]} bits: {last}")


def gradients(arch: Architecture, params: Params, batch: Batch) -> Gradients:
    """The oracle contract: the certified float64 gradients alone."""
    return truth(arch, params, batch).gradients


def round_certified(x: arb) -> float | None:
    """The float64 nearest every real in the ball ``x``, or None if its ends round apart. The
    ends are taken exactly (midpoint ∓ radius as fractions), whatever arb's working precision."""
    if not x.is_finite():
        return None
    mid, rad = _exact(x.mid()), _exact(x.rad())
    lo, hi = _nearest(mid - rad), _nearest(mid + rad)
    if lo is None or hi is None or lo != hi:
        return None
    return lo + 0.0  # −0.0 and 0.0 are one value here


def _exact(v: arb) -> Fraction:
    """An exact arb (a midpoint or a radius) as a fraction."""
    man, exp = (int(p) for p in v.man_exp())
    return Fraction(man) * Fraction(2) ** exp


def _nearest(value: Fraction) -> float | None:
    """Rounded to the nearest float64 (Fraction → float is correctly rounded, subnormals
    included); None past the largest float."""
    try:
        return float(value)
    except OverflowError:
        return None


# --- activations: (σ(z), σ'(z), |σ''(z)| as a float for T), this oracle's own -------------------

#: Each elementwise σ on balls (oracles/activations.py: the ``exact`` formulas).
ELEMENTWISE: dict[str, Callable[[arb], tuple[arb, arb, float]]] = oracle_sigmas.table("exact", arb)
#: 1 − σ(z) without the subtraction, for outputs that saturate at 1.
ONE_MINUS: dict[str, Callable[[arb], arb]] = oracle_sigmas.table("exact_one_minus", arb)
#: The activations the truth knows (tests/test_vocabulary.py checks the set).
ACTIVATIONS = frozenset({*ELEMENTWISE, "softmax"})


# --- the network ---------------------------------------------------------------------------------


def _balls(a: Array) -> Balls:
    return [[arb(float(v)) for v in row] for row in np.asarray(a, np.float64)]


def _f(rows: Balls) -> Array:
    """Midpoints as floats: only for T, a scale."""
    return np.array([[abs(float(v)) for v in row] for row in rows], dtype=np.float64)


def _matvec(w: Balls, a: Balls, b: Balls | None, transpose: bool = False) -> Balls:
    """w a + b (or wᵀ a) on balls, summed in arb."""
    n_out = len(w[0]) if transpose else len(w)
    n_in = len(w) if transpose else len(w[0])
    m = len(a[0])
    out: Balls = []
    for j in range(n_out):
        coef = [w[k][j] for k in range(n_in)] if transpose else w[j]
        row = []
        for x in range(m):
            s = b[j][0] if b is not None else arb(0)
            for k in range(n_in):
                s += coef[k] * a[k][x]
            row.append(s)
        out.append(row)
    return out


@dataclass(frozen=True)
class BallLayer:
    """One layer type's forward map and BP2–BP4 on balls, each with its T (module docstring).

    Every function takes the layer, then its parameters as balls and as |values| (``w``,
    ``absw``; ``b``, ``absb``), then the balls and T of the arrays the equation reads.
    """

    #: z^l and T(z^l) from a^{l−1}: (layer, w, absw, b, absb, a_prev, T(a_prev)).
    forward: Callable[[Layer, Balls, Array, Balls, Array, Balls, Array], tuple[Balls, Array]]
    #: (∂z^l/∂a^{l−1})ᵀ δ^l and its T, BP2 before ⊙ σ'(z^{l−1}):
    #: (layer, w, absw, δ^l, T(δ^l), a_prev).
    backward: Callable[[Layer, Balls, Array, Balls, Array, Balls], tuple[Balls, Array]]
    #: ∂C/∂b^l and its T (BP3): (layer, δ^l, T(δ^l)).
    bias_gradient: Callable[[Layer, Balls, Array], tuple[Balls, Array]]
    #: ∂C/∂w^l and its T (BP4): (layer, δ^l, T(δ^l), a_prev, T(a_prev)).
    weight_gradient: Callable[[Layer, Balls, Array, Balls, Array], tuple[Balls, Array]]


def _dense_forward(
    layer: Layer, w: Balls, absw: Array, b: Balls, absb: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """z = w a + b, T(z) = |w| T(a) + |b|."""
    return _matvec(w, a, b), absw @ ta + absb


def _dense_backward(
    layer: Layer, w: Balls, absw: Array, delta: Balls, t_delta: Array, a_prev: Balls
) -> tuple[Balls, Array]:
    """wᵀ δ, T = |w|ᵀ T(δ)."""
    return _matvec(w, delta, None, transpose=True), absw.T @ t_delta


def _dense_bias_gradient(layer: Layer, delta: Balls, t_delta: Array) -> tuple[Balls, Array]:
    """The batch mean of δ, per row."""
    m = len(delta[0])
    return [[sum(row, arb(0)) / m] for row in delta], t_delta.mean(axis=1, keepdims=True)


def _dense_weight_gradient(
    layer: Layer, delta: Balls, t_delta: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """δ (a^{l−1})ᵀ / m, T = T(δ) T(a^{l−1})ᵀ / m."""
    m = len(delta[0])
    grad = [
        [sum((delta[j][x] * a[k][x] for x in range(m)), arb(0)) / m for k in range(len(a))]
        for j in range(len(delta))
    ]
    return grad, t_delta @ ta.T / m


#: Per layer type, its forward map and BP2–BP4 on balls.
LAYERS: dict[type, BallLayer] = {
    Dense: BallLayer(_dense_forward, _dense_backward, _dense_bias_gradient, _dense_weight_gradient)
}


def _backprop(arch: Architecture, params: Params, batch: Batch) -> tuple[list[Balls], list[Array]]:
    """Balls of every quantity (δ^2…δ^L, ∂C/∂b^2…, ∂C/∂w^2…) and T of each, in that order."""
    names = [s.name for s in arch.sigmas]
    layers = arch.layers
    ops = layer_ops(LAYERS, arch, "exact")
    ws = [_balls(w) for w in params.weights]
    bs = [_balls(b) for b in params.biases]
    absw = [np.abs(np.asarray(w, np.float64)) for w in params.weights]
    absb = [np.abs(np.asarray(b, np.float64)) for b in params.biases]
    x, y = np.asarray(batch.x, np.float64), np.asarray(batch.y, np.float64)
    acts: list[Balls] = [_balls(x)]
    t_acts: list[Array] = [np.abs(x)]
    zs: list[Balls] = []
    t_zs: list[Array] = []
    primes: list[Balls] = []
    t_primes: list[Array] = []
    for i, name in enumerate(names):
        z, tz = ops[i].forward(layers[i], ws[i], absw[i], bs[i], absb[i], acts[-1], t_acts[-1])
        zs.append(z)
        t_zs.append(tz)
        if name == "softmax":
            a, ta = _softmax(z, tz)
            acts.append(a)
            t_acts.append(ta)
            primes.append([])
            t_primes.append(np.empty(0))
            continue
        if name not in ELEMENTWISE:
            raise ValueError(f"{arch.id}: the truth has no activation {name!r}")
        evals = [[ELEMENTWISE[name](v) for v in row] for row in z]
        a = [[e[0] for e in row] for row in evals]
        p = [[e[1] for e in row] for row in evals]
        d2 = np.array([[e[2] for e in row] for row in evals])
        ap = _f(p)
        acts.append(a)
        t_acts.append(_f(a) + ap * tz)
        primes.append(p)
        t_primes.append(ap + d2 * tz)

    delta, t_delta = _output_error(
        arch, names[-1], zs[-1], t_zs[-1], acts[-1], t_acts[-1], y, primes[-1], t_primes[-1]
    )
    L = len(ws)
    deltas: list[Balls] = [[]] * L
    t_deltas: list[Array] = [np.empty(0)] * L
    deltas[-1], t_deltas[-1] = delta, t_delta
    for i in range(L - 2, -1, -1):  # BP2 through layer i + 3 (list index i + 1)
        back, t_back = ops[i + 1].backward(
            layers[i + 1], ws[i + 1], absw[i + 1], deltas[i + 1], t_deltas[i + 1], acts[i + 1]
        )
        deltas[i] = [
            [u * v for u, v in zip(r, q, strict=True)] for r, q in zip(back, primes[i], strict=True)
        ]
        t_deltas[i] = t_back * t_primes[i]
    biases = [
        op.bias_gradient(layer, d, t)
        for op, layer, d, t in zip(ops, layers, deltas, t_deltas, strict=True)
    ]
    weights = [
        op.weight_gradient(layer, d, t, a, ta)
        for op, layer, d, t, a, ta in zip(
            ops, layers, deltas, t_deltas, acts[:-1], t_acts[:-1], strict=True
        )
    ]
    nabla_b, t_b = [g for g, _ in biases], [t for _, t in biases]
    nabla_w, t_w = [g for g, _ in weights], [t for _, t in weights]
    return [*deltas, *nabla_b, *nabla_w], [*t_deltas, *t_b, *t_w]


def _softmax(z: Balls, tz: Array) -> tuple[Balls, Array]:
    """a_j = e^{z_j} / Σ_k e^{z_k} per column, and T(a_j) = a_j + Σ_k |∂a_j/∂z_k| T(z_k)."""
    n, m = len(z), len(z[0])
    a: Balls = [[arb(0)] * m for _ in range(n)]
    for x in range(m):
        e = [z[j][x].exp() for j in range(n)]
        total = sum(e, arb(0))
        for j in range(n):
            a[j][x] = e[j] / total
    af = _f(a)
    ta = af.copy()
    for x in range(m):
        jac = np.outer(af[:, x], af[:, x])  # |∂a_j/∂z_k| = a_j a_k off the diagonal
        np.fill_diagonal(jac, af[:, x] * _rest(a, x))
        ta[:, x] += jac @ tz[:, x]
    return a, ta


def _rest(a: Balls, x: int) -> Array:
    """1 − a_j = Σ_{k≠j} a_k of column x, as floats (no subtraction)."""
    col = [row[x] for row in a]
    return np.array([abs(float(sum(col[:j] + col[j + 1 :], arb(0)))) for j in range(len(col))])


# --- the output error δ^L (BP1) ------------------------------------------------------------------

#: Each cost's δ^L_j on an elementwise output, one neuron at a time (oracles/costs.py: the
#: ``exact`` formulas).
OUTPUT_ERRORS: dict[str, Callable[[oracle_costs.BallNeuron], tuple[arb, float]]] = (
    oracle_costs.table("exact", arb)
)


def _log_likelihood_softmax(a: Balls, ta: Array, y: Array, yb: Balls) -> tuple[Balls, Array]:
    """One-hot y: δ = a − y, with a_j − 1 = −Σ_{k≠j} a_k where y_j = 1."""
    n, m = len(a), len(a[0])
    delta = [[arb(0)] * m for _ in range(n)]
    t = np.zeros((n, m))
    for x in range(m):
        for j in range(n):
            if y[j, x] == 1.0:
                rest = [a[k][x] for k in range(n) if k != j]
                delta[j][x] = -sum(rest, arb(0))
                t[j, x] = sum(ta[k, x] for k in range(n) if k != j)
            else:
                delta[j][x] = a[j][x] - yb[j][x]
                t[j, x] = ta[j, x] + abs(y[j, x])
    return delta, t


def _quadratic_softmax(a: Balls, ta: Array, y: Array, yb: Balls) -> tuple[Balls, Array]:
    """δ_j = a_j Σ_{k≠j} a_k (e_j − e_k), e = a − y (Σ_k a_k = 1 used exactly)."""
    n, m = len(a), len(a[0])
    e = [[a[j][x] - yb[j][x] for x in range(m)] for j in range(n)]
    te = ta + np.abs(y)
    delta = [[arb(0)] * m for _ in range(n)]
    t = np.zeros((n, m))
    for x in range(m):
        for j in range(n):
            s = arb(0)
            for k in range(n):
                if k != j:
                    s += a[k][x] * (e[j][x] - e[k][x])
                    t[j, x] += ta[k, x] * (te[j, x] + te[k, x])
            delta[j][x] = a[j][x] * s
            t[j, x] *= ta[j, x]
    return delta, t


#: Each cost's δ^L on a softmax output, where a_j depends on every z_k (the output layer's own).
SOFTMAX_OUTPUT_ERRORS: dict[str, Callable[[Balls, Array, Array, Balls], tuple[Balls, Array]]] = {
    "log_likelihood": _log_likelihood_softmax,
    "quadratic": _quadratic_softmax,
}
#: The costs the truth knows (tests/test_vocabulary.py checks the set).
COSTS = frozenset({*OUTPUT_ERRORS, *SOFTMAX_OUTPUT_ERRORS})


def _output_error(
    arch: Architecture,
    name: str,
    z: Balls,
    tz: Array,
    a: Balls,
    ta: Array,
    y: Array,
    prime: Balls,
    t_prime: Array,
) -> tuple[Balls, Array]:
    """δ^L by BP1 for the case's cost, on balls, and its T (module docstring)."""
    yb = _balls(y)
    table = SOFTMAX_OUTPUT_ERRORS if name == "softmax" else OUTPUT_ERRORS
    if arch.cost not in table:
        raise ValueError(f"{arch.id}: the truth has no cost {arch.cost!r} on a {name} output")
    if name == "softmax":
        return SOFTMAX_OUTPUT_ERRORS[arch.cost](a, ta, y, yb)
    err, t_err = _minus_target(name, z, tz, a, ta, y, yb, prime)
    formula = OUTPUT_ERRORS[arch.cost]
    delta: Balls = [[arb(0)] * len(row) for row in z]
    t = np.zeros_like(t_err)
    for j, row in enumerate(z):
        for x, v in enumerate(row):
            neuron = oracle_costs.BallNeuron(
                z=v,
                t_z=tz[j, x],
                a=a[j][x],
                t_a=ta[j, x],
                prime=prime[j][x],
                t_prime=t_prime[j, x],
                y=yb[j][x],
                residual=err[j][x],
                t_residual=t_err[j, x],
            )
            delta[j][x], t[j, x] = formula(neuron)
    return delta, t


def _minus_target(
    name: str, z: Balls, tz: Array, a: Balls, ta: Array, y: Array, yb: Balls, prime: Balls
) -> tuple[Balls, Array]:
    """a − y elementwise, and T: the better of a − y and (1 − y) − (1 − σ(z))."""
    err = [[u - v for u, v in zip(r, q, strict=True)] for r, q in zip(a, yb, strict=True)]
    t = ta + np.abs(y)
    if name in ONE_MINUS:
        tp = _f(prime)
        for j, row in enumerate(z):
            for x, v in enumerate(row):
                if y[j, x] >= 0.5:  # 1 − y is exact (Sterbenz)
                    c = ONE_MINUS[name](v)
                    err[j][x] = (1 - yb[j][x]) - c
                    alt = abs(1.0 - y[j, x]) + abs(float(c)) + tp[j, x] * tz[j, x]
                    t[j, x] = min(t[j, x], alt)
    return err, t


def _round_all(balls: list[Balls]) -> tuple[list[Array], str]:
    """Every ball rounded (certified); the first element that is not, in words, or ""."""
    values: list[Array] = []
    for q, rows in enumerate(balls):
        out: Array = np.empty((len(rows), len(rows[0])))
        for j, row in enumerate(rows):
            for x, v in enumerate(row):
                r = round_certified(v)
                if r is None:
                    return [], f"element {(j, x)} of quantity {q}: {v.str(10)}"
                out[j, x] = r
        values.append(out)
    return values, ""


def _gradients(arrays: Sequence[Array]) -> Gradients:
    """Gradients from the flat list δ…, ∂C/∂b…, ∂C/∂w… of :func:`_backprop`."""
    third = len(arrays) // 3
    return Gradients.from_lists(arrays[:third], arrays[third : 2 * third], arrays[2 * third :])
