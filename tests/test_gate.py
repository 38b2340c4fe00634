"""The gate: every δ^l, ∂C/∂b^l and ∂C/∂w^l of every layer against every oracle.

One test, parametrized over (architecture × oracle × quantity × layer); ids read like
``784-30-10_sigmoid_quadratic_m10_s0_normal-torch-nabla_w-layer3``. Each comparison is recorded
as data for the report (harness.results).

On the tails family and a small sample of the random nets the ground truth (oracles/exact.py)
judges the reference (``…-exact-delta-layer2``) and every oracle (``…-torch~exact-delta-layer2``)
element by element. A framework's known upstream bug (oracles/known_upstream.toml) makes its
comparison strict xfail, with the link in the reason; a disagreement no entry names fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness import results
from harness.architectures import TRUTH_NOT_APPLICABLE
from harness.cases import (
    TRUTH,
    OracleFailure,
    ReferenceFailure,
    TruthFailure,
    build_case,
    compare_one,
    compare_to_exact,
    oracle_output,
    truth_judge_id,
)
from harness.gate_ids import comparison_id, malformed_id
from harness.pytest_plugin import gate_architectures, gate_dtype, gate_oracles, truth_architectures
from harness.recording import record
from oracles import NotApplicable
from oracles.known_upstream import matching, xfail_mark
from reference import QUANTITIES, ArchitectureError


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "gate_item" not in metafunc.fixturenames:
        return
    params = []
    for arch in gate_architectures(metafunc.config):
        group = pytest.mark.xdist_group(arch.id)
        for oracle in gate_oracles(metafunc.config):
            if arch.problems():  # a malformed entry: one case that fails with the reason
                params.append(
                    pytest.param(
                        (arch, oracle, "all", 0), marks=group, id=malformed_id(arch.id, oracle)
                    )
                )
                continue
            for quantity in QUANTITIES:
                for layer in range(2, arch.depth + 1):
                    params.append(
                        pytest.param(
                            (arch, oracle, quantity, layer),
                            marks=group,
                            id=comparison_id(arch.id, oracle, quantity, layer),
                        )
                    )
    for arch in truth_architectures(metafunc.config):
        group = pytest.mark.xdist_group(arch.id)
        for oracle in (None, *gate_oracles(metafunc.config)):
            for quantity in QUANTITIES:
                for layer in range(2, arch.depth + 1):
                    test_id = comparison_id(arch.id, truth_judge_id(oracle), quantity, layer)
                    known = xfail_mark(test_id, oracle) if oracle else None
                    params.append(
                        pytest.param(
                            (arch, truth_judge_id(oracle), quantity, layer),
                            marks=[group, known] if known else [group],
                            id=test_id,
                        )
                    )
    metafunc.parametrize("gate_item", params)


@pytest.mark.gate
def test_oracle_agrees_with_reference(gate_item, request):
    __tracebackhide__ = True
    arch, oracle, quantity, layer = gate_item
    dtype = gate_dtype(request.config)
    if oracle == TRUTH or oracle.endswith(f"~{TRUTH}"):
        judged_by_truth(request, arch, oracle, quantity, layer, dtype)
        return
    try:
        case = build_case(arch, dtype)
        theirs = oracle_output(arch, oracle, dtype)
    except NotApplicable as exc:  # recorded, counted and reported as such; never a pass
        rec = results.not_applicable_record(
            arch, oracle, quantity, layer, str(exc), np.dtype(dtype).name
        )
        record(request.node, rec)
        pytest.skip(f"not applicable: {exc}")
    except (ArchitectureError, OracleFailure, ReferenceFailure) as exc:
        record(request.node, results.error_record(arch, oracle, str(exc), dtype.__name__))
        pytest.fail(str(exc), pytrace=False)
    comparison = compare_one(
        case, theirs.gradients, oracle, quantity, layer, theirs.mask(quantity, layer)
    )
    arrays = (case.reference.get(quantity, layer), theirs.gradients.get(quantity, layer))
    record(request.node, results.comparison_record(arch, comparison, case.dtype.__name__, arrays))
    assert comparison.passed, f"{arch.id}: {comparison.message()}"


def judged_by_truth(request, arch, judge, quantity, layer, dtype) -> None:
    """The reference (``judge`` "exact") or an oracle ("torch~exact") against the ground truth."""
    __tracebackhide__ = True
    oracle = None if judge == TRUTH else judge.removesuffix(f"~{TRUTH}")
    try:
        if (arch.id, oracle) in TRUTH_NOT_APPLICABLE:
            raise NotApplicable(TRUTH_NOT_APPLICABLE[arch.id, oracle])
        case = build_case(arch, dtype)
        theirs = oracle_output(arch, oracle, dtype) if oracle else None
        comparison = compare_to_exact(
            case,
            theirs.gradients if theirs else None,
            oracle,
            quantity,
            layer,
            theirs.mask(quantity, layer) if theirs else None,
        )
    except NotApplicable as exc:
        rec = results.not_applicable_record(
            arch, judge, quantity, layer, str(exc), np.dtype(dtype).name
        )
        record(request.node, rec)
        pytest.skip(f"not applicable: {exc}")
    except (ArchitectureError, OracleFailure, ReferenceFailure, TruthFailure) as exc:
        record(request.node, results.error_record(arch, judge, str(exc), np.dtype(dtype).name))
        pytest.fail(str(exc), pytrace=False)
    rec = results.comparison_record(arch, comparison, np.dtype(dtype).name)
    known = matching(request.node.callspec.id, oracle) if oracle else None
    if known is not None:
        rec["known_bug"] = {"id": known.id, "url": known.url}
    record(request.node, rec)
    assert comparison.passed, f"{arch.id}: {comparison.message()}"
