"""The layer-function checker (issue 25, item 5): course-style conv and max-pool forward and
backward functions, run in the checker's worker, judged output by output by the equation each
implements, and a wrong one named by equation, layer and cause.

A correct set passes (two, written apart: loops over positions, and sums over kernel taps); each
mutant of :mod:`checker.mutants.layer_catalogue` gets its intended (label, layer, cause); a file
that crashes, returns a wrong shape, NaN or a short tuple, or ends its process, gets a one-line
finding naming the function and the case while the other cases still run; a dx off by 1e-12 is
caught (the error model's bound, not a loose tolerance), and float32 arithmetic is judged at
float32.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checker.layer_cases import CASES, case_arrays
from checker.layer_check import check_layers
from checker.layer_reference import expected, maps
from checker.mutants.layer_catalogue import CORRECT_LAYERS, LayerMutant, list_layer_mutants
from checker.usage import Limits
from errormodel.layer_functions import layer_function_allowed
from reference.map_equations import max_pool_ties
from tests.mutant_verdicts import assert_named_as_intended
from tests.test_hostile import jailed, project_hash

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "layers"
COURSE = DATA / "course_layers.py"


def test_correct_layer_functions_pass() -> None:
    for spec in (str(COURSE), CORRECT_LAYERS.spec):
        verdict = check_layers(spec)
        assert verdict.passed, verdict.line()
        assert len(verdict.cases) == len(CASES)
        assert verdict.line().startswith("PASS")


@pytest.mark.parametrize("mutant", list_layer_mutants(), ids=lambda m: m.name)
def test_mutant_named_by_equation_layer_and_cause(mutant: LayerMutant) -> None:
    verdict = check_layers(mutant.spec, name=mutant.name)
    # every finding is an equation's, named by a known bug: no form faults, no unnamed mismatch
    assert_named_as_intended(verdict, mutant.name, mutant.intended, every_cause_a_known_bug=True)


def test_every_kind_of_bug_has_a_mutant() -> None:
    """The bug kinds of issue 25 each have one: kernel not flipped, bias not summed over
    positions, stride and padding ignored in the backward pass, δ to every tie and to the wrong
    (last) maximum, and a wrong forward."""
    phrases = {m.intended[2] for m in list_layer_mutants()}
    for wanted in (
        "kernel not flipped",
        "averaged over positions",
        "stride ignored",
        "padding ignored",
        "every tied maximum",
        "last of tied maxima",
        "bias not added",
    ):
        assert wanted in phrases


#: Misbehaving files: (file, label, layer, in the headline's message, cases failing, not run).
MISBEHAVING = [
    ("raises_at_stride.py", "CRASH", "conv", "conv_backward(dout, cache) raised ValueError", 3, 0),
    ("wrong_shape.py", "SHAPE", "max-pool", "out from max_pool_forward(x, pool_param) has", 4, 0),
    ("returns_nan.py", "NONFINITE", "conv", "dw from conv_backward(dout, cache) has nan", 5, 0),
    ("pair_short.py", "INTERFACE", "conv", "returned a tuple of 2, expected (dx, dw, db)", 5, 0),
    ("exits_in_pool.py", "CRASH", "max-pool", "during max_pool_backward(dout, cache)", 1, 3),
    ("nudged_dx.py", "BP2", "conv", "dx ≠ dout ⋆_full rot180(w)", 5, 0),
]


@pytest.mark.parametrize(
    ("name", "label", "layer", "said", "failing", "not_run"),
    MISBEHAVING,
    ids=[m[0] for m in MISBEHAVING],
)
def test_misbehaving_file_gets_one_line_and_the_rest_runs(
    name: str, label: str, layer: str, said: str, failing: int, not_run: int
) -> None:
    verdict = check_layers(str(DATA / name))
    assert verdict.label == label, verdict.line()
    line = verdict.line()
    assert "\n" not in line
    assert line.startswith(f"FAIL {label} ({layer}): "), line
    assert said in line, line
    assert "[" in line and "]" in line  # the case is named
    assert len(verdict.failures) == failing, line
    assert len(verdict.not_run) == not_run, line
    # the other layer's cases ran and passed
    others = [c for c in verdict.cases if c.layer != layer]
    assert others and all(c.passed for c in others), line


def test_hang_is_stopped_by_the_per_call_limit() -> None:
    verdict = check_layers(str(DATA / "hangs_in_pool.py"), Limits(call_s=1.0))
    line = verdict.line()
    assert line.startswith("FAIL HANG (max-pool): "), line
    assert "max_pool_forward(x, pool_param) did not return within 1 s" in line, line
    assert len(verdict.not_run) == 3, line
    assert all(c.passed for c in verdict.cases if c.layer == "conv"), line


#: Layer files that patch the worker they run in and forge its replies: the phrase of the
#: checker's finding (CRASH: a malformed reply; a forged description shown on one line).
FORGED = {
    "short-results": (
        "honest = WORKER.Worker.layer\n"
        "def forged(self, *args, **kwargs):\n"
        "    reply = honest(self, *args, **kwargs)\n"
        "    return {**reply, 'results': reply['results'][:-1]}\n",
        "CRASH",
        "malformed reply",
    ),
    "index-out-of-range": (
        "def forged(self, *args, **kwargs):\n    return {'results': [{'array': 7}] * 3}\n",
        "CRASH",
        "malformed reply",
    ),
    "escapes-in-kind": (
        "def forged(self, *args, **kwargs):\n    return {'kind': 'x\\nPASS everything\\x1b[2J'}\n",
        "INTERFACE",
        "\\nPASS everything\\x1b",
    ),
}


@pytest.mark.parametrize("name", FORGED)
def test_forged_layer_replies(name: str, tmp_path: Path) -> None:
    body, label, said = FORGED[name]
    shutil.copy(COURSE, tmp_path / COURSE.name)
    learner = tmp_path / "forges.py"
    learner.write_text(
        "import sys\nfrom course_layers import *  # noqa: F403\n"
        'WORKER = sys.modules["__main__"]\n' + body + "WORKER.Worker.layer = forged\n"
    )
    verdict = check_layers(str(learner))
    line = verdict.line()
    assert verdict.label == label, line
    assert said in line and "\n" not in line and "\x1b" not in line, line


def test_nan_leaves_the_other_outputs_judged() -> None:
    verdict = check_layers(str(DATA / "returns_nan.py"))
    for case in verdict.failures:
        assert [f.label for f in case.findings] == ["NONFINITE"], case.line()


def test_float32_arithmetic_judged_at_float32() -> None:
    verdict = check_layers(str(DATA / "float32_layers.py"))
    assert verdict.passed, verdict.line()
    assert "at float32 precision" in verdict.line()


@jailed
def test_layer_functions_run_in_the_jail() -> None:
    """Layer functions run in the network checker's sandbox: a file that tries to rewrite
    checker/ cannot (its dx is then wrong: BP2), and checker/ is unchanged."""
    before = project_hash()
    verdict = check_layers(str(DATA / "writes_checker.py"))
    assert verdict.label == "BP2", verdict.line()
    assert project_hash() == before


def test_missing_functions() -> None:
    none = check_layers(str(ROOT / "checker" / "mutants" / "book_network.py"))
    assert none.label == "LOAD"
    assert "defines none of conv_forward" in none.line()


def test_reference_transposed_at_the_boundary() -> None:
    """The reference's (C, H, W, m) maps back and forth; the outputs have the course's shapes."""
    for case in CASES:
        arrays = case_arrays(case)
        want = expected(case, arrays)
        assert want["dx"].value.shape == arrays.x.shape
        assert want["out"].value.shape == arrays.dout.shape
        if case.layer == "conv":
            assert want["dw"].value.shape == arrays.w.shape
            assert want["db"].value.shape == arrays.b.shape
        assert np.array_equal(np.moveaxis(maps(arrays.x), -1, 0), arrays.x)


def test_cases_separate_the_bugs() -> None:
    """Each bug's answer is far outside the bound wherever it differs, and the tie cases hold
    ties (the no-tie cases none)."""
    for case in CASES:
        arrays = case_arrays(case)
        for output, want in expected(case, arrays).items():
            allowed = layer_function_allowed(want.scale)
            for variant in want.variants:
                if variant.value.shape == want.value.shape:
                    gap = np.abs(variant.value - want.value).max()
                    assert gap > 1e6 * allowed, (case.id, output, variant.cause)
        if case.layer == "max-pool":
            ties = max_pool_ties(maps(arrays.x), case.size, case.stride)  # type: ignore[union-attr]
            assert bool(ties.any()) == case.ties, case.id  # type: ignore[union-attr]


def test_cli_verdict_exit_status_and_results(tmp_path: Path) -> None:
    results = tmp_path / "layers.json"
    mutant = next(m for m in list_layer_mutants() if m.name == "KernelNotFlipped")
    both = ["--layers", str(COURSE), "--layers", mutant.spec, "--results", str(results)]
    run = subprocess.run(
        [sys.executable, "-m", "checker", *both],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("PASS ")
    assert lines[1].startswith("FAIL BP2 (conv): ") and "kernel not flipped" in lines[1]
    records = json.loads(results.read_text())["records"]
    labels = {r["impl"]: r["label"] for r in records}
    assert labels == {str(COURSE): "PASS", mutant.spec: "BP2"}
    alone = subprocess.run(
        [sys.executable, "-m", "checker", "--layers", str(COURSE)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert alone.returncode == 0, alone.stdout + alone.stderr
