"""Findings that name the learner's convention: the cost its δ^L belongs to, a swapped pair.

**The cost.** BP1, δ^L = ∇_a C ⊙ σ'(z^L), depends on the cost: for the quadratic cost it is
(a − y) ⊙ σ'(z^L), for the cross-entropy (sigmoid output) and the log-likelihood (softmax output)
it is a − y (the book's eqs. 66 and 81). A δ^L wrong for the cost the checker assumed may be
right for another one: :func:`matching_cost` says which, judged by the same error model, so the
finding can say how to tell the checker (``--cost``, or the class's ``cost=``).

**The swapped pair.** A ``backprop`` whose pair has the shapes of (nabla_w, nabla_b) is judged
swapped (:mod:`checker.layout` finds the order on a net where the shapes differ); its finding is
INTERFACE, with whatever else is wrong behind it (:func:`swapped_finding`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from checker.architectures import _activations
from checker.cost_classes import COST_CLASSES
from checker.diagnosis import diagnose_sample
from checker.verdict import Finding
from errormodel.compare import compare
from errormodel.learner import implementation_allowed
from errormodel.rounding import error_scales
from reference import Architecture, Batch, Params, forward_backward
from reference.costs import COSTS
from reference.numbering import at_layer
from reference.types import Array

#: How network2.py's costs are named to a person (checker.cost_classes has the book's class of
#: each).
COST_NAMES = {
    "quadratic": "quadratic",
    "cross_entropy": "cross-entropy",
    "log_likelihood": "log-likelihood (softmax output)",
}
SWAPPED = "backprop(x, y) returned the pair swapped, (nabla_w, nabla_b)"


def matching_cost(
    one: Architecture,
    params: Params,
    x: Array,
    y: Array,
    nabla_b: Sequence[Array],
    nabla_w: Sequence[Array],
    dtype: Any,
) -> tuple[str, bool] | None:
    """(cost, every gradient matches it too) for the first other cost whose δ^L the learner's
    nabla_b^L equals (within the error model); None if none does. ``one``: the case's
    one-sample architecture, whose cost was assumed. Only network2.py's costs are tried (those
    of :data:`COST_NAMES`): a cost of the reference's without a class is not one a learner's
    network is built with."""
    L = one.depth
    for name in COSTS:
        if name == one.cost or name not in COST_NAMES:
            continue
        other = dataclasses.replace(one, cost=name, activations=_activations(one.depth, name))
        if other.problems():
            continue
        computed = forward_backward(other, params, x, y)
        ref = computed[1].get("delta", L)
        scales = error_scales(other, params, Batch(x, y), dtype, numerical=False, computed=computed)
        allowed = implementation_allowed(scales, "nabla_b", L, dtype)
        got = at_layer(nabla_b, L)
        c = compare(ref, got, allowed, quantity="nabla_b", layer=L, oracle="implementation")
        if c.passed:
            whole = diagnose_sample(other, params, x, y, nabla_b, nabla_w, dtype) is None
            return name, whole
    return None


def cost_hint(assumed: str, other: str, whole: bool, *, takes_cost: bool) -> str:
    """What a BP1 finding adds when δ^L is another cost's: which, and how to tell the checker."""
    what = "δ^L and every gradient match" if whole else "δ^L matches"
    found = f"{what} the {COST_NAMES[other]} cost"
    assumed_name = COST_NAMES.get(assumed, assumed)  # --cost may name a cost without a class
    if takes_cost:
        return (
            f"; {found}, though the class was built with cost={COST_CLASSES.get(assumed)}: "
            "backprop should take δ^L from its cost (self.cost.delta)"
        )
    return (
        f"; {found}, not the {assumed_name} one the checker assumed: if that is its "
        f"cost, check it with --cost {other} (or give the class network2.py's cost= parameter)"
    )


def swapped_finding(behind: Finding | None, checked: Sequence[str]) -> Finding:
    """INTERFACE for a pair returned swapped: what to change, then the finding of judging it
    swapped (``behind``; None when it all agrees)."""
    if behind is None:
        agree = ", ".join(checked) or "backprop"
        return Finding(
            "INTERFACE",
            f"{SWAPPED}: return (nabla_b, nabla_w); judged swapped, {agree} agree with the "
            "reference",
        )
    return Finding(
        "INTERFACE",
        f"{SWAPPED}: return (nabla_b, nabla_w); judged swapped: {behind.heading}: {behind.message}",
        None,
        behind.worst_index,
        behind.max_abs,
        behind.allowed,
    )
