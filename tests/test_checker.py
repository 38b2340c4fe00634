"""The checker: every mutant named with its intended equation, every bad file an answer.

The correct implementations' zero false alarms, case by case, are tests/test_implementation.py.
"""

from __future__ import annotations

import dataclasses
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checker import cli
from checker.architectures import sigmoid_architectures
from checker.diagnosis import diagnose_sample
from checker.load import DEFAULT_CLASS, split_spec
from checker.mutants import CORRECT, list_mutants
from checker.mutants import catalogue as mutants
from checker.mutants.conv_catalogue import list_conv_mutants
from checker.run import Options, check_spec
from checker.usage import Limits
from checker.verdict import EQUATIONS
from harness import parts, summary
from reference import Architecture, backprop, make_case
from reference.forward import feedforward
from suite import results
from suite.recording import record
from suite.results import read_records

ROOT = Path(__file__).parent.parent
MATRIX_NETWORK = str(Path(__file__).parent / "data" / "matrix_network.py") + ":MatrixNetwork"
#: Random architectures added to the curated ones in these tests (the curated hold the deep,
#: square, width-1 and batch-1 cases each mutant needs).
RANDOM = 4
LINE = re.compile(
    r"^(PASS|FAIL (BP[1-4]|SGD|COST|SHAPE|NONFINITE|CRASH|MEMORY|HANG|INTERFACE|LOAD)"
    r"( at layer \d+)?): "
)


# --- the mutation self-test --------------------------------------------------------------------


def test_catalogue_has_ten_or_more_mutants_covering_every_equation():
    found = list_mutants()
    assert len(found) >= 10
    assert {m.expected for m in found} == set(EQUATIONS)
    assert all(m.description for m in found)


@pytest.mark.parametrize("mutant", list_mutants(), ids=lambda m: f"{m.name}-{m.expected}")
def test_every_mutant_is_caught_with_its_intended_label(mutant, request):
    verdict = check_spec(mutant.spec, RANDOM, 0, name=mutant.name)
    record(request.node, results.verdict_record(mutant.spec, verdict.as_dict(mutant.expected)))
    assert verdict.label == mutant.expected, verdict.line()
    assert LINE.match(verdict.line()), verdict.line()
    worst = verdict.worst
    assert worst is not None and worst[1].layer is not None  # every equation is located


@pytest.mark.parametrize(
    ("mutant", "hidden_on"),
    [
        (mutants.StepWithoutAveraging, lambda a: a.batch == 1),
        (mutants.GradientsOverwrittenNotSummed, lambda a: a.batch == 1),
        (mutants.HiddenErrorFromOutputLayer, lambda a: a.depth <= 3),
        # no BP2 with one weight layer; w = w^T with widths 1
        (mutants.HiddenErrorWithoutTranspose, lambda a: a.depth == 2 or set(a.sizes) == {1}),
        (mutants.WeightGradientTransposed, lambda a: set(a.sizes) == {1}),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_some_bugs_only_show_on_deep_nets_or_larger_batches(mutant, hidden_on):
    verdict = check_spec(f"{mutants.__file__}:{mutant.__name__}", RANDOM, 0)
    hidden = [c for c in verdict.cases if hidden_on(c.arch)]
    shown = [c for c in verdict.cases if not hidden_on(c.arch)]
    assert hidden and all(c.passed for c in hidden), [c.line() for c in hidden if not c.passed]
    assert shown and not any(c.passed for c in shown), [c.case for c in shown if c.passed]


def test_a_second_correct_implementation_written_differently_passes_every_case():
    # matrix-form update, an accurate σ'(z), the book's costs: rounding differs, the maths not
    verdict = check_spec(MATRIX_NETWORK, 60, 0)
    assert verdict.passed, verdict.line()
    assert len(verdict.cases) == 2 * len(sigmoid_architectures(60, 0))


# --- the diagnosis' logic, on gradients altered by hand --------------------------------------

ARCH = Architecture((4, 5, 5, 5, 3), "sigmoid", "quadratic", batch=1, seed=2)


def altered(layer, *, delta=None, bias=None, weight=None):
    """The reference's one-sample (nabla_b, nabla_w), with δ^l, or only ∂C/∂b^l or ∂C/∂w^l,
    changed at one layer (a changed δ^l moves both gradients, as BP3 and BP4 say)."""
    params, batch = make_case(ARCH)
    g = backprop(ARCH, params, batch.x, batch.y)
    a = feedforward(params, ARCH.sigmas, batch.x).activations
    nabla_b, nabla_w = [b.copy() for b in g.nabla_b], [w.copy() for w in g.nabla_w]
    i = layer - 2
    if delta is not None:
        nabla_b[i] = delta(nabla_b[i])
        nabla_w[i] = nabla_b[i] @ a[i].T
    if bias is not None:
        nabla_b[i] = bias(nabla_b[i])
    if weight is not None:
        nabla_w[i] = weight(nabla_w[i])
    return diagnose_sample(ARCH, params, batch.x, batch.y, nabla_b, nabla_w)


def bump(a):
    a = a.copy()
    a[1] *= 1.5
    return a


@pytest.mark.parametrize(
    ("change", "label", "layer"),
    [
        ({"layer": 5, "delta": bump}, "BP1", 5),
        ({"layer": 3, "delta": bump}, "BP2", 3),
        ({"layer": 4, "bias": bump}, "BP3", 4),  # δ^4 right (nabla_w says so), nabla_b not
        ({"layer": 2, "weight": bump}, "BP4", 2),
        ({"layer": 3, "delta": bump, "weight": np.transpose}, "BP2", 3),  # δ wrong and BP4 too
    ],
    ids=["delta-out", "delta-hidden", "bias-only", "weight-only", "delta-and-weight"],
)
def test_diagnosis_names_the_first_broken_equation(change, label, layer):
    finding = altered(**change)
    assert finding is not None and (finding.label, finding.layer) == (label, layer), finding
    assert finding.worst_index and finding.max_abs > finding.allowed


def test_diagnosis_walks_from_the_output_so_a_wrong_delta_is_named_where_it_starts():
    # δ^4 wrong makes every layer below wrong too; the verdict is the layer where it starts
    params, batch = make_case(ARCH)
    g = backprop(ARCH, params, batch.x, batch.y)
    nabla_b = [b * (1.0 if i == 3 else 2.0) for i, b in enumerate(g.nabla_b)]
    nabla_w = [w * (1.0 if i == 3 else 2.0) for i, w in enumerate(g.nabla_w)]
    finding = diagnose_sample(ARCH, params, batch.x, batch.y, nabla_b, nabla_w)
    assert finding is not None and (finding.label, finding.layer) == ("BP2", 4)
    assert "BP4 too" not in finding.message


def test_right_gradients_have_no_finding():
    params, batch = make_case(ARCH)
    g = backprop(ARCH, params, batch.x, batch.y)
    assert diagnose_sample(ARCH, params, batch.x, batch.y, g.nabla_b, g.nabla_w) is None


# --- bad implementations are answers, not crashes ------------------------------------------

BASE = "from checker.mutants.book_network import Network as Book\n"


def subclass(body: str, bases: str = "Book") -> str:
    return BASE + f"class Net({bases}):\n" + "".join(f"    {line}\n" for line in body.splitlines())


BAD = {
    "python2": ("print 'hello'\n", "LOAD", "does not import: SyntaxError", ":1)"),
    "import-error": ("import mnist_loader_missing\n", "LOAD", "ModuleNotFoundError", ":1)"),
    "no-class": (
        "class Other:\n    pass\n",
        "LOAD",
        "has no class 'Net' (classes found: Other)",
        "",
    ),
    "not-a-class": ("Net = 3\n", "LOAD", "'Net' is a int, expected a class", ""),
    "no-backprop": ("class Net:\n    pass\n", "LOAD", "has no method backprop(x, y)", ""),
    "constructor": (
        subclass("def __init__(self, sizes):\n    raise RuntimeError('no')"),
        "INTERFACE",
        "constructing Net([",
        "RuntimeError: no",
    ),
    "one-list": (
        subclass("def backprop(self, x, y):\n    return super().backprop(x, y)[0]"),
        "INTERFACE",
        "backprop(x, y) returned two arrays, expected (nabla_b, nabla_w): two lists",
        "",
    ),
    "returns-none": (
        subclass("def backprop(self, x, y):\n    pass"),
        "INTERFACE",
        "backprop(x, y) returned a NoneType, expected a pair (nabla_b, nabla_w)",
        "",
    ),
    "flat-bias": (
        subclass(
            "def backprop(self, x, y):\n    b, w = super().backprop(x, y)\n"
            "    return [v.ravel() for v in b], w"
        ),
        "SHAPE",
        "nabla_b of layer",
        "expected (",
    ),
    "layer-missing": (
        subclass(
            "def backprop(self, x, y):\n    b, w = super().backprop(x, y)\n    return b[1:], w[1:]"
        ),
        "SHAPE",
        "nabla_b from backprop(x, y) has",
        "arrays, expected",
    ),
    "nan": (
        subclass(
            "def backprop(self, x, y):\n    b, w = super().backprop(x, y)\n"
            "    w[0][0, 0] = float('nan')\n    return b, w"
        ),
        "NONFINITE",
        "nabla_w of layer 2 from backprop(x, y) has nan at (0, 0)",
        "not finite",
    ),
    "raises": (
        subclass("def backprop(self, x, y):\n    return 1 / 0"),
        "CRASH",
        "backprop(x, y) raised ZeroDivisionError: division by zero",
        "(bad.py:4)",
    ),
    "xrange": (
        subclass("def hidden_layers(self):\n    return xrange(self.L - 1, 1, -1)"),
        "CRASH",
        "NameError: name 'xrange' is not defined",
        "(bad.py:4)",
    ),
    "update-raises": (
        subclass("def update_mini_batch(self, mini_batch, eta):\n    raise ValueError('oops')"),
        "CRASH",
        "update_mini_batch(mini_batch, eta) raised ValueError: oops",
        "",
    ),
    "cost-without-classes": (
        subclass("def __init__(self, sizes, cost=None):\n    super().__init__(sizes)"),
        "INTERFACE",
        "its module has no class QuadraticCost",
        "",
    ),
    "total-cost-nan": (
        "from checker.mutants.book_network2 import Network2 as Book\n"
        + subclass("def total_cost(self, data, lmbda):\n    return float('inf')")[len(BASE) :],
        "NONFINITE",
        "total_cost(data, 0) returned inf",
        "",
    ),
}


@pytest.mark.parametrize(("source", "label", "says", "also"), BAD.values(), ids=BAD.keys())
def test_a_bad_implementation_gets_a_one_line_answer(tmp_path, source, label, says, also):
    path = tmp_path / "bad.py"
    path.write_text(source)
    verdict = check_spec(f"{path}:Net", 0, 0)
    line = verdict.line()
    assert verdict.label == label, line
    assert says in line and also in line and "\n" not in line, line
    assert LINE.match(line)


def test_a_load_errors_location_appears_once(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text("x = 1\nprint 'hello'\n")
    line = check_spec(f"{path}:Net", 0, 0).line()
    assert line.count("bad.py:2") == 1 and "line 2" not in line, line


@pytest.mark.parametrize(
    ("body", "found"),
    [
        ("def update_mini_batch(self, mini_batch):\n    pass", "update_mini_batch(mini_batch)"),
        ("def total_cost(self):\n    return 0.0", "total_cost()"),
    ],
    ids=["update", "total-cost"],
)
def test_an_optional_method_with_another_signature_is_not_checked_unless_strict(
    tmp_path, body, found
):
    path = tmp_path / "other.py"
    path.write_text(subclass(body))
    verdict = check_spec(f"{path}:Net", 0, 0)
    assert verdict.passed and f"{found} is not the book's" in verdict.line(), verdict.line()
    assert "not checked" in verdict.line()
    strict = check_spec(f"{path}:Net", 0, 0, Options(strict=True))
    assert strict.label == "INTERFACE" and "(--strict)" in strict.line(), strict.line()


HANGS = {
    "endless-loop": "def backprop(self, x, y):\n    while True:\n        pass",
    "swallows-exceptions": (
        "def backprop(self, x, y):\n    while True:\n        try:\n            time.sleep(1)\n"
        "        except Exception:\n            pass"
    ),
    "hangs-in-update": "def update_mini_batch(self, mini_batch, eta):\n    time.sleep(60)",
}


@pytest.mark.parametrize("body", HANGS.values(), ids=HANGS.keys())
def test_a_call_that_does_not_return_is_stopped_and_later_cases_are_not_run(tmp_path, body):
    path = tmp_path / "hangs.py"
    path.write_text("import time\n" + subclass(body))
    verdict = check_spec(f"{path}:Net", 0, 0, Options(Limits(call_s=0.5)))
    line = verdict.line()
    assert verdict.label == "HANG", line
    assert "did not return within 0.5 s (the per-call limit), so it was stopped" in line
    assert LINE.match(line) and "\n" not in line
    assert len(verdict.failures) == 1 and len(verdict.cases) > 1  # one case waited out the limit
    assert len(verdict.not_run) == len(verdict.cases) - 1
    assert (
        f"1 of {len(verdict.cases)} cases fail (HANG ×1); {len(verdict.cases) - 1} not run" in line
    )
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # no alarm left behind
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("missing.py:Network", "no such file 'missing.py'"),
        ("network.txt:Network", "expected path/to/file.py:ClassName"),
    ],
)
def test_a_spec_that_names_no_python_file_is_an_answer(spec, says):
    verdict = check_spec(spec, 0, 0)
    assert verdict.label == "LOAD" and says in verdict.line()


def test_the_class_name_defaults_to_the_books():
    assert split_spec(CORRECT[0].spec.rpartition(":")[0])[1] == DEFAULT_CLASS == "Network"
    verdict = check_spec(CORRECT[0].spec.rpartition(":")[0], 0, 0)
    assert verdict.passed, verdict.line()


# --- the command line, pytest --impl, the results file ---------------------------------------


def test_the_run_goes_on_after_a_bad_implementation(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("print 'python 2'\n")
    specs = [f"{bad}:Network", CORRECT[0].spec, f"{mutants.__file__}:StepUphill"]
    assert cli.main([*specs, "--random-count", "1"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"FAIL LOAD: {bad}:Network: bad.py does not import: SyntaxError")
    assert lines[1].startswith(f"PASS {CORRECT[0].spec}: ")
    assert lines[2].startswith("FAIL SGD at layer ")


def test_a_correct_implementation_exits_zero(capsys):
    assert cli.main([CORRECT[1].spec, "--random-count", "1"]) == 0
    assert capsys.readouterr().out.startswith("PASS ")


def test_the_catalogue_table_and_its_results_records(tmp_path, capsys):
    path = tmp_path / "results.json"
    assert cli.main(["--random-count", "1", "--results", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith(("ok ", "MISSED "))]
    dense, conv = len(CORRECT) + len(list_mutants()), 1 + len(list_conv_mutants())
    assert len(rows) == dense + conv  # the conv networks' table follows the dense one
    assert all(row.startswith("ok ") for row in rows)
    assert f"{dense} of {dense} as expected" in "\n".join(out)
    assert out[-1].startswith(f"{conv} of {conv} conv networks as intended")
    records = parts.load(path)["records"]
    overall = [r for r in records if r["kind"] == "verdict" and r["arch"] is None]
    assert len(overall) == dense and all(r["as_expected"] for r in overall)
    assert {r["expected"] for r in overall} == {"PASS", *EQUATIONS}
    per_case = [r for r in records if r["arch"] is not None]
    assert per_case and all({"label", "layer", "message", "line"} <= r.keys() for r in per_case)
    assert summary.main([str(path)]) == 0  # mutants failing as intended are not failures
    assert "oracle" in summary.summary_table(read_records(records))  # verdicts are no oracle


def test_pytest_impl_runs_one_test_per_case_and_only_those():
    spec = f"{mutants.__file__}:WeightDecayOnBiases"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--impl",
            spec,
            "--random-count",
            "0",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout[-2000:]
    cases = len(sigmoid_architectures(0, 0, ("quadratic", "cross_entropy")))
    # only the implementation tests are collected (checker.pytest_cases): no other test ran
    assert f"{cases} failed in" in run.stdout and " passed" not in run.stdout, run.stdout[-2000:]
    assert "catalogue.py:WeightDecayOnBiases-5-5-5-5_sigmoid_cross_entropy_m4_s0" in run.stdout
    assert "FAIL SGD at layer" in run.stdout


# --- the cases -----------------------------------------------------------------------------


def test_the_cases_are_all_sigmoid_and_include_deep_nets_and_batches():
    cases = sigmoid_architectures(RANDOM, 0, ("quadratic", "cross_entropy"))
    assert all({s.name for s in a.sigmas} == {"sigmoid"} for a in cases)
    assert any(a.depth - 1 >= 3 and a.batch > 1 for a in cases)
    assert any(a.batch == 1 for a in cases)
    assert any(len(set(a.sizes)) == 1 and a.sizes[0] > 1 for a in cases)  # square layers
    assert {a.cost for a in cases} == {"quadratic", "cross_entropy"}
    assert len(cases) == len(set(cases))
    book = dataclasses.replace(
        Architecture((784, 30, 10), "sigmoid", "quadratic", batch=10, init="normal")
    )
    assert book in cases
