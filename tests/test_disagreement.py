"""The odd one out: a bug planted in one equation of the reference, or in one oracle, must be
named — the reference's first broken equation and layer, or the one oracle that disagrees."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from harness.cases import assemble_case, compare_all
from harness.disagreement import first_equation, verdict, verdicts
from harness.summary import summary_table
from oracles import ORACLES, NotApplicable, Output, get_oracle
from reference import Architecture, Gradients, make_case
from suite import results
from suite.results import Record, read_records

# the modules themselves (the package re-exports a function named backprop)
#: BP2–BP4 are called by the dense layer type (reference.layers.dense): bugs are planted there.
BACKPROP = importlib.import_module("reference.layers.dense")
COSTS = importlib.import_module("reference.costs")
ARCH = Architecture((4, 5, 3, 2), "sigmoid", "quadratic", batch=3)
#: Every oracle but finite differences sees a relative error of 1e-9; FD (≈1e-7) cannot.
SMALL = 1e-9

#: (equation, the reference's function the bug goes into, the verdict's expected words)
PLANTED = [
    ("BP1", (COSTS, "output_error"), "BP1 at layer 4"),
    ("BP2", (BACKPROP, "backpropagate_error"), "BP2 at layer 3: δ^4 agrees"),
    ("BP3", (BACKPROP, "bias_gradient"), "BP3 at layer 4: δ^4 agrees"),
    ("BP4", (BACKPROP, "weight_gradient"), "BP4 at layer 4: δ^4 agrees"),
]


def records_for(
    arch: Architecture, tamper: Callable[[str, Gradients], Gradients] | None = None
) -> list[dict[str, Any]]:
    """The gate's records of every oracle on ``arch`` against the (possibly patched) reference;
    ``tamper`` may change an oracle's gradients before they are compared."""
    params, batch = make_case(arch)
    case = assemble_case(arch, params, batch, np.float64)
    found: list[dict[str, Any]] = []
    for name in ORACLES:
        try:
            output = get_oracle(name).run(arch, params, batch)
        except NotApplicable as exc:
            found.append(results.not_applicable_record(arch, name, "delta", 2, str(exc), "float64"))
            continue
        if tamper is not None:
            output = Output(tamper(name, output.gradients), output.excluded)
        found += [
            results.comparison_record(arch, c, "float64") for c in compare_all(case, output, name)
        ]
    return found


def typed(
    arch: Architecture, tamper: Callable[[str, Gradients], Gradients] | None = None
) -> list[Record]:
    """:func:`records_for` as the summary and the report read them."""
    return read_records(records_for(arch, tamper))


def scaled(fn: Callable[..., Any], relative: float) -> Callable[..., Any]:
    return lambda *args: fn(*args) * (1 + relative)


@pytest.mark.parametrize(("equation", "target", "expected"), PLANTED, ids=[p[0] for p in PLANTED])
def test_a_planted_reference_bug_names_its_equation_and_layer(
    equation: str, target: tuple[Any, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, function = target
    monkeypatch.setattr(module, function, scaled(getattr(module, function), SMALL))
    line = verdict(typed(ARCH))
    assert line.startswith("the reference is the odd one out: " + expected), line
    assert "every oracle that can see it: complex_step, forward_mode, jax and torch" in line
    assert "fd cannot see an error this small" in line


def test_a_large_reference_bug_is_seen_by_every_oracle(monkeypatch: pytest.MonkeyPatch) -> None:
    fn = BACKPROP.backpropagate_error
    monkeypatch.setattr(BACKPROP, "backpropagate_error", scaled(fn, 1e-3))
    line = verdict(typed(ARCH))
    assert "BP2 at layer 3" in line
    assert "complex_step, fd, forward_mode, jax and torch)" in line


def test_a_planted_oracle_bug_names_that_oracle() -> None:
    def tamper(name: str, grads: Gradients) -> Gradients:
        if name != "torch":
            return grads
        nabla_w = list(grads.nabla_w)
        nabla_w[0] = nabla_w[0] * (1 + 1e-6)
        return Gradients.from_lists(grads.deltas, grads.nabla_b, nabla_w)

    line = verdict(typed(ARCH, tamper))
    assert line.startswith("only torch disagrees (torch on ∂C/∂w^2); the reference agrees with "), (
        line
    )
    assert "complex_step, fd, forward_mode and jax" in line


def test_a_failure_a_known_upstream_bug_explains_blames_no_one() -> None:
    """torch:bce-logits-jvp-tangent: forward mode alone fails where torch's jvp loses digits;
    its record names the bug, so the reference is not called the odd one out."""

    def tamper(name: str, grads: Gradients) -> Gradients:
        if name != "forward_mode":
            return grads
        deltas = [d * (1 + 1e-9) for d in grads.deltas]
        return Gradients.from_lists(deltas, grads.nabla_b, grads.nabla_w)

    found = records_for(ARCH, tamper)
    assert verdict(read_records(found)).startswith("only forward_mode disagrees")
    for rec in found:
        if rec["oracle"] == "forward_mode" and not rec["passed"]:
            rec["known_bug"] = {"id": "torch:bce-logits-jvp-tangent", "url": ""}
    assert verdict(read_records(found)) == ""


def test_a_correct_reference_gets_no_verdict() -> None:
    found = typed(ARCH)
    assert all(r.passed for r in found)
    assert verdict(found) == "" and verdicts(found) == {}


def test_first_equation_goes_from_the_output_back() -> None:
    assert first_equation({("delta", 2), ("delta", 3)}, depth=4).startswith("BP2 at layer 3")
    assert first_equation({("nabla_w", 2), ("nabla_b", 3)}, depth=4).startswith("BP3 at layer 3")
    assert first_equation({("nabla_w", 3)}, depth=3).startswith("BP4 at layer 3")


def test_not_applicable_is_counted_never_passed() -> None:
    """The complex step declines a relu net: its records say so, the summary counts them, and
    they are neither passes nor failures."""
    arch = Architecture((3, 4, 2), ("relu", "sigmoid"), "quadratic", batch=2)
    with pytest.raises(NotApplicable, match="relu is not analytic"):
        get_oracle("complex_step").run(arch, *make_case(arch))
    found = typed(arch)
    declined = [r for r in found if r.kind == "not_applicable"]
    assert [r.oracle for r in declined] == ["complex_step"]
    assert not any(r.failed() for r in declined)
    row = next(line for line in summary_table(found).splitlines() if line.startswith("complex"))
    assert row.split()[-1] == "1"  # the n/a column


def test_the_report_puts_the_line_on_top_of_the_architecture(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness import report

    fn = BACKPROP.backpropagate_error
    monkeypatch.setattr(BACKPROP, "backpropagate_error", scaled(fn, SMALL))
    found = records_for(ARCH)
    monkeypatch.undo()
    found += records_for(Architecture((3, 4, 2), ("relu", "sigmoid"), "quadratic", batch=2))
    body = {"schema": results.SCHEMA, "environment": {}, "records": found}
    for i, rec in enumerate(found):
        rec["test"] = f"t{i}"
    page = report.render(body)
    assert "<strong>Odd one out:</strong> the reference is the odd one out: BP2 at layer 3" in page
    assert "<b>1</b>not applicable" in page and ">n/a<" in page
