"""The gate: every δ^l, ∂C/∂b^l and ∂C/∂w^l of every layer against every oracle.

One test per architecture (``pytest -k <architecture id>`` reruns one; ``--oracle`` narrows it),
and in it one subtest (pytest's built-in ``subtests`` fixture) per comparison, oracle × quantity
× layer, whose id reads like ``784-30-10_sigmoid_quadratic_m10_s0_normal-torch-nabla_w-layer3``.
Each comparison is recorded as data for the report (suite.results), under the test id it had
when it was a test of its own (``…::test_oracle_agrees_with_reference[<comparison id>]``).

On the tails family, a small sample of the random nets and the feature-map nets (MAPS and
--random-maps) the ground truth (oracles/exact.py) judges the reference
(``…-exact-delta-layer2``) and every oracle (``…-torch~exact-delta-layer2``) element by
element. A framework's known upstream bug (oracles/known_upstream.toml) makes its
comparison a strict xfail, subtest by subtest: pytest's marks apply to a whole test, so
:func:`expect_known_bug` does what ``xfail(strict=True)`` would (``pytest.xfail`` when it fails,
a loud ``[XPASS(strict)]`` failure when it passes); a disagreement no entry names fails.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pytest

from errormodel.compare import Comparison
from harness.cases import (
    TRUTH,
    OracleFailure,
    ReferenceFailure,
    TruthFailure,
    build_case,
    compare_one,
    compare_to_exact,
    oracle_output,
    pool_tie_fields,
    truth_judge_id,
)
from harness.gate_ids import comparison_id, malformed_id
from harness.gate_plugin import gate_architectures, gate_dtype, gate_oracles, truth_architectures
from oracles import NotApplicable
from oracles.known_upstream import KnownBug, all_matching, for_architecture
from reference import QUANTITIES, Architecture, ArchitectureError
from suite import results
from suite.architectures import TRUTH_NOT_APPLICABLE
from suite.recording import record_as


@dataclass(frozen=True)
class Planned:
    """One comparison an architecture's test makes: its id, judge, quantity and layer, and the
    known upstream bugs that explain it (strict xfail)."""

    id: str
    oracle: str
    quantity: str
    layer: int
    known: tuple[str, ...] = ()  # reasons of the known bugs (oracles.known_upstream)
    known_bug: dict[str, str] | None = None  # the first one, as the record names it


@dataclass(frozen=True)
class GateArch:
    """An architecture's test: the net and every comparison planned for it, in order."""

    arch: Architecture
    planned: tuple[Planned, ...]

    def __len__(self) -> int:  # the records it makes (harness.gate_plugin counts them)
        return len(self.planned)


def plan(arch: Architecture, oracles: list[str], gate: bool, truth: bool) -> GateArch:
    """The comparisons of ``arch``: each oracle's against the reference if ``gate``, and the
    ground truth's (of the reference and of each oracle) if ``truth``."""
    arch_id, malformed = arch.id, bool(arch.problems())
    bugs = for_architecture(arch_id)  # the known bugs that could name one of its comparisons
    planned: list[Planned] = []
    for oracle in oracles if gate else []:
        if malformed:  # one comparison per oracle that fails
            planned.append(Planned(malformed_id(arch_id, oracle), oracle, "all", 0))
            continue
        for quantity, layer in quantities(arch):
            cid = comparison_id(arch_id, oracle, quantity, layer)
            planned.append(explained(Planned(cid, oracle, quantity, layer), oracle, bugs))
    for oracle in (None, *oracles) if truth else ():
        judge = truth_judge_id(oracle)
        for quantity, layer in quantities(arch):
            cid = comparison_id(arch_id, judge, quantity, layer)
            planned.append(explained(Planned(cid, judge, quantity, layer), oracle, bugs))
    return GateArch(arch, tuple(planned))


def explained(
    planned: Planned, oracle: str | None, bugs: tuple[KnownBug, ...] | None = None
) -> Planned:
    """``planned`` with the known upstream bugs (of ``bugs``, default every entry) whose cases
    name it (none for the reference): a comparison against the reference as well as one against
    the truth, when a framework's own rounding is beyond what the error model allows it
    (torch:bce-logits-jvp-tangent)."""
    found = all_matching(planned.id, oracle, bugs) if oracle else ()
    if not found:
        return planned
    first = {"id": found[0].id, "url": found[0].url}
    return replace(planned, known=tuple(b.reason for b in found), known_bug=first)


def quantities(arch: Architecture) -> list[tuple[str, int]]:
    """(quantity, layer) of every comparison of a net: δ^l of every layer, ∂C/∂b^l and ∂C/∂w^l of
    every layer with parameters (a pool has none)."""
    layers = arch.layers if not arch.problems() else ()
    bare = {n for n, layer in enumerate(layers, start=2) if layer.weight_shape == (0,)}
    return [
        (quantity, layer)
        for quantity in QUANTITIES
        for layer in range(2, arch.depth + 1)
        if quantity == "delta" or layer not in bare
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_arch" not in metafunc.fixturenames:
        return
    config = metafunc.config
    oracles = gate_oracles(config)
    gate = {a.id: a for a in gate_architectures(config)}
    truth = {a.id: a for a in truth_architectures(config)}
    params = [
        pytest.param(plan(arch, oracles, arch_id in gate, arch_id in truth), id=arch_id)
        for arch_id, arch in (gate | truth).items()
    ]
    metafunc.parametrize("gate_arch", params)


@pytest.mark.gate
def test_oracle_agrees_with_reference(gate_arch: GateArch, request, subtests, capsys) -> None:
    """Every comparison planned for the architecture, recorded; each one that does not simply
    pass (and, under ``-v``, every one) a subtest of its own.

    ``capsys`` captures the test's output once, for all its comparisons: while it is active,
    pytest's subtests capture nothing of their own (no file descriptors duplicated and restored
    per comparison). The output still lands in the test's report, as without it.
    """
    __tracebackhide__ = True
    dtype = gate_dtype(request.config)
    base = request.node.nodeid[: request.node.nodeid.rindex("[")]
    each = request.config.get_verbosity() > 0
    declined: dict[str, list[str]] = {}  # judge: the messages of its not-applicable comparisons
    for planned in gate_arch.planned:
        try:
            rec, compared = comparison(gate_arch.arch, planned, dtype)
        except Exception as exc:  # a bug of the harness: this comparison fails, the rest go on
            with subtests.test(planned.id):
                raise exc
            continue
        rec |= pool_tie_fields(gate_arch.arch, planned.quantity, planned.layer, dtype, rec)
        record_as(request.node, f"{base}[{planned.id}]", rec)
        if rec["kind"] == "not_applicable" and not each:
            declined.setdefault(planned.oracle, []).append(rec["message"])
        elif each or not passes(planned, rec, compared):
            with subtests.test(planned.id):
                judge(gate_arch.arch, planned, rec, compared)
    for oracle, messages in declined.items():
        with subtests.test(f"{gate_arch.arch.id}-{oracle}"):
            skip_declined(messages)


def passes(planned: Planned, rec: dict, compared: Comparison | None) -> bool:
    """Whether the comparison plainly passes (no known bug expected): then, at pytest's default
    verbosity, it is counted by the gate's summary line and not reported to pytest as a subtest
    (a subtest's report, hooks and, under xdist, its message to the controller cost more than the
    comparison's arithmetic)."""
    return (
        rec["kind"] == "comparison"
        and compared is not None
        and compared.passed
        and not planned.known
    )


def comparison(arch: Architecture, planned: Planned, dtype) -> tuple[dict, Comparison | None]:
    """The results record of one planned comparison (a comparison, not applicable, or an
    error), with the comparison made (None for the others)."""
    name = np.dtype(dtype).name
    quantity, layer = planned.quantity, planned.layer
    is_truth = planned.oracle == TRUTH or planned.oracle.endswith(f"~{TRUTH}")
    oracle = planned.oracle.removesuffix(f"~{TRUTH}") if is_truth else planned.oracle
    try:
        if is_truth:
            judged = None if oracle == TRUTH else oracle
            found = judged_by_truth(arch, judged, quantity, layer, dtype)
        else:
            case = build_case(arch, dtype)
            theirs = oracle_output(arch, oracle, dtype)
            compared = compare_one(
                case,
                theirs.gradients,
                oracle,
                quantity,
                layer,
                theirs.mask(quantity, layer),
                theirs.sample(quantity, layer),
            )
            arrays = (case.reference.get(quantity, layer), theirs.gradients.get(quantity, layer))
            left_out = theirs.mask(quantity, layer)
            rec = results.comparison_record(arch, compared, name, arrays, left_out)
            if planned.known_bug is not None:
                rec["known_bug"] = planned.known_bug
            return rec, compared
    except NotApplicable as exc:  # recorded, counted and reported as such; never a pass
        rec = results.not_applicable_record(arch, planned.oracle, quantity, layer, str(exc), name)
        return rec, None
    except (ArchitectureError, OracleFailure, ReferenceFailure, TruthFailure) as exc:
        return results.error_record(arch, planned.oracle, str(exc), name), None
    rec = results.comparison_record(arch, found, name)
    if planned.known_bug is not None:
        rec["known_bug"] = planned.known_bug
    return rec, found


def judged_by_truth(
    arch: Architecture, oracle: str | None, quantity: str, layer: int, dtype
) -> Comparison:
    """The reference (``oracle`` None) or an oracle against the ground truth."""
    if (arch.id, oracle) in TRUTH_NOT_APPLICABLE:
        raise NotApplicable(TRUTH_NOT_APPLICABLE[arch.id, oracle])
    case = build_case(arch, dtype)
    theirs = oracle_output(arch, oracle, dtype) if oracle else None
    return compare_to_exact(
        case,
        theirs.gradients if theirs else None,
        oracle,
        quantity,
        layer,
        theirs.mask(quantity, layer) if theirs else None,
        theirs.sample(quantity, layer) if theirs else None,
    )


def skip_declined(messages: list[str]) -> None:
    """One skipped subtest for all of an oracle's not-applicable comparisons on a net (each is
    still its own record, counted by the gate's line): at pytest's default verbosity a skip per
    comparison cost a report each, and they were most of the default gate's reports."""
    first = messages[0]
    others = sum(m != first for m in messages)
    also = f" (and {others} other reasons)" if others else ""
    pytest.skip(f"not applicable, {len(messages)} comparisons: {first}{also}")


def judge(arch: Architecture, planned: Planned, rec: dict, compared: Comparison | None) -> None:
    """The subtest's outcome from its record: skip (not applicable), fail (an error or a failed
    comparison), or, for a known upstream bug, a strict xfail. (No ``__tracebackhide__`` here:
    hypothesis's plugin needs a frame to blame for a skip.)"""
    if rec["kind"] == "not_applicable":
        pytest.skip(f"not applicable: {rec['message']}")
    if rec["kind"] == "error":
        pytest.fail(rec["message"], pytrace=False)
    assert compared is not None
    if planned.known:
        expect_known_bug(compared.passed, "; ".join(planned.known))
        return
    assert compared.passed, f"{arch.id}: {compared.message()}"


def expect_known_bug(passed: bool, reason: str) -> None:
    """``xfail(strict=True, reason=...)`` for one subtest: xfailed while the bug shows, a failure
    naming it once the comparison passes (the bug was fixed upstream: give its entry fixed_in)."""
    if passed:
        pytest.fail(f"[XPASS(strict)] {reason}", pytrace=False)
    pytest.xfail(reason)
