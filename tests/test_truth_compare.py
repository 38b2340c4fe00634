"""Componentwise verdicts against the ground truth (errormodel.compare.compare_to_truth with
errormodel.tolerances.exact_allowed), their records, and the tails family's claims."""

from __future__ import annotations

import numpy as np
import pytest

from errormodel.compare import compare, compare_to_truth, ulps
from errormodel.tolerances import TRUTH_UNITS, exact_allowed
from harness.cases import build_case, compare_to_exact, truth_of
from oracles import get_oracle
from reference import make_case
from reference.forward import feedforward
from suite.architectures import TAILS, TRUTH_NOT_APPLICABLE, TRUTH_SAMPLE, truth_sample
from suite.results import Record, comparison_record

EPS = float(np.finfo(float).eps)
ETA = float(np.finfo(float).smallest_subnormal)


def test_each_element_has_its_own_bound() -> None:
    """A 1e-17 element that is 100% wrong fails beside a 1.0 element; normwise it would pass."""
    truth = np.array([[1.0, 1e-17]])
    value = np.array([[1.0, 0.0]])
    allowed = TRUTH_UNITS * (EPS * np.abs(truth) + ETA)
    c = compare_to_truth(value, truth, allowed, quantity="delta", layer=2, oracle="torch~exact")
    assert not c.passed
    assert c.worst_index == (0, 1) and c.worst is not None
    assert c.worst["value"] == 0.0 and c.worst["truth"] == 1e-17
    assert c.worst["ulps"] == pytest.approx(1e-17 / np.spacing(1e-17))
    assert c.ratio == pytest.approx(1e-17 / allowed[0, 1])
    assert compare(truth, value, float(allowed.max()), quantity="delta", layer=2, oracle="x").passed


def test_within_a_few_ulps_passes_and_the_worst_ratio_decides() -> None:
    truth = np.array([3.0, 1e-300, 0.0])
    value = truth + np.array([2 * np.spacing(3.0), 3 * np.spacing(1e-300), 0.0])
    allowed = exact_allowed_arrays(truth)
    c = compare_to_truth(value, truth, allowed, quantity="nabla_b", layer=3, oracle="exact")
    assert c.passed and c.worst is not None and c.worst["index"] == [1]
    assert c.worst["ulps"] == pytest.approx(3.0)


def exact_allowed_arrays(truth: np.ndarray) -> np.ndarray:
    return TRUTH_UNITS * (EPS * np.abs(truth) + ETA)


def test_ulps_at_zero_counts_subnormal_steps() -> None:
    assert ulps(np.array(2 * ETA), np.array(0.0)) == 2.0


def test_the_bound_is_one_function_of_the_kind() -> None:
    case = build_case(TAILS[0])
    truth = np.array([[1e-17]])
    terms = np.array([[1e-16]])
    base = exact_allowed("autograd", truth, terms, case.scales, "delta", 2)
    assert base == pytest.approx(TRUTH_UNITS * (EPS * 1e-16 + ETA))
    assert exact_allowed("reference", truth, terms, case.scales, "delta", 2) == base
    step = get_oracle("fd").step
    fd = exact_allowed("finite_difference", truth, terms, case.scales, "delta", 2, np.float64, step)
    assert fd > base  # plus its truncation and cost rounding, never less
    r32 = exact_allowed("reference", truth, terms, case.scales, "delta", 2, np.float32)
    assert r32 > base  # a float32 reference is judged at float32's ε
    with pytest.raises(ValueError, match="no truth bound for oracle kind 'telepathy'"):
        exact_allowed("telepathy", truth, terms, case.scales, "delta", 2)


def test_a_truth_record_keeps_its_worst_element_and_known_bug() -> None:
    arch = TAILS[0]
    c = compare_to_exact(build_case(arch), None, None, "delta", 2)
    rec = comparison_record(arch, c, "float64")
    rec["known_bug"] = {
        "id": "pytorch#195677",
        "url": "https://github.com/pytorch/pytorch/issues/195677",
    }
    back = Record.from_dict({"test": "t", **rec})
    assert back.worst == rec["worst"] and back.to_dict()["known_bug"] == rec["known_bug"]
    # a known bug's comparison fails as expected; passing, it fails the run (fixed upstream)
    # (the numbers decide, not the stored flag: suite/results.py)
    for passed in (False, True):
        error = rec["allowed"] * (0.5 if passed else 2.0)
        data = {"test": "t", **rec, "passed": passed, "max_abs": error}
        assert Record.from_dict(data).failed() is passed


def test_normwise_records_keep_their_form() -> None:
    c = compare(np.ones(2), np.ones(2), 1e-15, quantity="delta", layer=2, oracle="torch")
    assert "worst" not in c.as_dict()


# --- the tails family: each claim its comment makes -----------------------------------------


def _z_in_tails(name: str) -> bool:
    for arch in TAILS:
        params, batch = make_case(arch)
        with np.errstate(under="ignore"):
            zs = feedforward(params, arch.sigmas, batch.x).zs
        for sigma, z in zip(arch.sigmas, zs, strict=True):
            big = np.abs(z)
            if sigma.name == name and ((big >= 20) & (big <= 745)).any():
                return True
    return False


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "softmax"])
def test_tails_reach_large_pre_activations(name) -> None:
    assert _z_in_tails(name)


def test_tails_stay_within_745() -> None:
    for arch in TAILS:
        params, batch = make_case(arch)
        with np.errstate(under="ignore"):
            zs = feedforward(params, arch.sigmas, batch.x).zs
        assert max(float(np.abs(z).max()) for z in zs) <= 745, arch.id


def test_tails_have_confident_outputs_right_and_wrong_subnormals_and_zeros() -> None:
    right = wrong = subnormal = zeros = 0
    for arch in TAILS:
        params, batch = make_case(arch)
        with np.errstate(under="ignore"):
            a = feedforward(params, arch.sigmas, batch.x).activations[-1]
        y = batch.y
        crisp = (y == 0) | (y == 1)
        right += int((crisp & (np.abs(a - y) < 1e-8)).sum())
        wrong += int((crisp & (np.abs(a - y) > 1 - 1e-8)).sum())
        for _, _, v in truth_of(arch).gradients.items():
            subnormal += int(((v != 0) & (np.abs(v) < np.finfo(float).tiny)).sum())
            zeros += int((v == 0).sum())
    assert right and wrong and subnormal and zeros


def test_the_random_sample_is_small_and_fixed() -> None:
    from suite.architectures import random_architectures

    sample = truth_sample(random_architectures(60, 0))
    assert sample == TRUTH_SAMPLE
    assert [a.id for a in sample] == [
        "17-7_sigmoid_cross_entropy_m6_s1208188287",
        "12-17_tanh_quadratic_m13_s1375712222",
    ]


def test_not_applicable_entries_name_tails_nets() -> None:
    ids = {a.id for a in TAILS}
    assert all(arch in ids and reason for (arch, _), reason in TRUTH_NOT_APPLICABLE.items())
