"""Whole gate runs in a subprocess (pytester): impossible options are refused in one line, results
files are byte-identical across runs and worker counts, the float32 gate records its dtype, and a
curated case whose reference overflows fails alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

GATE = Path(__file__).with_name("test_gate.py")
SMALL_REGISTRY = (
    "from suite.architectures import CURATED, MAPS, TAILS, TRUTH_SAMPLE\n"
    "from reference import Architecture\n"
    "CURATED[:] = [{entries}]\n"
    "TAILS[:] = TRUTH_SAMPLE[:] = MAPS[:] = []  # no truth comparisons, no maps\n"
    "def pytest_configure(config):\n"
    "    config.addinivalue_line('markers', 'gate: a gate comparison')\n"
)


def gate_run(pytester: pytest.Pytester, *args: str, entries: str = "") -> pytest.RunResult:
    """The gate on a small registry (``entries``, default two tiny nets) plus ``args``."""
    entries = entries or "Architecture((2, 3, 1), batch=2), Architecture((3, 2), 'tanh', seed=4)"
    pytester.makeconftest(SMALL_REGISTRY.format(entries=entries))
    pytester.makepyfile(test_gate=GATE.read_text())
    return pytester.runpytest_subprocess("-p", "harness.gate_plugin", "-q", *args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--random-count", "-3"], "--random-count must be >= 0, got -3"),
        (
            ["--oracle", "tensorflow"],
            "unknown --oracle ['tensorflow']; known: "
            "['complex_step', 'fd', 'forward_mode', 'jax', 'torch']",
        ),
        (["--dtype", "float16"], "argument --dtype: invalid choice: 'float16'"),
        (["--random-count", "many"], "argument --random-count: invalid int value: 'many'"),
    ],
    ids=["negative-count", "unknown-oracle", "unknown-dtype", "non-integer-count"],
)
def test_impossible_options_are_refused_in_one_line(pytester, args, message):
    result = gate_run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert any(message in line for line in result.stderr.lines), result.stderr.str()


def test_the_same_seed_gives_byte_identical_results_whatever_the_worker_count(pytester):
    common = ["--random-count", "3", "--random-seed", "7"]
    one = gate_run(pytester, *common, "-n", "1", "--results", "one.json")
    two = gate_run(pytester, *common, "-n", "2", "--results", "two.json")
    assert one.ret == two.ret == 0
    assert one.parseoutcomes() == two.parseoutcomes()
    first, second = (
        (pytester.path / "one.json").read_bytes(),
        (pytester.path / "two.json").read_bytes(),
    )
    counted = re.search(r"cross-validation gate: (\d+) comparisons", one.stdout.str())
    assert counted and len(json.loads(first)["records"]) == int(counted.group(1))
    assert first == second


@pytest.mark.parametrize("workers", ["0", "2"])
def test_every_comparison_is_a_subtest_under_v_and_the_gates_line_counts_them_all(
    pytester, workers
):
    """At pytest's default verbosity only the comparisons that do not simply pass (here the
    complex step's on a relu net: not applicable, one skipped subtest for the net and the oracle)
    reach pytest as subtests; under ``-v``
    every one does, each under its comparison id. The gate's own line counts all of them either
    way, and the records are the same."""
    common = ["--random-count", "0", "-n", workers]
    nets = "Architecture((2, 3, 1), batch=2), Architecture((3, 2), 'relu', seed=4)"
    quiet = gate_run(pytester, *common, "--results", "quiet.json", entries=nets)
    # gate_run passes -q: -v twice is pytest's -v
    loud = gate_run(pytester, *common, "-v", "-v", "--results", "loud.json", entries=nets)
    assert quiet.ret == loud.ret == 0
    line = "cross-validation gate: 45 comparisons, 42 passed, 0 failed, 3 not applicable"
    quiet.stdout.fnmatch_lines([line])
    loud.stdout.fnmatch_lines([line])
    assert quiet.parseoutcomes() == {"passed": 2, "skipped": 1}  # one per net and oracle
    assert loud.parseoutcomes() == {"passed": 2, "skipped": 3, "subtests": 42}
    loud.stdout.fnmatch_lines(["*SUBPASS*2-3-1_sigmoid_quadratic_m2_s0-torch-nabla_w-layer3*"])
    assert "SUBPASS" not in quiet.stdout.str()
    records = [
        json.loads((pytester.path / f"{n}.json").read_text())["records"] for n in ("quiet", "loud")
    ]
    assert len(records[0]) == 45 and records[0] == records[1]


@pytest.mark.parametrize("workers", ["0", "2"])
def test_without_results_the_gates_counts_and_table_are_printed_whatever_the_worker_count(
    pytester, workers
):
    """The records go to a temporary parts folder (xdist's workers told where by the controller),
    so the summary counts every comparison, and nothing is left behind."""
    result = gate_run(pytester, "--random-count", "0", "--oracle", "torch", "-n", workers)
    assert result.ret == 0
    # (2, 3, 1) and (3, 2): 3 quantities of 2 layers and of 1 layer
    result.stdout.fnmatch_lines(["cross-validation gate: 9 comparisons, 9 passed, 0 failed*"])
    result.stdout.fnmatch_lines(["oracle *worst delta*", "*", "torch *"])
    assert not list(pytester.path.rglob("*.jsonl"))


def test_the_float32_gate_runs_and_records_its_dtype(pytester):
    result = gate_run(pytester, "--random-count", "2", "--dtype", "float32", "--results", "r.json")
    assert result.ret == 0
    records = json.loads((pytester.path / "r.json").read_text())["records"]
    assert records and {r["dtype"] for r in records} == {"float32"}


def test_a_case_whose_reference_overflows_fails_alone_in_one_line(pytester):
    overflowing = "Architecture((2, 2), 'identity', input_scale=1e200)"
    result = gate_run(
        pytester,
        "--random-count",
        "0",
        "--oracle",
        "torch",
        entries=f"{overflowing}, Architecture((2, 3, 1), batch=2)",
    )
    # 3 quantities of the one layer of the bad case, each a failed subtest of its test
    result.stdout.fnmatch_lines(["cross-validation gate: 9 comparisons, 6 passed, 3 failed*"])
    result.assert_outcomes(passed=1, failed=4)  # pytest counts the subtests that fail, and the test
    result.stdout.fnmatch_lines(
        ["*2-2_identity_quadratic_m1_s0_x1e+200: the reference in float64 failed*overflow*"]
    )


def test_the_floor_profile_times_every_comparison_the_gate_makes():
    """benchmarks.floor (measure 7's profile) makes the gate's comparisons, every one, per part."""
    from benchmarks import floor
    from oracles import ORACLES
    from suite.architectures import random_architectures

    work = floor.own_work(2, seed=7)
    nets = random_architectures(2, 7)
    assert work.architectures == 2
    assert work.comparisons == sum(len(ORACLES) * 3 * (a.depth - 1) for a in nets)
    assert set(work.seconds) == set(floor.PARTS) and work.seconds["case"] > 0


def test_the_per_oracle_table_is_printed_once(pytester):
    """Without --results the gate prints its table; with it (nox -s report, which then runs
    harness.summary on the file) it prints only where the table is, so the table appears once."""
    plain = gate_run(pytester)
    assert sum(line.startswith("oracle ") for line in plain.outlines) == 1
    to_file = gate_run(pytester, "--results", "r.json")
    assert not any(line.startswith("oracle ") for line in to_file.outlines)
    assert "per-oracle table: python -m harness.summary r.json" in to_file.outlines


def test_jax_programs_come_from_the_compilation_cache_with_the_same_records(pytester):
    """``--jax-cache DIR``: the first run writes each program JAX compiled to DIR, a second run
    loads them, and both record exactly what a run compiling afresh (``off``) records."""
    common = ["--random-count", "1", "--oracle", "jax"]
    runs = {
        name: gate_run(pytester, *common, "--jax-cache", cache, "--results", f"{name}.json")
        for name, cache in (("fresh", "off"), ("first", "cache"), ("second", "cache"))
    }
    assert all(run.ret == 0 for run in runs.values())
    entries = list((pytester.path / "cache").glob("*-cache"))
    assert entries, "the cached run wrote no program"
    records = {
        name: json.loads((pytester.path / f"{name}.json").read_text())["records"] for name in runs
    }
    assert records["fresh"] == records["first"] == records["second"]
    assert len(records["fresh"]) > 0


def test_margins_prints_each_oracles_table_from_the_runs_records(pytester):
    result = gate_run(pytester, "--random-count", "0", "--oracle", "torch", "--margins")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*dtype*oracle*comparisons*max ratio*margin*",
            "worst float64 torch: *test_oracle_agrees_with_reference[[]*-torch-*",
        ]
    )
