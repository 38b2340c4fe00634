"""Architecture records: malformed ones are named, random ones are seeded, the gate goes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.cases import build_case, oracle_gradients, oracle_output
from reference import Architecture, ArchitectureError
from reference.vocabulary import ACTIVATION_NAMES, COST_NAMES
from suite import architectures
from suite.architectures import (
    BATCH,
    CURATED,
    WEIGHT_LAYERS,
    WIDTHS,
    curated,
    random_architectures,
)

GATE = Path(__file__).with_name("test_gate.py")
#: The default gate's random ids before softmax existed (seed 0, count 60), from its results.
BASELINE_RANDOM_IDS = """
1-11-7_leaky_relu,sigmoid_cross_entropy_m11_s1403674097
1-17-16-30-6-32_softplus,identity,relu,softplus,relu_quadratic_m1_s1616418450
1-26-2-15-18_relu,softplus,leaky_relu,tanh_quadratic_m12_s735869353
11-28_sigmoid_cross_entropy_m15_s629609633
12-17_tanh_quadratic_m13_s1375712222
13-17-4-29-10-7-18_softplus,identity,leaky_relu,identity,identity,sigmoid_cross_entropy_m6_s107216230
13-26-5-31-13-25_identity,leaky_relu,tanh,sigmoid,softplus_quadratic_m4_s2124762662
13-27-18-13-14-10_relu,relu,identity,softplus,sigmoid_cross_entropy_m2_s829046429
14-17-7-32_softplus,softplus,sigmoid_quadratic_m9_s1422011945
14-3-31-15-5-11_sigmoid,identity,sigmoid,softplus,sigmoid_cross_entropy_m4_s652702137
14-6-21-31-10-32-7_identity,relu,identity,tanh,softplus,tanh_quadratic_m2_s25508836
15-12-6-14-14-27-12_softplus,relu,relu,sigmoid,softplus,tanh_quadratic_m7_s1764575606
15-31-19-11-17-32-19_identity,sigmoid,sigmoid,tanh,identity,sigmoid_cross_entropy_m14_s1834417404
16-28-27-14-15-24_identity,sigmoid,softplus,leaky_relu,leaky_relu_quadratic_m3_s1113012915
16-29-7_sigmoid,sigmoid_quadratic_m6_s4398324
16-8-20-3-30-15-12_relu,tanh,softplus,relu,relu,leaky_relu_quadratic_m1_s1442275080
17-3-11-15-3_tanh,sigmoid,leaky_relu,sigmoid_cross_entropy_m1_s432967401
17-7_sigmoid_cross_entropy_m6_s1208188287
18-23-29-7-15_identity,softplus,leaky_relu,sigmoid_cross_entropy_m11_s1149891055
18-24-6-23-28_tanh,leaky_relu,identity,sigmoid_cross_entropy_m10_s1668880130
18-32-20-30-6-19_tanh,identity,sigmoid,tanh,sigmoid_cross_entropy_m10_s397886646
19-22-4-31-14-18_relu,softplus,sigmoid,relu,relu_quadratic_m12_s630227766
19-22_relu_quadratic_m16_s1126330734
19-8-32_relu,sigmoid_cross_entropy_m11_s1504327977
2-8-25-19-26-17_relu,tanh,tanh,tanh,sigmoid_cross_entropy_m2_s1212609728
20-12-7-30_relu,tanh,softplus_quadratic_m3_s1220287191
20-14-10-21-25-14_leaky_relu,tanh,softplus,softplus,sigmoid_cross_entropy_m12_s448333781
20-22-29-13-17-6-26_softplus,identity,relu,tanh,softplus,sigmoid_cross_entropy_m1_s2038436607
20-32-17-8-1-22-19_softplus,leaky_relu,identity,leaky_relu,softplus,sigmoid_cross_entropy_m3_s1281208085
21-11-2-17_softplus,identity,sigmoid_cross_entropy_m6_s940026935
21-17-9-10-2-3-1_leaky_relu,softplus,sigmoid,tanh,sigmoid,sigmoid_quadratic_m12_s1357791199
21-32-12-32-11_tanh,identity,relu,sigmoid_cross_entropy_m15_s540015556
21-6-19_relu,sigmoid_cross_entropy_m6_s1945337218
22-7-18-21-3_softplus,tanh,tanh,sigmoid_cross_entropy_m8_s349711164
24-28-11-7_sigmoid,identity,sigmoid_cross_entropy_m16_s1737283103
25-16-5-1-5-22-21_softplus,relu,leaky_relu,tanh,identity,leaky_relu_quadratic_m11_s316047094
25-18-18-24_leaky_relu,tanh,sigmoid_cross_entropy_m12_s482293590
25-19-27_sigmoid,softplus_quadratic_m8_s2128071409
25-31-25_identity,identity_quadratic_m2_s75643551
25-8-19_sigmoid,softplus_quadratic_m15_s1718191062
26-16_softplus_quadratic_m8_s1359834811
26-4-6-25_identity,tanh,relu_quadratic_m8_s1045839807
29-15-8-26_relu,sigmoid,sigmoid_cross_entropy_m13_s330607530
29-19_relu_quadratic_m3_s2144695309
29-28-7_leaky_relu,sigmoid_cross_entropy_m5_s161713577
29-31-28-23-11_sigmoid,leaky_relu,tanh,leaky_relu_quadratic_m12_s382930674
29-32-18-10-26_leaky_relu,tanh,tanh,sigmoid_cross_entropy_m4_s538649390
3-10-13-8-20-29-5_relu,identity,identity,leaky_relu,tanh,identity_quadratic_m7_s139698432
30-11_identity_quadratic_m15_s312718759
30-13-17-16-23-22-9_relu,sigmoid,leaky_relu,leaky_relu,sigmoid,sigmoid_cross_entropy_m12_s1450914229
32-10-27_identity,softplus_quadratic_m8_s1378981834
32-2-32-26_identity,leaky_relu,softplus_quadratic_m15_s390132072
5-11-19-18-20_tanh,leaky_relu,relu,sigmoid_cross_entropy_m8_s1504282222
5-11_leaky_relu_quadratic_m11_s895536766
5-14-19-30_leaky_relu,sigmoid,leaky_relu_quadratic_m3_s837203747
5-19-25-12-12-26_softplus,identity,softplus,softplus,relu_quadratic_m7_s1166699578
5-5-31-22_tanh,leaky_relu,tanh_quadratic_m14_s1296991994
8-23-27-4-25_identity,leaky_relu,leaky_relu,sigmoid_cross_entropy_m1_s689115358
9-25-4-9_identity,leaky_relu,sigmoid_cross_entropy_m2_s1022979019
9-8-27-18_softplus,identity,identity_quadratic_m9_s1921525443
"""


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        (Architecture((3, 0, 2)), r"layer sizes must be positive integers, got \[0\]"),
        (Architecture((3, -1, 2)), r"got \[-1\]"),
        (Architecture(()), "needs at least 2 layer sizes"),
        (Architecture((4, 2), "swish"), r"unknown activation \['swish'\]"),
        (Architecture((4, 2), "sigmoid", "hinge"), "unknown cost 'hinge'"),
        (Architecture((4, 2), "tanh", "cross_entropy"), "needs a sigmoid output layer"),
        (Architecture((4, 2), "sigmoid", "log_likelihood"), "needs a softmax output layer"),
        (
            Architecture((4, 3, 3, 2), ("tanh", "softmax", "softmax")),
            "softmax is valid only at the output layer .*, got it at layer 3",
        ),
        (Architecture((4, 3, 2), "softmax"), "got it at layer 2"),
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
    softmax = [a for a in CURATED if a.sigmas[-1].name == "softmax"]
    assert any(tuple(a.sizes) == (784, 30, 10) and a.cost == "log_likelihood" for a in softmax)
    assert {a.cost for a in softmax} == {"quadratic", "log_likelihood"}


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
    assert {a.cost for a in archs} == {"quadratic", "cross_entropy", "log_likelihood"}
    softmax = [a for a in archs if a.sigmas[-1].name == "softmax"]
    assert {a.cost for a in softmax} == {"quadratic", "log_likelihood"}
    assert all("softmax" not in a.activations[:-1] for a in archs)


def test_random_draws_without_a_softmax_output_are_the_ones_drawn_before_it_existed(monkeypatch):
    """softmax and log_likelihood were appended to the vocabulary (reference.vocabulary), so they
    enter the draw by coins of their own: the default gate's 60 random cases are those of the
    untouched main's gate (its ids, listed from /work/baseline/results.json on the day softmax
    came) except where one of the new names was drawn, and there only the output layer and the
    cost differ."""
    now = random_architectures(60, seed=0)
    monkeypatch.setattr(architectures, "ACTIVATION_NAMES", ACTIVATION_NAMES[:-1])
    monkeypatch.setattr(architectures, "COST_NAMES", COST_NAMES[:-1])
    assert (ACTIVATION_NAMES[-1], COST_NAMES[-1]) == ("softmax", "log_likelihood")
    old = random_architectures(60, seed=0)
    assert sorted(a.id for a in old) == sorted(BASELINE_RANDOM_IDS.split())
    kept = 0
    for was, new in zip(old, now, strict=True):
        if new.sigmas[-1].name != "softmax":
            assert new == was
            kept += 1
            continue
        assert (new.sizes, new.batch, new.seed) == (was.sizes, was.batch, was.seed)
        assert new.activations[:-1] == was.activations[:-1]
        assert new.cost in ("log_likelihood", was.cost)
    assert 0 < kept < len(now)


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
        "from suite.architectures import CURATED, MAPS, TAILS, TRUTH_SAMPLE\n"
        "from reference import Architecture\n"
        "CURATED[:] = [Architecture((3, 0, 2)), Architecture((2, 3, 1), batch=2)]\n"
        "TAILS[:] = TRUTH_SAMPLE[:] = MAPS[:] = []  # no truth comparisons, no maps\n"
    )
    pytester.makepyfile(test_gate=GATE.read_text())
    result = pytester.runpytest_subprocess(
        "-p", "harness.gate_plugin", "--random-count", "0", "--oracle", "torch", "-q"
    )
    # the good net's test passes (its 6 comparisons pass: counted by the gate's line); the
    # malformed one's single subtest fails, and with it its test (pytest counts both)
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*3-0-2_sigmoid_quadratic_m1_s0-torch-malformed*",
            "*malformed architecture 3-0-2_sigmoid_quadratic_m1_s0: layer sizes must be positive*",
            "cross-validation gate: 7 comparisons, 6 passed, 1 failed, 0 not applicable",
        ]
    )
