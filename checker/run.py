"""Check one implementation: every case (architecture × cost), each check in order, one verdict.

The implementation runs in a worker process of its own (:mod:`checker.sandbox`), one per
implementation, reused across its cases; here, with the checker's own NumPy, the cases are built
and the reference and the diagnosis run. A case runs ``backprop(x, y)`` on every sample of its
mini-batch (BP1–BP4), then, if the class has them in the book's form, ``update_mini_batch`` on the
whole mini-batch (SGD) and ``total_cost`` (COST). The first finding ends the case; an exception or
a wrong form is that case's finding, and the next case runs. A HANG or a crash that ends the
worker ends the implementation's run: its later cases are counted as not run.

Each case is judged in the implementation's own convention (:mod:`checker.layout`, found once
on a probe net): transposed weights or row-form samples are mapped in and out; a pair returned
as (nabla_w, nabla_b) is read swapped and the case's finding is INTERFACE with whatever judging it
swapped found behind it; a BP1 finding says which other cost δ^L matches, if one does
(:mod:`checker.conventions`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from checker.adapter import NETWORK2, Implementation
from checker.architectures import (
    TailArchitecture,
    case_data,
    sigmoid_architectures,
    tail_architectures,
)
from checker.conventions import SWAPPED, cost_hint, matching_cost, swapped_finding
from checker.diagnosis import (
    batch_reference,
    diagnose_sample,
    diagnose_total_cost,
    diagnose_update,
)
from checker.layout import Layout
from checker.replies import Received, coarsest, pair, swapped_fits, to_params
from checker.usage import Limits
from checker.verdict import CaseVerdict, Finding, ImplementationError, Verdict
from reference import Architecture, Params, Step
from reference.types import Array

#: The SGD step of every case. n ≠ m, so an L2 term divided by the wrong one shows; λ as the
#: book's network2 examples use.
STEP = Step(eta=0.5, lmbda=5.0, n=1000)


#: Why total_cost is left out on the tails family.
TAILS_COST_NOTE = (
    "total_cost not checked on the tails cases (a saturated output's ln(1 − a) is −∞ in the "
    "book's form, and central differences of a saturated cost measure nothing)"
)


@dataclasses.dataclass(frozen=True)
class Options:
    """How implementations are checked: the limits, and whether another signature of an optional
    method is an INTERFACE failure (``--strict``) rather than a note."""

    limits: Limits = dataclasses.field(default_factory=Limits)
    strict: bool = False
    #: The costs to check with (``--cost``), instead of those the class offers.
    costs: tuple[str, ...] | None = None
    #: Check on the tails family (:func:`checker.architectures.tail_architectures`) instead.
    tails: bool = False


def check_case(impl: Implementation, arch: Architecture, strict: bool = False) -> CaseVerdict:
    """Every check of one case; the first finding, or a pass listing what was compared."""
    if impl.dead is not None:
        why = f"not run: the implementation's process ended earlier ({impl.dead.heading})"
        return CaseVerdict(arch, Finding(impl.dead.label, why), ran=False)
    state = _CaseState()
    try:
        _check_case(impl, arch, strict, state)
        if _swapped(impl):
            raise ImplementationError(swapped_finding(None, state.checked))
    except ImplementationError as exc:
        finding = exc.finding
        if _swapped(impl) and impl.dead is None and not finding.message.startswith(SWAPPED):
            finding = swapped_finding(finding, state.checked)
        return CaseVerdict(arch, finding, tuple(state.checked), state.notes, state.precision)
    return CaseVerdict(arch, None, tuple(state.checked), state.notes, state.precision)


def _swapped(impl: Implementation) -> bool:
    """Whether its backprop returns (nabla_w, nabla_b): it is then judged swapped."""
    return isinstance(impl.found, Layout) and impl.found.swapped


@dataclasses.dataclass
class _CaseState:
    checked: list[str] = dataclasses.field(default_factory=list)
    notes: tuple[str, ...] = ()
    precision: str = "float64"


def _check_case(impl: Implementation, arch: Architecture, strict: bool, state: _CaseState) -> None:
    params, batch = case_data(arch)
    one = dataclasses.replace(arch, batch=1)
    samples = [(batch.x[:, s : s + 1], batch.y[:, s : s + 1]) for s in range(arch.batch)]
    forms, results, error = impl.backprop(arch, params, samples)
    state.notes = forms.notes
    judge = functools.partial(_judge_sample, swapped=_swapped(impl), takes_cost=impl.takes_cost)
    for s, got in enumerate(results):
        x, y = samples[s]
        finding, precision = judge(one, params, x, y, got)
        state.precision = min(state.precision, precision, key=_eps)
        if finding is not None:
            raise ImplementationError(_at_sample(finding, s, arch.batch))
    if error is not None:
        raise ImplementationError(_at_sample(error.finding, len(results), arch.batch))
    state.checked.append("backprop")
    # the SGD and total_cost checks judge by the same mini-batch gradients and bound: once
    reference = functools.cache(lambda: batch_reference(arch, params, batch))
    if strict and forms.mismatches:
        raise ImplementationError(Finding("INTERFACE", f"{forms.mismatches[0]} (--strict)"))
    if forms.update is not None:
        step = STEP if forms.update == NETWORK2 else Step(eta=STEP.eta)
        weights, biases = impl.update(params, samples, step, forms.update)
        new, dtype = to_params(arch, weights, biases, f"after {forms.update}")
        # a step taken with float32 gradients is float32-accurate, whatever dtype it is kept in
        update_dtype = np.dtype(coarsest(dtype, state.precision))
        finding = diagnose_update(
            arch, params, batch, step, forms.update, new, reference(), update_dtype
        )
        if finding is not None:
            raise ImplementationError(finding)
        state.checked.append("update_mini_batch")
    if forms.total_cost and isinstance(arch, TailArchitecture):
        state.notes += (TAILS_COST_NOTE,)
    elif forms.total_cost:
        data = samples

        def total_costs(evals: list[tuple[str, int, tuple[int, ...], float, float]]) -> list[float]:
            return impl.total_costs(params, data, [list(e) for e in evals])

        finding = diagnose_total_cost(arch, params, batch, total_costs, STEP.lmbda, reference())
        if finding is not None:
            raise ImplementationError(finding)
        state.checked.append("total_cost")


def _judge_sample(
    one: Architecture,
    params: Params,
    x: Array,
    y: Array,
    got: Received,
    *,
    swapped: bool = False,
    takes_cost: bool = False,
) -> tuple[Finding | None, str]:
    """One sample's finding (None if right) and the dtype it was judged at; a BP1 finding says
    which other cost δ^L matches, if one does. ``swapped``: the implementation returns
    (nabla_w, nabla_b) (found on a net where the shapes tell), so the pair is read so. Otherwise
    a pair that fits only as (nabla_w, nabla_b) and then agrees is INTERFACE: swapped."""
    if swapped:
        nabla_b, nabla_w, dtype = pair(one, got, swapped=True)
        finding = diagnose_sample(one, params, x, y, nabla_b, nabla_w, np.dtype(dtype))
        return _with_cost(finding, one, params, x, y, nabla_b, nabla_w, dtype, takes_cost), dtype
    finding, dtype = _judge_straight(one, params, x, y, got)
    if finding is not None and finding.label == "BP1":
        nabla_b, nabla_w, dtype = pair(one, got)
        finding = _with_cost(finding, one, params, x, y, nabla_b, nabla_w, dtype, takes_cost)
    return finding, dtype


def _with_cost(
    finding: Finding | None,
    one: Architecture,
    params: Params,
    x: Array,
    y: Array,
    nabla_b: list[Array],
    nabla_w: list[Array],
    dtype: str,
    takes_cost: bool,
) -> Finding | None:
    if finding is None or finding.label != "BP1":
        return finding
    match = matching_cost(one, params, x, y, nabla_b, nabla_w, np.dtype(dtype))
    if match is None:
        return finding
    hint = cost_hint(one.cost, *match, takes_cost=takes_cost)
    return dataclasses.replace(finding, message=finding.message + hint)


def _judge_straight(
    one: Architecture, params: Params, x: Array, y: Array, got: Received
) -> tuple[Finding | None, str]:
    swapped = swapped_fits(one, got)
    try:
        nabla_b, nabla_w, dtype = pair(one, got)
    except ImplementationError as exc:
        if swapped and _agrees_swapped(one, params, x, y, got):
            return _swapped_agrees(), "float64"
        raise exc from None
    finding = diagnose_sample(one, params, x, y, nabla_b, nabla_w, np.dtype(dtype))
    if finding is not None and swapped and _agrees_swapped(one, params, x, y, got):
        return _swapped_agrees(), dtype
    return finding, dtype


def _agrees_swapped(one: Architecture, params: Params, x: Array, y: Array, got: Received) -> bool:
    try:
        nabla_b, nabla_w, dtype = pair(one, got, swapped=True)
    except ImplementationError:
        return False
    return diagnose_sample(one, params, x, y, nabla_b, nabla_w, np.dtype(dtype)) is None


def _swapped_agrees() -> Finding:
    return Finding(
        "INTERFACE",
        "backprop(x, y) returned the pair swapped, (nabla_w, nabla_b): the shapes fit the other "
        "way round and, swapped, the values agree with the reference; return (nabla_b, nabla_w)",
    )


def _eps(dtype: str) -> float:
    return -float(np.finfo(np.dtype(dtype)).eps)


def cases_for(
    impl: Implementation,
    random_count: int,
    seed: int,
    costs: tuple[str, ...] | None = None,
    tails: bool = False,
) -> list[Architecture]:
    """The all-sigmoid architectures, once per cost the class offers (network2's form: both),
    or per cost of ``costs`` (``--cost``); with ``tails``, the tails family instead."""
    if tails:
        return tail_architectures(costs or impl.costs)
    return sigmoid_architectures(random_count, seed, costs or impl.costs)


@contextmanager
def opened(spec: str, limits: Limits) -> Iterator[Implementation]:
    """The implementation loaded in its worker, closed (the process group ended) afterwards."""
    impl = Implementation.open(spec, limits)
    try:
        yield impl
    finally:
        impl.close()


def check_spec(
    spec: str,
    random_count: int,
    seed: int,
    options: Options | None = None,
    name: str | None = None,
) -> Verdict:
    """Load ``path.py:ClassName`` in a worker of its own and check it on every case.

    Args:
        spec: ``path.py:ClassName``, the implementation under test.
        random_count, seed: how many seeded random architectures join the curated ones.
        options: limits, costs, strictness and the tails family (default: Options()).
        name: how the verdict names it (default: the spec).

    Returns:
        The Verdict over every case; a load failure is the verdict.
    """
    shown, options = name or spec, options or Options()
    try:
        with opened(spec, options.limits) as impl:
            cases = tuple(
                check_case(impl, arch, options.strict)
                for arch in cases_for(impl, random_count, seed, options.costs, options.tails)
            )
            failed = any(not c.passed for c in cases)
            note = impl.found.note() if isinstance(impl.found, Layout) else None
            notes = (note,) if note else ()
            return Verdict(shown, cases, notes=notes, output=impl.output_tail() if failed else "")
    except ImplementationError as exc:
        return Verdict(shown, load_failure=exc.finding, output=exc.output)


def _at_sample(finding: Finding, s: int, m: int) -> Finding:
    if m == 1:
        return finding
    return dataclasses.replace(finding, message=f"{finding.message} (sample {s + 1} of {m})")
