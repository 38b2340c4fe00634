"""The ground truth: every δ^l, ∂C/∂b^l and ∂C/∂w^l in ball arithmetic, rounded once to float64.

The net's float64 parameters and batch are exact in python-flint's ``arb`` (a midpoint and a
radius that provably encloses the real number). The forward pass, BP1–BP4 and every activation
and cost are evaluated on balls at 256 bits; an element is *certified* when both ends of its ball
round to the same float64 (round to nearest, so every real in the ball does too). Elements that
are not get the whole computation again at 1024 and then 4096 bits; one still uncertain raises
:class:`NotCertified`. No formula can cancel digits away unseen: a cancellation widens the ball.
Each layer type's forward map and BP2–BP4 on balls are its entry of :data:`LAYERS`: a dense
layer's products and a convolution's (its im2col patch matrix, C_in·k_h·k_w rows, times the
kernel's matrix; BP2 that product transposed, each patch entry added back where it was read,
which is the full correlation with the flipped kernel; BP3 δ summed over positions; BP4 δ's
matrix times the patches') are python-flint ``arb_mat`` products, summed in C; a max-pool is
exact in value. Balls are NumPy object arrays in the reference's shapes.
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
- a convolution, a sum and products like a dense layer's: T(z_{o,i,j}) = Σ_{c,u,v}
  |w_{o,c,u,v}| T(â_{c,s·i+u,s·j+v}) + |b_o|; its BP2, BP3 and BP4 the same maps on |w| and T;
- a max-pool: z is one of its window's entries, T(z) that entry's (BP2 routes T(δ) with δ);
- the output error a − y: the better of two exact forms, a − y (T(a) + |y|) and, for a
  sigmoid or tanh output with y ≥ ½ (1 − y is then exact), (1 − y) − (1 − σ(z)) (|1 − y| +
  T(1 − σ)); a softmax output with one-hot y: a_j − 1 = −Σ_{k≠j} a_k. The quadratic cost on a
  softmax output: δ_j = a_j Σ_{k≠j} a_k (e_j − e_k), e = a − y, with Σ_k a_k = 1 used exactly.

These are the terms of a formula that does not cancel where the book's does (σ(1 − σ),
1 − tanh², a − y of a saturated σ, the softmax VJP s(g − s·g)): a computation that loses its
digits there is judged by the size of the true result, not of the cancelled terms.

A max-pool's BP2 needs each window's argmax. It is decided on balls, beyond rounding: an
implementation in the judged dtype has each a^{l−1} within truth_allowed(|a|, T(a)) of the truth
(the error model's own bound, :func:`_slack`), so the entry whose ball is above every other's
by more than both slacks is the one every implementation picks. Where none is (a tie, or maxima
that dtype rounds together: a saturated tanh's 1 − 1e-26 and 1 − 2e-26), the route is a kink,
the derivative jumps between the entries, and the truth raises :class:`oracles.NotApplicable`
(counted, never passed), as the complex step declines a tied window. Two exceptions: a tie of
equal values whose route cannot matter (the window's δ is 0, or every tied entry's σ'(z^{l−1})
is, as at dead relus, where the max is constant nearby and every route gives them δ^{l−1} = 0)
goes to the first, as the reference routes; and a pool of the input x (no BP2 through it) has
no route to decide. Where the balls themselves overlap, the next precision may separate them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flint import arb, arb_mat, ctx
from numpy.lib.stride_tricks import sliding_window_view

from errormodel.tolerances import truth_allowed
from oracles import NotApplicable, layer_ops
from oracles import activations as oracle_sigmas
from oracles import costs as oracle_costs
from reference import Architecture, Batch, Gradients, Params
from reference.layers import Conv, Dense, Layer, MaxPool
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


def truth(
    arch: Architecture,
    params: Params,
    batch: Batch,
    precisions: Sequence[int] = PRECISIONS,
    dtype: Any = np.float64,
) -> Truth:
    """Every quantity of every layer, certified (module docstring); NotCertified names the case
    and the element if the last precision does not settle it. ``dtype``, that of the values to
    be judged, sets which pool windows are kinks at that precision: NotApplicable names one."""
    arch.check()
    last = ""
    for prec in precisions:
        saved = ctx.prec
        ctx.prec = prec
        try:
            balls, terms = _backprop(arch, params, batch, dtype)
            values, uncertain = _round_all(balls)
        except _Uncertain as exc:
            if isinstance(exc, PoolTie) and (exc.certain or prec == precisions[-1]):
                raise NotApplicable(f"the ground truth has no derivative to give: {exc}") from exc
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
    ends are taken exactly (midpoint ∓ radius as integers times a power of 2), whatever arb's
    working precision, and rounded by Python's correctly rounded int → float and int / int."""
    if not x.is_finite():
        return None
    (m1, e1), (m2, e2) = ((int(p) for p in v.man_exp()) for v in (x.mid(), x.rad()))
    e = min(e1, e2) if m2 else e1
    mid, rad = m1 << (e1 - e), (m2 << (e2 - e)) if m2 else 0
    lo, hi = _nearest(mid - rad, e), _nearest(mid + rad, e)
    if lo is None or hi is None or lo != hi:
        return None
    return lo + 0.0  # −0.0 and 0.0 are one value here


def _nearest(man: int, exp: int) -> float | None:
    """man·2^exp rounded to the nearest float64 (subnormals included); None past the largest
    float."""
    try:
        return float(man << exp) if exp >= 0 else man / (1 << -exp)
    except OverflowError:
        return None


# --- activations: (σ(z), σ'(z), |σ''(z)| as a float for T), this oracle's own -------------------

#: Each elementwise σ on balls (oracles/activations.py: the ``exact`` formulas).
ELEMENTWISE: dict[str, Callable[[arb], tuple[arb, arb, float]]] = oracle_sigmas.table("exact", arb)
#: 1 − σ(z) without the subtraction, for outputs that saturate at 1.
ONE_MINUS: dict[str, Callable[[arb], arb]] = oracle_sigmas.table("exact_one_minus", arb)
#: The activations the truth knows (tests/test_vocabulary.py checks the set).
ACTIVATIONS = frozenset({*ELEMENTWISE, "softmax"})


# --- the network: balls as NumPy object arrays, products as arb_mat ------------------------------

Balls = np.ndarray[Any, np.dtype[np.object_]]  # arb per element; the reference's shapes
Rows = list[list[arb]]  # the output layer's neurons × samples, for BP1 and softmax
ZERO = arb(0)


def _balls(a: Array) -> Balls:
    """Exact balls of a float64 array, any shape."""
    a = np.asarray(a, np.float64)
    out: Balls = np.empty(a.shape, dtype=object)
    out.flat[:] = [arb(v) for v in a.ravel().tolist()]
    return out


def _array(rows: Rows | Balls) -> Balls:
    """Nested lists of balls as an object array (its shape theirs)."""
    flat = [v for row in rows for v in row]
    out: Balls = np.empty((len(rows), len(rows[0]) if len(rows) else 0), dtype=object)
    out.flat[:] = flat
    return out


def _f(balls: Rows | Balls) -> Array:
    """|midpoints| as floats, any shape: only for T, a scale."""
    b = balls if isinstance(balls, np.ndarray) else _array(balls)
    return np.fromiter((abs(float(v)) for v in b.flat), np.float64, b.size).reshape(b.shape)


def _matmul(p: Balls, q: Balls) -> Balls:
    """The matrix product p q of two 2-D arrays of balls, by python-flint's arb_mat (each entry's
    dot product summed in arb, in C)."""
    out: Balls = np.empty((p.shape[0], q.shape[1]), dtype=object)
    out.flat[:] = (arb_mat(p.tolist()) * arb_mat(q.tolist())).entries()
    return out


@dataclass(frozen=True)
class BallLayer:
    """One layer type's forward map and BP2–BP4 on balls, each with its T (module docstring).

    Every function takes the layer, then its parameters as balls and as |values| (``w``,
    ``absw``; ``b``, ``absb``), then the balls and T of the arrays the equation reads.
    """

    #: z^l and T(z^l) from a^{l−1}: (layer, w, absw, b, absb, a_prev, T(a_prev)).
    forward: Callable[[Layer, Balls, Array, Balls, Array, Balls, Array], tuple[Balls, Array]]
    #: BP2, δ^{l−1} = ((∂z^l/∂a^{l−1})ᵀ δ^l) ⊙ σ'(z^{l−1}), and its T: (layer, w, absw, δ^l,
    #: T(δ^l), a_prev, its slack, σ'(z^{l−1}), T(σ'(z^{l−1}))). The slack is how far a judged
    #: implementation's a^{l−1} may be from the truth (:func:`_slack`): a max-pool's argmax that
    #: it could move is a kink at that precision.
    backward: Callable[
        [Layer, Balls, Array, Balls, Array, Balls, Array, Balls, Array], tuple[Balls, Array]
    ]
    #: ∂C/∂b^l and its T (BP3): (layer, δ^l, T(δ^l)).
    bias_gradient: Callable[[Layer, Balls, Array], tuple[Balls, Array]]
    #: ∂C/∂w^l and its T (BP4): (layer, δ^l, T(δ^l), a_prev, T(a_prev)).
    weight_gradient: Callable[[Layer, Balls, Array, Balls, Array], tuple[Balls, Array]]


def _columns(a: Balls | Array) -> Any:
    """Feature maps (C, H, W, m) as the columns (C·H·W, m) a dense layer reads (row-major, as
    torch's flatten); columns as they are."""
    return a.reshape(-1, a.shape[-1])


def _dense_forward(
    layer: Layer, w: Balls, absw: Array, b: Balls, absb: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """z = w a + b, T(z) = |w| T(a) + |b|."""
    return _matmul(w, _columns(a)) + b, absw @ _columns(ta) + absb


def _dense_backward(
    layer: Layer,
    w: Balls,
    absw: Array,
    delta: Balls,
    t_delta: Array,
    a_prev: Balls,
    slack: Array,
    prime: Balls,
    t_prime: Array,
) -> tuple[Balls, Array]:
    """(wᵀ δ) ⊙ σ', T = (|w|ᵀ T(δ)) T(σ'), in a^{l−1}'s shape."""
    back = _matmul(w.T, delta).reshape(prime.shape)
    return back * prime, (absw.T @ t_delta).reshape(t_prime.shape) * t_prime


def _dense_bias_gradient(layer: Layer, delta: Balls, t_delta: Array) -> tuple[Balls, Array]:
    """The batch mean of δ, per row."""
    m = delta.shape[1]
    return delta.sum(axis=1, keepdims=True) / m, t_delta.mean(axis=1, keepdims=True)


def _dense_weight_gradient(
    layer: Layer, delta: Balls, t_delta: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """δ (a^{l−1})ᵀ / m, T = T(δ) T(a^{l−1})ᵀ / m."""
    m = delta.shape[1]
    return _matmul(delta, _columns(a).T) / m, t_delta @ _columns(ta).T / m


# --- a convolution: im2col patches, one product with the kernel's matrix ------------------------


def _patches(layer: Conv, a: Any, zero: Any) -> Any:
    """The patch matrix of â^{l−1} (a^{l−1} padded by p zeros): row (c, u, v), column (i, j, x)
    holds â_{c, s·i+u, s·j+v} of sample x, shape (C_in·k_h·k_w, H'·W'·m). Balls or floats."""
    c, h, w, m = a.shape
    p, s = layer.padding, layer.stride
    padded = np.full((c, h + 2 * p, w + 2 * p, m), zero, dtype=a.dtype)
    padded[:, p : p + h, p : p + w] = a
    view = sliding_window_view(padded, layer.kernel_size, axis=(1, 2))[:, ::s, ::s]
    return np.moveaxis(view, (4, 5), (1, 2)).reshape(c * math.prod(layer.kernel_size), -1)


def _unpatch(layer: Conv, cols: Any, zero: Any) -> Any:
    """The transpose of :func:`_patches`: each entry of ``cols`` (C_in·k_h·k_w, H'·W'·m) added
    into the position of â^{l−1} it was read from, the padding cut away: (C_in, H, W, m)."""
    c, h, w = layer._in
    _, h_out, w_out = layer.out_shape
    k_h, k_w = layer.kernel_size
    p, s = layer.padding, layer.stride
    m = cols.shape[1] // (h_out * w_out)
    parts = cols.reshape(c, k_h, k_w, h_out, w_out, m)
    grad = np.full((c, h + 2 * p, w + 2 * p, m), zero, dtype=cols.dtype)
    for u, v in np.ndindex(k_h, k_w):
        grad[:, u : u + s * (h_out - 1) + 1 : s, v : v + s * (w_out - 1) + 1 : s] += parts[:, u, v]
    return grad[:, p : p + h, p : p + w]


def _conv_forward(
    layer: Layer, w: Balls, absw: Array, b: Balls, absb: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """z_{o,i,j} = Σ_{c,u,v} w_{o,c,u,v} â_{c,s·i+u,s·j+v} + b_o: the kernel's matrix
    (C_out, C_in·k_h·k_w) times the patches; T(z) = |w| ⋆ T(â) + |b| the same way."""
    assert isinstance(layer, Conv)
    shape = (*layer.out_shape, a.shape[-1])
    rows = w.shape[0]
    z = _matmul(w.reshape(rows, -1), _patches(layer, a, ZERO)).reshape(shape)
    tz = (absw.reshape(rows, -1) @ _patches(layer, ta, 0.0)).reshape(shape)
    return z + b.reshape(-1, 1, 1, 1), tz + absb.reshape(-1, 1, 1, 1)


def _conv_backward(
    layer: Layer,
    w: Balls,
    absw: Array,
    delta: Balls,
    t_delta: Array,
    a_prev: Balls,
    slack: Array,
    prime: Balls,
    t_prime: Array,
) -> tuple[Balls, Array]:
    """BP2 through a convolution, (∂z^l/∂â^{l−1})ᵀ δ^l: the kernel's matrix transposed times δ^l,
    each patch entry added back where it was read (the full correlation of δ^l with the flipped
    kernel, written as the forward map's transpose), ⊙ σ'; T by the same maps on |w|, T(δ)."""
    assert isinstance(layer, Conv)
    rows = w.shape[0]
    cols = _matmul(w.reshape(rows, -1).T, delta.reshape(rows, -1))
    t_cols = absw.reshape(rows, -1).T @ t_delta.reshape(rows, -1)
    back, t_back = _unpatch(layer, cols, ZERO), _unpatch(layer, t_cols, 0.0)
    return back * prime, t_back * t_prime


def _conv_bias_gradient(layer: Layer, delta: Balls, t_delta: Array) -> tuple[Balls, Array]:
    """∂C/∂b_o = Σ_{i,j} δ_{o,i,j}, the batch mean; T the same sum of T(δ)."""
    m = delta.shape[-1]
    total = delta.reshape(delta.shape[0], -1).sum(axis=1, keepdims=True)
    return total / m, t_delta.reshape(t_delta.shape[0], -1).sum(axis=1, keepdims=True) / m


def _conv_weight_gradient(
    layer: Layer, delta: Balls, t_delta: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """∂C/∂w_{o,c,u,v} = Σ_{i,j} δ_{o,i,j} â_{c,s·i+u,s·j+v}, the batch mean: δ^l's matrix
    (C_out, H'·W'·m) times the patches' transpose; T = T(δ) T(â)ᵀ / m."""
    assert isinstance(layer, Conv)
    m, rows = delta.shape[-1], delta.shape[0]
    grad = _matmul(delta.reshape(rows, -1), _patches(layer, a, ZERO).T) / m
    t_grad = t_delta.reshape(rows, -1) @ _patches(layer, ta, 0.0).T / m
    return grad.reshape(layer.weight_shape), t_grad.reshape(layer.weight_shape)


# --- a max-pool: the argmax decided on balls ---------------------------------------------------


class PoolTie(_Uncertain):
    """A pool window whose maximum is not singled out beyond rounding (module docstring):
    ``certain`` when no precision can change that (a tie, or a gap the judged dtype's rounding
    could close), else only at this precision (balls wider than the slack: the next may
    separate them)."""

    def __init__(self, message: str, certain: bool) -> None:
        super().__init__(message)
        self.certain = certain


def _pool_windows(layer: MaxPool, a: Any) -> Any:
    """Each window of a^{l−1} (balls or floats), one per row, row-major within it:
    (C·H'·W'·m, k·k), the windows in z^l's order."""
    k, s = layer.window, layer.step
    view = sliding_window_view(a, (k, k), axis=(1, 2))[:, ::s, ::s]
    return view.reshape(-1, k * k)


def _firsts(layer: MaxPool, a: Balls) -> Array:
    """Per window, the entry with the largest midpoint (the first where midpoints tie)."""
    mids = np.fromiter((float(v) for v in a.flat), np.float64, a.size).reshape(a.shape)
    return _pool_windows(layer, mids).argmax(axis=1)


def _route(entries: Any, slack: Array, first: int) -> tuple[list[int], bool]:
    """The entries of one window that may hold its maximum, for a judged implementation whose
    entries are each within ``slack`` of the truth: ``first`` (the largest midpoint) and every
    entry not surely below it by more than both slacks (none: decided); and whether a ball is
    wider than its slack (a higher precision may then narrow the set)."""
    low = entries[first] - float(slack[first])
    cands = [first] + [
        i for i, v in enumerate(entries) if i != first and not low > v + float(slack[i])
    ]
    wide = any(entries[i].rad() > slack[i] for i in cands)
    return cands, wide


def _pool_forward(
    layer: Layer, w: Balls, absw: Array, b: Balls, absb: Array, a: Balls, ta: Array
) -> tuple[Balls, Array]:
    """z = each window's maximum, exact: the ball of the entry that holds it (where the balls do
    not say which, arb's enclosure of the max of those that may); T(z) = T of that entry (the
    largest T of those that may hold it)."""
    assert isinstance(layer, MaxPool)
    shape = (*layer.out_shape, a.shape[-1])
    wins, t_wins = _pool_windows(layer, a), _pool_windows(layer, ta)
    none = np.zeros(wins.shape[1])
    z: Balls = np.empty(len(wins), dtype=object)
    tz = np.empty(len(wins))
    for n, first in enumerate(_firsts(layer, a).tolist()):
        cands, _ = _route(wins[n], none, first)
        z[n] = functools.reduce(arb.max, (wins[n, i] for i in cands))
        tz[n] = max(t_wins[n, i] for i in cands)
    return z.reshape(shape), tz.reshape(shape)


def _pool_backward(
    layer: Layer,
    w: Balls,
    absw: Array,
    delta: Balls,
    t_delta: Array,
    a_prev: Balls,
    slack: Array,
    prime: Balls,
    t_prime: Array,
) -> tuple[Balls, Array]:
    """BP2 through a max-pool: each window's δ to the entry that holds its maximum (summed where
    windows overlap), ⊙ σ'; T likewise. The argmax must be decided beyond the entries' slack
    (:func:`_route`), else the window is a kink (:func:`_settle_tie`)."""
    assert isinstance(layer, MaxPool)
    k, s = layer.window, layer.step
    wins, slacks, primes = (_pool_windows(layer, v) for v in (a_prev, slack, prime))
    firsts = _firsts(layer, a_prev)
    for n, first in enumerate(firsts.tolist()):
        cands, wide = _route(wins[n], slacks[n], first)
        if len(cands) > 1:
            where = tuple(int(i) for i in np.unravel_index(n, delta.shape))
            _settle_tie(layer, wins[n], primes[n], delta[where], cands, wide, where)
    chosen = firsts.reshape(delta.shape)
    back: Balls = np.full(a_prev.shape, ZERO, dtype=object)
    t_back = np.zeros(a_prev.shape)
    _, h_out, w_out, _ = delta.shape
    for u, v in np.ndindex(k, k):
        at = (slice(None), slice(u, u + s * h_out, s), slice(v, v + s * w_out, s))
        here = chosen == u * k + v
        back[at] += np.where(here, delta, np.array(ZERO, dtype=object))
        t_back[at] += np.where(here, t_delta, 0.0)
    return back * prime, t_back * t_prime


def _settle_tie(
    layer: MaxPool,
    entries: Any,
    primes: Any,
    delta: arb,
    cands: list[int],
    wide: bool,
    where: tuple[int, ...],
) -> None:
    """Return if the route does not matter: the candidates are exactly equal (so is the max,
    whichever holds it) and either the window's δ is exactly 0 or every candidate's σ'(z^{l−1})
    is (dead relus: every route gives them δ^{l−1} = 0, and the max is constant near them).
    Else raise PoolTie: a tie, or a gap the slack could close, is a kink of the max."""
    tops = [entries[i] for i in cands]
    # arb's == holds for exact equal balls; `is` for one ball twice (a pool of a pool's outputs)
    equal = all(v is tops[0] or v == tops[0] for v in tops)
    if equal and (delta.is_zero() or all(primes[i].is_zero() for i in cands)):
        return
    top = tops[0].str(5, radius=False)
    said = (
        f"holds its maximum {len(cands)} times ({top}): a tie"
        if equal
        else f"has {len(cands)} entries tied or within rounding of its maximum ({top})"
    )
    raise PoolTie(
        f"{layer!r}: window (map, row, column, sample) {where} {said}, a kink of the max",
        certain=equal or not wide,
    )


def _slack(a: Balls, ta: Array, dtype: Any) -> Array:
    """How far a judged implementation's a^{l−1} (in ``dtype``) may be from the truth: the error
    model's bound truth_allowed(|a|, T(a)) per element (errormodel.tolerances)."""
    mids = np.fromiter((abs(float(v)) for v in a.flat), np.float64, a.size).reshape(a.shape)
    return np.vectorize(lambda t, s: truth_allowed(t, s, dtype), otypes=[np.float64])(mids, ta)


def _no_parameters(layer: Layer, delta: Balls, t_delta: Array, *rest: Any) -> tuple[Balls, Array]:
    """A pool's BP3 and BP4: no parameters, an empty ∂C/∂b^l or ∂C/∂w^l."""
    return np.empty(0, dtype=object), np.zeros(0)


#: Per layer type, its forward map and BP2–BP4 on balls.
LAYERS: dict[type, BallLayer] = {
    Dense: BallLayer(_dense_forward, _dense_backward, _dense_bias_gradient, _dense_weight_gradient),
    Conv: BallLayer(_conv_forward, _conv_backward, _conv_bias_gradient, _conv_weight_gradient),
    MaxPool: BallLayer(_pool_forward, _pool_backward, _no_parameters, _no_parameters),
}


def _backprop(
    arch: Architecture, params: Params, batch: Batch, dtype: Any
) -> tuple[list[Balls], list[Array]]:
    """Balls of every quantity (δ^2…δ^L, ∂C/∂b^2…, ∂C/∂w^2…) and T of each, in that order;
    ``dtype`` that of the values judged against them (:func:`_slack`)."""
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
            a_rows, ta = _softmax(z.tolist(), tz)
            acts.append(_array(a_rows))
            t_acts.append(ta)
            primes.append(np.empty(0, dtype=object))
            t_primes.append(np.empty(0))
            continue
        if name not in ELEMENTWISE:
            raise ValueError(f"{arch.id}: the truth has no activation {name!r}")
        sigma = ELEMENTWISE[name]
        evals = [sigma(v) for v in z.ravel().tolist()]
        a: Balls = np.empty(z.shape, dtype=object)
        p: Balls = np.empty(z.shape, dtype=object)
        a.flat[:] = [e[0] for e in evals]
        p.flat[:] = [e[1] for e in evals]
        d2 = np.array([e[2] for e in evals], dtype=np.float64).reshape(z.shape)
        ap = _f(p)
        acts.append(a)
        t_acts.append(_f(a) + ap * tz)
        primes.append(p)
        t_primes.append(ap + d2 * tz)

    delta, t_delta = _output_error(
        arch,
        names[-1],
        zs[-1].tolist(),
        t_zs[-1],
        acts[-1].tolist(),
        t_acts[-1],
        y,
        primes[-1].tolist(),
        t_primes[-1],
    )
    L = len(ws)
    deltas: list[Balls] = [np.empty(0, dtype=object)] * L
    t_deltas: list[Array] = [np.empty(0)] * L
    deltas[-1], t_deltas[-1] = _array(delta), t_delta
    for i in range(L - 2, -1, -1):  # BP2 through layer i + 3 (list index i + 1)
        deltas[i], t_deltas[i] = ops[i + 1].backward(
            layers[i + 1],
            ws[i + 1],
            absw[i + 1],
            deltas[i + 1],
            t_deltas[i + 1],
            acts[i + 1],
            _slack(acts[i + 1], t_acts[i + 1], dtype),
            primes[i],
            t_primes[i],
        )
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


def _softmax(z: Rows, tz: Array) -> tuple[Rows, Array]:
    """a_j = e^{z_j} / Σ_k e^{z_k} per column, and T(a_j) = a_j + Σ_k |∂a_j/∂z_k| T(z_k)."""
    n, m = len(z), len(z[0])
    a: Rows = [[arb(0)] * m for _ in range(n)]
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


def _rest(a: Rows, x: int) -> Array:
    """1 − a_j = Σ_{k≠j} a_k of column x, as floats (no subtraction)."""
    col = [row[x] for row in a]
    return np.array([abs(float(sum(col[:j] + col[j + 1 :], arb(0)))) for j in range(len(col))])


# --- the output error δ^L (BP1) ------------------------------------------------------------------

#: Each cost's δ^L_j on an elementwise output, one neuron at a time (oracles/costs.py: the
#: ``exact`` formulas).
OUTPUT_ERRORS: dict[str, Callable[[oracle_costs.BallNeuron], tuple[arb, float]]] = (
    oracle_costs.table("exact", arb)
)


def _log_likelihood_softmax(a: Rows, ta: Array, y: Array, yb: Rows) -> tuple[Rows, Array]:
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


def _quadratic_softmax(a: Rows, ta: Array, y: Array, yb: Rows) -> tuple[Rows, Array]:
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
SOFTMAX_OUTPUT_ERRORS: dict[str, Callable[[Rows, Array, Array, Rows], tuple[Rows, Array]]] = {
    "log_likelihood": _log_likelihood_softmax,
    "quadratic": _quadratic_softmax,
}
#: The costs the truth knows (tests/test_vocabulary.py checks the set).
COSTS = frozenset({*OUTPUT_ERRORS, *SOFTMAX_OUTPUT_ERRORS})


def _output_error(
    arch: Architecture,
    name: str,
    z: Rows,
    tz: Array,
    a: Rows,
    ta: Array,
    y: Array,
    prime: Rows,
    t_prime: Array,
) -> tuple[Rows, Array]:
    """δ^L by BP1 for the case's cost, on balls, and its T (module docstring)."""
    yb = _balls(y).tolist()
    table = SOFTMAX_OUTPUT_ERRORS if name == "softmax" else OUTPUT_ERRORS
    if arch.cost not in table:
        raise ValueError(f"{arch.id}: the truth has no cost {arch.cost!r} on a {name} output")
    if name == "softmax":
        return SOFTMAX_OUTPUT_ERRORS[arch.cost](a, ta, y, yb)
    err, t_err = _minus_target(name, z, tz, a, ta, y, yb, prime)
    formula = OUTPUT_ERRORS[arch.cost]
    delta: Rows = [[arb(0)] * len(row) for row in z]
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
    name: str, z: Rows, tz: Array, a: Rows, ta: Array, y: Array, yb: Rows, prime: Rows
) -> tuple[Rows, Array]:
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
    for q, arr in enumerate(balls):
        flat: list[float] = []
        for n, v in enumerate(arr.ravel().tolist()):
            r = round_certified(v)
            if r is None:
                where = tuple(int(i) for i in np.unravel_index(n, arr.shape))
                return [], f"element {where} of quantity {q}: {v.str(10)}"
            flat.append(r)
        values.append(np.array(flat, dtype=np.float64).reshape(arr.shape))
    return values, ""


def _gradients(arrays: Sequence[Array]) -> Gradients:
    """Gradients from the flat list δ…, ∂C/∂b…, ∂C/∂w… of :func:`_backprop`."""
    third = len(arrays) // 3
    return Gradients.from_lists(arrays[:third], arrays[third : 2 * third], arrays[2 * third :])
