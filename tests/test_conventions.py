"""Learners' conventions: each learner file in tests/data/conventions/ is judged in its own
convention (or told why it cannot be), named in one line, and a real bug behind it still found.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from checker import cli, conventions
from checker.causes import cause
from checker.cost_classes import COST_CLASSES
from checker.layout import PROBE, Layout, storage
from checker.mutants import catalogue as mutants
from checker.run import Options, check_spec
from checker.verdict import CaseVerdict, Finding, Verdict
from errormodel.tables import COST_ERRORS
from reference import Architecture, costs, forward_backward, make_case

CONVENTIONS = Path(__file__).parent / "data" / "conventions"
LEARNERS = Path(__file__).parent / "data" / "learners"
#: Curated architectures only: deep, square, width-1 and batch-1 nets are among them.
RANDOM = 0


def spec(name: str) -> str:
    return f"{CONVENTIONS / name}"


def check(name: str, options: Options | None = None) -> Verdict:
    return check_spec(spec(name), RANDOM, 0, options)


# --- judged in the learner's convention ----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "says", "checked"),
    [
        ("rows.py:Network", "weights are stored as (n_in, n_out)", "update_mini_batch"),
        ("rows_network2.py:Network", "biases as (n_out,), samples as rows", "total_cost"),
        ("rows_column_bias.py:Network", "(n_in, n_out), samples as rows (1, n)", "backprop"),
        ("vectors.py:Network", "samples as vectors (n,)", "backprop"),
        ("batch3d.py:Network", "samples go in as a 3-D batch (m, n, 1)", "update_mini_batch"),
    ],
    ids=["rows", "rows-network2", "rows-column-bias", "vectors", "batch3d"],
)
def test_a_right_implementation_in_another_convention_passes_saying_how_it_was_judged(
    name, says, checked
):
    verdict = check(name)
    line = verdict.line()
    assert verdict.passed, line
    assert says in line and "judged" in line and "\n" not in line, line
    assert all(checked in c.checked for c in verdict.cases), line


@pytest.mark.parametrize(
    ("name", "label", "says"),
    [
        ("rows.py:HiddenBug", "BP2", "judged transposed"),
        ("vectors.py:SquashedTwice", "BP4", "samples as vectors (n,)"),
    ],
    ids=["rows-bp2", "vectors-bp4"],
)
def test_a_bug_behind_a_convention_is_still_named(name, label, says):
    verdict = check(name)
    assert verdict.label == label, verdict.line()
    assert says in verdict.line(), verdict.line()
    assert {c.finding.label for c in verdict.failures if c.finding} == {label}


def test_parameters_that_fit_no_mapping_are_interface_naming_the_shapes_never_a_crash():
    verdict = check("folded_bias.py:Network")
    line = verdict.line()
    assert verdict.label == "INTERFACE", line
    assert f"Network({list(PROBE)}) builds weights of shapes [(3, 5), (2, 4)]" in line, line
    assert "(n_l, n_(l−1)) [(3, 4), (2, 3)]" in line, line
    assert {c.finding.label for c in verdict.cases if c.finding} == {"INTERFACE"}


def test_parameters_under_other_names_are_interface_naming_them(tmp_path):
    path = tmp_path / "w.py"
    path.write_text(
        "import numpy as np\n"
        "class Net:\n"
        "    def __init__(self, sizes):\n"
        "        self.W = [np.ones((n, k)) for k, n in zip(sizes[:-1], sizes[1:])]\n"
        "    def backprop(self, x, y):\n"
        "        return [w[:, :1] for w in self.W], self.W\n"
    )
    verdict = check_spec(f"{path}:Net", RANDOM, 0)
    line = verdict.line()
    assert verdict.label == "INTERFACE", line
    assert "has no weights and no biases attribute (its attributes: W)" in line, line


def test_a_transposed_class_whose_backprop_fits_no_sample_form_is_interface(tmp_path):
    path = tmp_path / "t.py"
    path.write_text(
        "import numpy as np\n"
        "class Net:\n"
        "    def __init__(self, sizes):\n"
        "        self.weights = [np.zeros((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]\n"
        "        self.biases = [np.zeros((1, b)) for b in sizes[1:]]\n"
        "    def backprop(self, x, y):\n"
        "        raise ValueError('shapes do not align')\n"
    )
    verdict = check_spec(f"{path}:Net", RANDOM, 0)
    line = verdict.line()
    assert verdict.label == "INTERFACE", line
    assert "weights are stored as (n_in, n_out)" in line, line
    assert "as (1, n): it raised ValueError: shapes do not align (t.py:7)" in line, line
    assert "CRASH" not in line


def test_the_layout_maps_the_books_arrays_in_and_the_learners_out():
    arch = Architecture((4, 3, 2), "sigmoid", "quadratic")
    params, batch = make_case(arch)
    layout = Layout("transposed", "row", "row")
    theirs = layout.params(params)
    assert [a.shape for a in theirs] == [(4, 3), (3, 2), (1, 3), (1, 2)]
    assert layout.sample(batch.x[:, :1]).shape == (1, 4)
    items = {"items": [{"array": i} for i in range(2)]}
    back = layout.to_book(arch.sizes, [items], theirs[:2])
    assert all(np.array_equal(a, w) for a, w in zip(back, params.weights, strict=True))
    assert layout.entry("weights", (2, 1)) == [1, 2] and layout.entry("biases", (2, 0)) == [0, 2]
    assert Layout(biases="flat").entry("biases", (2, 0)) == [2]
    assert Layout().to_book(arch.sizes, [items], theirs[:2]) is not None


def test_storage_is_read_from_the_probe_nets_shapes():
    built = {"weights": [[4, 3], [3, 2]], "biases": [[3], [2]]}
    assert storage("Net", PROBE, built) == ("transposed", "flat")
    assert storage("Net", PROBE, {"weights": None, "biases": None}) is None
    odd = storage("Net", PROBE, {"weights": [[3, 4], [2, 3]], "biases": [[3, 3], [2, 2]]})
    assert isinstance(odd, Finding) and odd.label == "INTERFACE"


# --- the swapped pair and the cost ----------------------------------------------------------------


def test_a_swapped_pair_with_a_second_bug_is_interface_naming_both():
    verdict = check("swapped_cross_entropy.py:Network")
    line = verdict.line()
    assert verdict.label == "INTERFACE", line
    assert "returned the pair swapped, (nabla_w, nabla_b): return (nabla_b, nabla_w)" in line
    assert "judged swapped: BP1 at layer " in line, line
    assert "match the cross-entropy cost" in line and "--cost cross_entropy" in line, line
    # every case is judged swapped: no SHAPE from nets where the shapes differ, no BP1 alone
    # from the 1-1-1-1 net where they coincide
    assert all("judged swapped: BP1" in c.finding.message for c in verdict.failures if c.finding)
    assert len(verdict.failures) == len(verdict.cases)
    worst = verdict.worst
    assert worst is not None and not worst[0].startswith("1-1-1-1"), worst


def test_a_cross_entropy_output_error_without_cost_is_bp1_naming_the_cost_and_the_option():
    verdict = check("cross_entropy_delta.py:Network")
    line = verdict.line()
    assert verdict.label == "BP1", line
    assert "δ^L and every gradient match the cross-entropy cost, not the quadratic one" in line
    assert "check it with --cost cross_entropy" in line, line
    told = check("cross_entropy_delta.py:Network", Options(costs=("cross_entropy",)))
    assert told.passed, told.line()
    assert {c.arch.cost for c in told.cases} == {"cross_entropy"}


def test_a_class_with_cost_whose_output_error_ignores_it_is_told_so():
    verdict = check_spec(f"{mutants.__file__}:CrossEntropyDeltaTimesPrime", RANDOM, 0)
    assert verdict.label == "BP1"
    hinted = [
        c.finding.message for c in verdict.failures if c.finding and c.arch.cost == "cross_entropy"
    ]
    assert hinted and all("match the quadratic cost" in m for m in hinted), hinted[:1]
    assert all("built with cost=CrossEntropyCost" in m for m in hinted), hinted[:1]


def test_a_right_delta_gets_no_cost_hint():
    verdict = check_spec(f"{mutants.__file__}:OutputErrorPrimeOfActivation", RANDOM, 0)
    assert verdict.label == "BP1"
    assert all("cost" not in c.finding.message for c in verdict.failures if c.finding)


def test_a_cost_without_a_network2_class_is_never_the_hint(monkeypatch):
    """A reference cost the checker has no class for (a new one) is skipped, not a KeyError: here
    one whose δ^L is the cross-entropy's, tried first, gives way to the cross-entropy itself."""
    monkeypatch.setitem(costs.COSTS, "new_cost", costs.CrossEntropy())
    monkeypatch.setitem(COST_ERRORS, "new_cost", COST_ERRORS["cross_entropy"])
    monkeypatch.setattr(conventions, "COSTS", {"new_cost": costs.CrossEntropy(), **costs.COSTS})
    one = Architecture((3, 4, 2), "sigmoid", "quadratic", batch=1)
    params, batch = make_case(one)
    learner = dataclasses.replace(one, cost="cross_entropy")
    grads = forward_backward(learner, params, batch.x, batch.y)[1]
    found = conventions.matching_cost(
        one, params, batch.x, batch.y, grads.nabla_b, grads.nabla_w, np.dtype("float64")
    )
    assert found == ("cross_entropy", True)
    # --cost may name it: the hint names it as it is
    hint = conventions.cost_hint("new_cost", "quadratic", True, takes_cost=False)
    assert "not the new_cost one the checker assumed" in hint
    assert set(conventions.COST_NAMES) == set(COST_CLASSES)


def test_a_cost_without_a_class_given_to_a_class_with_cost_is_interface(monkeypatch):
    """--cost may name a reference cost the checker has no network2.py class for: a class built
    with cost= cannot be given it, which is INTERFACE naming the cost, not a KeyError."""
    monkeypatch.setitem(costs.COSTS, "new_cost", costs.Quadratic())
    book = f"{Path(mutants.__file__).parent / 'book_network2.py'}:Network2"
    verdict = check_spec(book, RANDOM, 0, Options(costs=("new_cost",)))
    assert verdict.label == "INTERFACE", verdict.line()
    assert "the cost 'new_cost' has no network2.py class" in verdict.line()


# --- one headline per cause ----------------------------------------------------------------------


def case(sizes: tuple[int, ...], label: str, message: str) -> CaseVerdict:
    return CaseVerdict(Architecture(sizes, "sigmoid", "quadratic"), Finding(label, message, 2))


def test_findings_alike_up_to_their_numbers_are_one_cause_and_the_headline_skips_width_1():
    verdict = Verdict(
        "net.py:Net",
        (
            case((1, 1, 1), "BP1", "δ^3 wrong: reference 0.1, got 0.3 (sample 1 of 2)"),
            case((5, 5, 5), "BP1", "δ^3 wrong: reference -2e-3, got 4 (sample 2 of 4)"),
            case((4, 6, 2), "BP1", "δ^3 wrong: reference 1.5, got 7"),
            case((4, 6, 2, 3), "SHAPE", "nabla_b of layer 2 has shape (6,), expected (6, 1)"),
            case((4, 7, 3, 3), "SHAPE", "nabla_b of layer 2 has shape (7,), expected (7, 1)"),
        ),
    )
    assert verdict.worst is not None and verdict.worst[0].startswith("4-6-2_"), verdict.worst
    assert [n for n, _ in verdict.causes()] == [3, 2]
    assert cause("BP1", "got 0.3 (sample 1 of 2)") == cause("BP1", "got -4e-05")
    lines = verdict.cause_lines()
    assert len(lines) == 1 and lines[0].startswith("also SHAPE at layer 2 ×2: "), lines


@pytest.mark.parametrize(
    "learner",
    [
        str(LEARNERS / "swapped_pair.py"),
        spec("swapped_cross_entropy.py"),
        spec("rows.py:HiddenBug"),
    ],
    ids=["swapped-pair", "swapped-cross-entropy", "rows-bp2"],
)
def test_a_failing_learners_output_fits_on_one_screen(learner, capsys):
    assert cli.main([learner, "--random-count", "60"]) == 1
    lines = capsys.readouterr().out.splitlines()
    verdict = check_spec(learner, 60, 0)
    # the headline, then one line per other cause: 60 random architectures add none
    assert len(lines) == len(verdict.causes()) <= 7, lines
    assert len(verdict.failures) > 2 * len(lines)


# --- Python 2 ------------------------------------------------------------------------------------


def test_a_python2_file_is_load_saying_so_and_how_to_convert_it():
    verdict = check("python2_network.py")
    line = verdict.line()
    assert verdict.label == "LOAD", line
    assert "does not import: SyntaxError" in line and "(python2_network.py:39)" in line, line
    assert "this looks like Python 2 (print statement)" in line, line
    assert (
        f"convert it with 2to3 or run `python -m checker --2to3 {CONVENTIONS}/python2_network.py`"
        in line
    )


def test_2to3_checks_a_converted_copy_and_says_so(capsys):
    before = (CONVENTIONS / "python2_network.py").read_text()
    assert cli.main([spec("python2_network.py"), "--2to3", "--random-count", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("--2to3: converted python2_network.py"), lines
    assert "with fissix 24.4.24 (2to3's fixers) into a temporary copy" in lines[0], lines
    assert lines[1].startswith(f"PASS {spec('python2_network.py')}: "), lines
    assert (CONVENTIONS / "python2_network.py").read_text() == before


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"net.py": "import cPickle\n"}, "(cPickle is Python 2's pickle)"),
        (
            {"net.py": "import helper\n", "helper.py": "x = 1\n\nprint x\n"},
            "(print statement in helper.py)",
        ),
        (
            {"net.py": "try:\n    pass\nexcept ValueError, e:\n    pass\n"},
            "(`except E, name:`)",
        ),
    ],
    ids=["module", "sibling", "except-comma"],
)
def test_python2_is_recognized_in_imports_siblings_and_other_syntax(tmp_path, files, says):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    line = check_spec(f"{tmp_path / 'net.py'}:Net", 0, 0).line()
    assert line.startswith("FAIL LOAD: ") and f"this looks like Python 2 {says}" in line, line


def test_python3_errors_get_no_python2_hint(tmp_path):
    (tmp_path / "net.py").write_text("def f(:\n    pass\n")
    line = check_spec(f"{tmp_path / 'net.py'}:Net", 0, 0).line()
    assert line.startswith("FAIL LOAD: ") and "Python 2" not in line, line


def test_pytest_impl_takes_the_cost_too():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--impl",
            spec("cross_entropy_delta.py"),
            "--impl-cost",
            "cross_entropy",
            "--random-count",
            "0",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=Path(__file__).parent.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0 and " passed" in run.stdout, run.stdout[-2000:]
