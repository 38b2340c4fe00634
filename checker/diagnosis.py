"""The equation-level verdict: which of BP1–BP4, SGD or total_cost an implementation gets wrong.

For one sample, ∂C_x/∂b^l = δ^l (BP3) and ∂C_x/∂w^l = δ^l (a^{l−1})^T (BP4), so an
implementation's ``nabla_b`` shows its δ^l and its ``nabla_w`` says whether that δ^l or only the
bias gradient is wrong. Going from the output layer towards the input, the first layer where
either disagrees with the reference names the first equation that breaks:

- ``nabla_b`` right, ``nabla_w`` wrong: BP4 (δ^l is right, the weight gradient is not);
- ``nabla_b`` wrong, ``nabla_w`` = δ^l (a^{l−1})^T with the reference's δ^l: BP3;
- both wrong: δ^l itself is wrong: BP1 at the output layer L, BP2 at a hidden layer (every layer
  above it is right, so δ^{l+1} was right and the step from it broke).

Only when every sample's gradients are right is ``update_mini_batch`` judged (SGD), and only then
network2's ``total_cost`` (COST), by central differences against the gradient plus the L2 term.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from checker.verdict import Finding
from errormodel.compare import Comparison, compare, scale
from errormodel.learner import cost_slope_allowed, implementation_allowed
from errormodel.rounding import ErrorScales, error_scales
from errormodel.tolerances import sgd_step_allowed
from oracles.finite_diff import FD_STEP
from reference import (
    Architecture,
    Batch,
    Gradients,
    Params,
    Step,
    forward_backward,
    update_mini_batch_per_sample,
)
from reference.numbering import at_layer
from reference.types import Array

#: Entries of each layer's w^l and b^l whose total_cost slope is taken (seeded choice).
COST_ENTRIES = {"weights": 3, "biases": 2}
#: The gradient each parameter array's update and cost slope is judged by.
GRADIENT_OF = {"weights": "nabla_w", "biases": "nabla_b"}


def diagnose_sample(
    arch: Architecture,
    params: Params,
    x: Array,
    y: Array,
    nabla_b: Sequence[Array],
    nabla_w: Sequence[Array],
    dtype: Any = np.float64,
) -> Finding | None:
    """The first equation that one sample's (nabla_b, nabla_w) breaks, or None if all agree.

    ``arch`` is the one-sample architecture (batch 1); x and y are column vectors; ``dtype`` is
    the precision the implementation computed in (its results' dtype): the error model's ε.
    """
    fwd, ref = computed = forward_backward(arch, params, x, y)  # the one forward pass
    scales = error_scales(arch, params, Batch(x, y), np.float64, numerical=False, computed=computed)
    a = fwd.activations
    L = arch.depth
    for l in range(L, 1, -1):  # noqa: E741 — the book's layer index
        delta, right_w = ref.get("delta", l), ref.get("nabla_w", l)
        ours_b, ours_w = at_layer(nabla_b, l), at_layer(nabla_w, l)
        b = _compare(scales, delta, ours_b, "nabla_b", l, dtype)
        w = _compare(scales, right_w, ours_w, "nabla_w", l, dtype)
        if b.passed and w.passed:
            continue
        if b.passed:
            what = f"nabla_w ≠ δ^{l} (a^{l - 1})ᵀ while nabla_b = δ^{l} is right"
            return _finding("BP4", w, what, right=right_w, got=ours_w)
        if w.passed:
            what = f"nabla_b ≠ δ^{l} while nabla_w = δ^{l} (a^{l - 1})ᵀ holds with the right δ^{l}"
            return _finding("BP3", b, what, right=delta, got=ours_b)
        # Both wrong: δ^l itself is, unless nabla_w is not even nabla_b (a^{l−1})ᵀ (BP4 too).
        own = _compare(scales, ours_b @ a[l - 2].T, ours_w, "nabla_w", l, dtype)
        also = "" if own.passed else "; nabla_w ≠ its own nabla_b (a^(l−1))ᵀ either (BP4 too)"
        if l == L:
            bp1 = "J_σ(z^L)ᵀ ∇_a C" if arch.cost == "log_likelihood" else "∇_a C ⊙ σ'(z^L)"
            what = f"δ^{L} wrong (BP1: δ^L = {bp1}), seen in nabla_b = δ^{L}"
            return _finding("BP1", b, what + also, right=delta, got=ours_b)
        what = (
            f"δ^{l} wrong while δ^{l + 1} is right "
            f"(BP2: δ^l = ((w^(l+1))ᵀ δ^(l+1)) ⊙ σ'(z^l)), seen in nabla_b = δ^{l}"
        )
        return _finding("BP2", b, what + also, right=delta, got=ours_b)
    return None


def batch_reference(
    arch: Architecture, params: Params, batch: Batch
) -> tuple[Gradients, ErrorScales]:
    """The reference's mini-batch gradients and their running bound B: what the SGD check and the
    total_cost check both judge by, computed once per case."""
    computed = forward_backward(arch, params, batch.x, batch.y)
    scales = error_scales(arch, params, batch, np.float64, numerical=False, computed=computed)
    return computed[1], scales


def diagnose_update(
    arch: Architecture,
    params: Params,
    batch: Batch,
    step: Step,
    form: str,
    new: Params,
    reference: tuple[Gradients, ErrorScales],
    dtype: Any = np.float64,
) -> Finding | None:
    """SGD: the parameters after one ``update_mini_batch`` against the reference's step, at
    ``dtype``'s precision (the coarser of the parameters' it left and its backprop's)."""
    want = update_mini_batch_per_sample(arch, params, batch.x, batch.y, step)
    grads, scales = reference
    how = f"m={arch.batch}, η={step.eta:g}" + (
        f", λ={step.lmbda:g}, n={step.n}" if step.lmbda else ""
    )
    for layer in range(arch.depth, 1, -1):
        i = layer - 2
        for name, ours, theirs, old in (
            ("weights", want.weights[i], new.weights[i], params.weights[i]),
            ("biases", want.biases[i], new.biases[i], params.biases[i]),
        ):
            quantity = GRADIENT_OF[name]
            allowed = sgd_step_allowed(
                step.eta,
                scales.rounding[quantity, layer],
                float(np.abs(grads.get(quantity, layer)).max()),
                float(np.abs(old).max()),
                dtype,
            )
            c = compare(ours, theirs, allowed, quantity=name, layer=layer, oracle="implementation")
            if not c.passed:
                what = (
                    f"{name} of layer {layer} after {form} ({how}) are wrong "
                    "while backprop(x, y) is right for every sample"
                )
                return _finding("SGD", c, what, right=ours, got=theirs)
    return None


#: One evaluation of ``total_cost``: (weights|biases, the layer's array index, entry, nudge h, λ).
Evaluation = tuple[str, int, tuple[int, ...], float, float]


def diagnose_total_cost(
    arch: Architecture,
    params: Params,
    batch: Batch,
    total_costs: Callable[[list[Evaluation]], list[float]],
    lmbda: float,
    reference: tuple[Gradients, ErrorScales],
) -> Finding | None:
    """COST: total_cost's central-difference slopes against ∂C/∂w + (λ/n)w and ∂C/∂b.

    First with λ = 0 (the data cost alone), then with ``lmbda`` (the L2 term (λ/2n) Σ‖w‖²), on a
    seeded few entries of every layer's w^l and b^l; n = m, the size of the data passed.
    ``total_costs`` evaluates ``total_cost(data, λ)`` at ``params`` nudged as each evaluation says,
    all in one go (one round trip to the implementation's process).
    """
    grads, scales = reference
    plan = [
        (
            lam,
            layer,
            name,
            _entries(
                getattr(params, name)[layer - 2].shape, COST_ENTRIES[name], (arch.seed, layer)
            ),
        )
        for lam in (0.0, lmbda)
        for layer in range(arch.depth, 1, -1)
        for name in ("weights", "biases")
    ]
    evals = [
        (name, layer - 2, entry, sign * FD_STEP, lam)
        for lam, layer, name, entries in plan
        for entry in entries
        for sign in (1.0, -1.0)
    ]
    values = iter(total_costs(evals))
    for lam, layer, name, entries in plan:
        i = layer - 2
        squares = sum(w.size for w in params.weights) if lam else 0
        value = getattr(params, name)[i]
        exact = (
            grads.nabla_w[i] + lam / arch.batch * value if name == "weights" else grads.nabla_b[i]
        )
        slopes, costs = [], []
        for _ in entries:
            plus, minus = next(values), next(values)
            slopes.append((plus - minus) / (2 * FD_STEP))
            costs += [abs(plus), abs(minus)]
        want = np.array([exact[e] for e in entries])
        got = np.array(slopes)
        allowed = cost_slope_allowed(
            arch, scales, GRADIENT_OF[name], layer, scale(exact, got), max(costs), squares, FD_STEP
        )
        c = compare(want, got, allowed, quantity=name, layer=layer, oracle="implementation")
        if not c.passed:
            entry = entries[c.worst_index[0]]
            term = " + (λ/n)w" if lam and name == "weights" else ""
            what = (
                f"total_cost(data, {lam:g}) does not fit the gradient: its slope along "
                f"{name} {entry} of layer {layer} is {got[c.worst_index]:.6g} by central "
                f"difference, ∂C/∂{name[0]}{term} is {want[c.worst_index]:.6g}"
            )
            return Finding("COST", what, layer, entry, c.max_abs, c.allowed)
    return None


def _compare(
    scales: ErrorScales, ref: Array, ours: Array, quantity: str, layer: int, dtype: Any
) -> Comparison:
    """``ours`` against ``ref``, allowed the running rounding bound of ``quantity`` at ``dtype``'s
    ε (the precision the implementation computed in)."""
    allowed = implementation_allowed(scales, quantity, layer, dtype)
    return compare(ref, ours, allowed, quantity=quantity, layer=layer, oracle="implementation")


def _finding(label: str, c: Comparison, what: str, *, right: Array, got: Array) -> Finding:
    """A finding with the worst element: where, the reference's value, the implementation's."""
    at = c.worst_index
    detail = (
        f"{what}: worst at {c.quantity}{list(at)}, reference {right[at]:.6g}, got {got[at]:.6g} "
        f"(error {c.max_abs:.3g}, allowed {c.allowed:.3g})"
    )
    return Finding(label, detail, c.layer, at, c.max_abs, c.allowed)


def _entries(shape: tuple[int, ...], count: int, seed: tuple[int, int]) -> list[tuple[int, ...]]:
    """A seeded choice of up to ``count`` distinct indices of an array of this shape."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(int(np.prod(shape)), size=min(count, int(np.prod(shape))), replace=False)
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]
