"""The gate: every δ^l, ∂C/∂b^l and ∂C/∂w^l of every layer against every oracle.

One test, parametrized over (architecture × oracle × quantity × layer); ids read like
``784-30-10_sigmoid_quadratic_m10_s0_normal-torch-nabla_w-layer3``. Each comparison is recorded
as data for the report (harness.results).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness import results
from harness.cases import (
    OracleFailure,
    ReferenceFailure,
    build_case,
    compare_one,
    oracle_output,
)
from harness.gate_ids import comparison_id, malformed_id
from harness.pytest_plugin import gate_architectures, gate_dtype, gate_oracles
from harness.recording import record
from oracles import NotApplicable
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
    metafunc.parametrize("gate_item", params)


@pytest.mark.gate
def test_oracle_agrees_with_reference(gate_item, request):
    __tracebackhide__ = True
    arch, oracle, quantity, layer = gate_item
    dtype = gate_dtype(request.config)
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
