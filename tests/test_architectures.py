"""Architecture records: malformed ones are named, random ones are seeded, the gate goes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.architectures import (
    BATCH,
    CURATED,
    WEIGHT_LAYERS,
    WIDTHS,
    curated,
    random_architectures,
)
from harness.cases import build_case, oracle_gradients, oracle_output
from reference import Architecture, ArchitectureError

GATE = Path(__file__).with_name("test_gate.py")


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (Architecture((3, 0, 2)), r"layer sizes must be positive integers, got \[0\]"),
        (Architecture((3, -1, 2)), r"got \[-1\]"),
        (Architecture(()), "needs at least 2 layer sizes"),
        (Architecture((4, 2), "swish"), r"unknown activation \['swish'\]"),
        (Architecture((4, 2), "sigmoid", "hinge"), "unknown cost 'hinge'"),
        (Architecture((4, 2), "tanh", "cross_entropy"), "needs a sigmoid output layer"),
        (Architecture((4, 3, 2), ("tanh",)), "needs 2 activations"),
        (Architecture((4, 2), batch=0), "batch size must be a positive integer"),
        (Architecture((4, 2.5)), "positive integers"),  # type: ignore[arg-type]
        (Architecture(None), "must be a sequence"),  # type: ignore[arg-type]
    ],
)
def test_malformed_architecture_is_named_in_one_line(arch, message):
    with pytest.raises(ArchitectureError, match=message) as info:
        arch.check()
    text = str(info.value)
    assert text.startswith(f"malformed architecture {arch.id}: ") and "\n" not in text


def test_curated_registry_is_well_formed_and_covers_the_promised_shapes():
    assert all(not a.problems() for a in CURATED)
    assert len({a.id for a in CURATED}) == len(CURATED)
    assert any(tuple(a.sizes) == (784, 30, 10) for a in CURATED)
    assert any(tuple(a.sizes) == (2, 3, 1) for a in CURATED)
    assert any(a.depth - 1 >= 6 for a in CURATED)
    assert any(1 in a.sizes[1:] for a in CURATED)
    assert any(max(a.sizes) >= 256 for a in CURATED)
    assert any(not isinstance(a.activations, str) and len(set(a.activations)) > 1 for a in CURATED)
    assert any(a.cost == "cross_entropy" for a in CURATED)
    assert any(a.batch == 1 for a in CURATED)


def test_random_architectures_are_seeded_bounded_and_prefix_stable():
    archs = random_architectures(200, seed=5)
    assert archs == random_architectures(200, seed=5)
    assert archs[:20] == random_architectures(20, seed=5)
    assert archs != random_architectures(200, seed=6)
    assert all(not a.problems() for a in archs)
    assert {a.depth - 1 for a in archs} == set(range(WEIGHT_LAYERS[0], WEIGHT_LAYERS[1] + 1))
    assert min(min(a.sizes) for a in archs) == WIDTHS[0]
    assert max(max(a.sizes) for a in archs) == WIDTHS[1]
    assert {a.batch for a in archs} <= set(range(BATCH[0], BATCH[1] + 1))
    assert {a.cost for a in archs} == {"quadratic", "cross_entropy"}


def test_negative_random_count_is_refused():
    with pytest.raises(ValueError, match="count must be >= 0"):
        random_architectures(-1, seed=0)


def test_results_do_not_depend_on_order(tmp_path):
    """Oracles are pure: the same case computed after others gives identical bytes."""
    a = curated("5-4-4-4-4-4-3_tanh_quadratic_m3_s0")
    b = curated("7-6-5-4-3_tanh,relu,leaky_relu,softplus_quadratic_m6_s0")
    first = oracle_gradients(a, "jax")
    build_case.cache_clear()
    oracle_output.cache_clear()
    oracle_gradients(b, "jax")
    again = oracle_gradients(a, "jax")
    assert all(
        np.array_equal(x, y)
        for (_, _, x), (_, _, y) in zip(first.items(), again.items(), strict=True)
    )


def test_a_malformed_entry_fails_alone_and_the_gate_goes_on(pytester):
    pytester.makeconftest(
        "from harness.architectures import CURATED\n"
        "from reference import Architecture\n"
        "CURATED[:] = [Architecture((3, 0, 2)), Architecture((2, 3, 1), batch=2)]\n"
    )
    pytester.makepyfile(test_gate=GATE.read_text())
    result = pytester.runpytest_subprocess(
        "-p", "harness.pytest_plugin", "--random-count", "0", "--oracle", "torch", "-q"
    )
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*3-0-2_sigmoid_quadratic_m1_s0-torch-malformed*",
            "*malformed architecture 3-0-2_sigmoid_quadratic_m1_s0: layer sizes must be positive*",
            "cross-validation gate: 7 comparisons, 6 passed, 1 failed",
        ]
    )
