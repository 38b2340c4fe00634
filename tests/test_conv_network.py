"""The conv-network checker (issue 25, item 5): a learner's network3-style ConvPoolLayer,
FullyConnectedLayer, SoftmaxLayer and Network, run in the checker's worker, every gradient judged
against the reference within the error model's bound, and a wrong one named by equation, layer
and cause.

The correct nets pass (two, written apart: loops over positions, and im2col; and one computing in
float32, at float32 precision); each mutant of :mod:`checker.mutants.conv_catalogue` gets its
intended (label, layer, cause); a held-out bug is named; a net that raises, returns a wrong
shape, NaN or a tuple of 3, or ends its process, gets a one-line finding naming the case while the
other cases run; a gradient off by a few ulps more than the bound allows fails.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checker.conv_cases import CASES, ConvNetCase
from checker.conv_check import check_conv_network, diagnose, layer_specs
from checker.conv_reference import BUGS, NetGradients, case_data, expected, in_learner_layout
from checker.mutants.conv_catalogue import CORRECT_CONV, ConvMutant, list_conv_mutants
from checker.usage import Limits
from errormodel.tolerances import bound_allowed
from reference.backprop import backprop
from tests.mutant_verdicts import assert_named_as_intended
from tests.test_hostile import jailed, project_hash

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data" / "conv"


def test_correct_conv_networks_pass() -> None:
    for spec in (CORRECT_CONV.spec, str(DATA / "im2col_network.py")):
        verdict = check_conv_network(spec)
        assert verdict.passed, verdict.line()
        assert len(verdict.cases) == len(CASES)
        assert verdict.line().startswith("PASS"), verdict.line()
        assert "precision" not in verdict.line()


def test_float32_network_judged_at_float32() -> None:
    verdict = check_conv_network(str(DATA / "float32_network.py"))
    assert verdict.passed, verdict.line()
    assert "at float32 precision" in verdict.line()
    assert all(c.precision == "float32" for c in verdict.cases)


@pytest.mark.parametrize("mutant", list_conv_mutants(), ids=lambda m: m.name)
def test_mutant_named_by_equation_layer_and_cause(mutant: ConvMutant) -> None:
    verdict = check_conv_network(mutant.spec, name=mutant.name)
    # every finding is an equation's, none a fault of form (one mutant is named by its equation)
    assert_named_as_intended(verdict, mutant.name, mutant.intended, every_cause_a_known_bug=False)


def test_every_kind_of_bug_has_a_mutant() -> None:
    """Issue 25's bug kinds: kernel not flipped, the bias not summed over positions, stride and
    padding ignored in the backward pass, ∂C/∂w as a convolution, δ to every tie and to the
    wrong position, and one named by its equation alone."""
    phrases = {m.intended[2] for m in list_conv_mutants()}
    for wanted in (
        "kernel not flipped",
        "averaged over positions",
        "not summed over positions",
        "stride ignored",
        "padding ignored",
        "kernel flipped in ∂C/∂w",
        "every tied maximum",
        "last of tied maxima",
        "every position of its window",
        "δ ≠",
    ):
        assert wanted in phrases


def test_held_out_bug_is_named() -> None:
    verdict = check_conv_network(str(DATA / "im2col_bias_mean.py"))
    line = verdict.line()
    assert line.startswith("FAIL BP3 (conv 2): "), line
    assert "bias gradient averaged over positions" in line, line
    assert len(verdict.failures) == len(CASES), line


#: Misbehaving nets: (file, label, in the headline, cases failing, not run).
MISBEHAVING = [
    ("raises_at_stride.py", "CRASH", "backprop(x, y) raised ValueError: strides are not", 2, 0),
    ("wrong_shape.py", "SHAPE", "nabla_w of layer 2 from backprop(x, y) has shape (3, 12)", 7, 0),
    ("returns_nan.py", "NONFINITE", "has nan at (0,)", 3, 0),
    ("triple.py", "INTERFACE", "returned a tuple of 3, expected a pair (nabla_b, nabla_w)", 4, 0),
    ("exits.py", "CRASH", "during backprop(x, y), the process exited with status 0", 1, 3),
]


@pytest.mark.parametrize(
    ("name", "label", "said", "failing", "not_run"), MISBEHAVING, ids=[m[0] for m in MISBEHAVING]
)
def test_misbehaving_net_gets_one_line_and_the_rest_runs(
    name: str, label: str, said: str, failing: int, not_run: int
) -> None:
    verdict = check_conv_network(str(DATA / name))
    line = verdict.line()
    assert verdict.label == label, line
    assert "\n" not in line
    assert said in line, line
    assert "[" in line and "]" in line  # the case is named
    assert len(verdict.failures) == failing, line
    assert len(verdict.not_run) == not_run, line
    ran = [c for c in verdict.cases if c.ran and not c.findings]
    assert len(ran) == len(CASES) - failing - not_run
    assert all(c.passed for c in ran)


def test_hang_is_stopped_by_the_per_call_limit() -> None:
    verdict = check_conv_network(str(DATA / "hangs.py"), Limits(call_s=1.0))
    line = verdict.line()
    assert line.startswith("FAIL HANG (net): "), line
    assert "backprop(x, y) did not return within 1 s" in line and "[s1p0_tanh]" in line, line
    assert len(verdict.not_run) == len(CASES) - 2, line
    assert verdict.cases[0].passed, line


def test_missing_classes_are_a_load_finding() -> None:
    verdict = check_conv_network(str(ROOT / "checker" / "mutants" / "book_network.py"))
    assert verdict.label == "LOAD", verdict.line()
    assert "has no class ConvPoolLayer" in verdict.line()


def test_a_few_ulps_beyond_the_bound_fail() -> None:
    """The tolerance is the error model's bound: the reference's own gradients pass, the same
    with one element moved by twice what the bound allows fail, at BP3 or BP4 of that layer."""
    case = CASES[0]
    want = expected(case)
    assert diagnose(case, want.grads, want, "float64") == []
    k = 2
    scale = want.scales["nabla_w", k]
    nudged = [w.copy() for w in want.grads.nabla_w]
    nudged[k - 1].flat[0] += 2 * bound_allowed(scale, np.float64)
    findings = diagnose(case, NetGradients(want.grads.nabla_b, tuple(nudged)), want, "float64")
    assert [(f.label, f.layer) for f in findings] == [("BP4", "conv 2")], findings


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_bug_is_named_by_its_own_gradients(case: ConvNetCase) -> None:
    """Fed each bug's gradients, the diagnosis names that bug (every equation it breaks) and no
    other; the variants come from the reference's own backward pass."""
    want = expected(case)
    for variant in want.variants:
        findings = diagnose(case, variant.grads, want, "float64")
        causes = {f.cause for f in findings}
        assert causes <= {b.cause for b in variant.bugs}, (variant.bugs, findings)
        assert causes, variant.bugs


def test_reference_in_network3_layout() -> None:
    """The reference's gradients, read per learner layer, have network3's shapes and equal the
    reference's own backprop of the same case (the layout is a transpose, nothing else)."""
    for case in CASES:
        arch, params, batch = case_data(case)
        grads = in_learner_layout(case, backprop(arch, params, batch.x, batch.y))
        for spec, b, w in zip(layer_specs(case), grads.nabla_b, grads.nabla_w, strict=True):
            if spec["kind"] == "ConvPoolLayer":
                assert w.shape == tuple(spec["filter_shape"]) and b.shape == (w.shape[0],)
            else:
                assert w.shape == (spec["n_in"], spec["n_out"]) and b.shape == (spec["n_out"],)


def test_ties_cases_have_ties_and_the_others_none() -> None:
    """The tie bugs can only show where a pool window ties: the ties cases must have such
    windows, so their variants differ from the reference there."""
    every_tie = next(bugs[0] for bugs in BUGS if "every tied" in bugs[0].cause)
    for case in CASES:
        shown = any(v.bugs == (every_tie,) for v in expected(case).variants)
        assert shown == case.ties, case.id


def test_module_without_stride_keywords_skips_those_cases(tmp_path: Path) -> None:
    """A ConvPoolLayer without stride= and padding= is checked on the other cases, with a note."""
    source = (DATA / "im2col_network.py").read_text()
    narrowed = source.replace(
        "activation_fn=sigmoid, stride=1, padding=0\n    ):",
        "activation_fn=sigmoid\n    ):\n        stride, padding = 1, 0",
    )
    assert narrowed != source
    (tmp_path / "narrow.py").write_text(narrowed)
    verdict = check_conv_network(str(tmp_path / "narrow.py"))
    assert verdict.passed, verdict.line()
    unstrided = [c for c in CASES if not c.strided and not c.padded]
    assert len(verdict.cases) == len(unstrided)
    assert "takes no stride=" in verdict.line() and "takes no padding=" in verdict.line()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env_path = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "checker", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
        timeout=600,
        check=False,
    )


def test_exit_codes() -> None:
    good, bad = DATA / "im2col_network.py", DATA / "im2col_bias_mean.py"
    passed = _cli("--conv-network", str(good))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.startswith("PASS "), passed.stdout
    failed = _cli("--conv-network", str(good), "--conv-network", str(bad))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    lines = failed.stdout.splitlines()
    assert lines[0].startswith("PASS ") and lines[1].startswith("FAIL BP3 (conv 2): "), lines
    usage = _cli("--conv-network", str(good), "--timeout", "-1")
    assert usage.returncode == 2, usage.stdout + usage.stderr


def test_conv_mutants_in_the_self_test_table() -> None:
    """The no-argument self-test lists the conv network and every conv mutant, each as
    intended."""
    from checker.cli import conv_self_test

    assert conv_self_test(Limits())


def test_a_mutant_the_checker_misnames_fails_the_self_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The self-test can fail: a mutant declared with another layer than the one its bug shows
    at is MISSED."""
    import checker.cli as cli

    first = list_conv_mutants()[0]
    wrong = dataclasses.replace(first, intended=(first.intended[0], "conv 9", first.intended[2]))
    monkeypatch.setattr(cli, "list_conv_mutants", lambda: [wrong])
    assert not cli.conv_self_test(Limits())


@jailed
def test_conv_network_runs_in_the_jail(tmp_path: Path) -> None:
    """The net runs in the dense checker's sandbox: the reference is not there to copy
    gradients from, and checker/ cannot be written."""
    before = project_hash()
    (tmp_path / "copies.py").write_text(
        "import pathlib\n"
        "pathlib.Path(__import__('checker').__file__).with_name('planted.py').write_text('')\n"
    )
    wrote = check_conv_network(str(tmp_path / "copies.py"))
    assert wrote.label == "LOAD" and "does not import" in wrote.line(), wrote.line()
    (tmp_path / "peeks.py").write_text("import reference.backprop\n")
    peeked = check_conv_network(str(tmp_path / "peeks.py"))
    assert peeked.label == "LOAD" and "ModuleNotFoundError" in peeked.line(), peeked.line()
    assert project_hash() == before
