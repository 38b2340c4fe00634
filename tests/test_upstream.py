"""harness.upstream (nox -s upstream): every known bug's snippet runs standalone on the installed
torch and jax and is judged against mpmath; the exact values are right (checked against mpmath's
own numerical derivative); a fixed bug reads as "not reproduced"; a run that cannot judge exits 2.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import mpmath
import pytest

from errormodel.tolerances import TRUTH_UNITS, eps
from harness import upstream
from harness.upstream import REPRODUCTIONS, CannotRun, Reproduction
from oracles import known_upstream

ROOT = Path(__file__).parent.parent
BUGS = {b.id: b for b in known_upstream.load()}
#: What a snippet may import: the frameworks and nothing of this project.
FRAMEWORKS = {"torch", "jax", "optax"}


class Session:
    """Enough of nox.Session for noxfile.upstream: ``run`` runs the command here, keeps its
    output, and fails on an exit status nox would fail on."""

    def __init__(self, posargs: list[str]) -> None:
        self.posargs = posargs
        self.output = ""

    def install(self, *args: str) -> None:
        pass

    def run(self, *args: str, success_codes: list[int] | None = None) -> None:
        command = [sys.executable if a == "python" else a for a in args]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
        self.output += done.stdout + done.stderr
        if done.returncode not in (success_codes or [0]):
            raise RuntimeError(f"{args[:3]} exited {done.returncode}: {done.stderr[-500:]}")


def nox_upstream() -> Any:
    """noxfile.upstream, the function under its nox decorator."""
    sys.path.insert(0, str(ROOT))
    try:
        with contextlib.chdir(ROOT):  # it reads pyproject.toml when imported
            import noxfile
    finally:
        sys.path.remove(str(ROOT))
    return getattr(noxfile.upstream, "func", noxfile.upstream)


@pytest.fixture(scope="module")
def session_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """One ``nox -s upstream`` (probes included) in an empty folder: its JSON and its output."""
    folder = tmp_path_factory.mktemp("upstream")
    session = Session([])
    with contextlib.chdir(folder):
        nox_upstream()(session)
    data = json.loads((folder / "reports" / "upstream.json").read_text(encoding="utf-8"))
    return data, session.output


def installed_public(framework: str) -> str:
    version = known_upstream.installed_version(framework)
    assert version is not None
    return version.split("+")[0]


# --- the session's run -------------------------------------------------------------------------


def test_the_session_writes_every_entry_and_probe_and_prints_one_line_each(
    session_run: tuple[dict[str, Any], str],
) -> None:
    data, output = session_run
    assert data["schema"] == upstream.SCHEMA and data["missing_reproductions"] == []
    assert [r["id"] for r in data["bugs"]] == list(BUGS)
    assert {r["id"] for r in data["probes"]} == set(REPRODUCTIONS) - set(BUGS)
    assert data["environment"]["mpmath"] == "1.3.0"
    for record in data["bugs"] + data["probes"]:
        assert record["status"] in ("reproduced", "not reproduced"), record["line"]
        assert record["line"] in output
    torch = installed_public("torch")
    assert (
        f"pytorch#195677 reproduced on torch {torch}: BCEWithLogits grad at logit 37.43, "
        "target 1 = 0.0, true -5.55e-17 (9.0e15 ulps)" in output.splitlines()
    )


#: Bugs that lose some digits, not all: jax's tanh grad (1 − tanh² amplifies tanh's few ulps),
#: torch's forward-mode BCE-with-logits (its error is ε times the tangent, not the result).
LOSES_SOME_DIGITS = {"jax:tanh-grad-ulps", "torch:bce-logits-jvp-tangent"}


@pytest.mark.parametrize("bug_id", list(BUGS))
def test_each_known_bug_runs_and_is_judged_against_mpmath(
    session_run: tuple[dict[str, Any], str], bug_id: str
) -> None:
    data, _ = session_run
    record = next(r for r in data["bugs"] if r["id"] == bug_id)
    bug = BUGS[bug_id]
    repro = REPRODUCTIONS[bug_id]
    assert record["url"] == bug.url and record["framework"] == bug.framework
    if repro.aborts:  # the bug is the process ending: no values to judge while it reproduces
        reproduces = installed_public(bug.framework) in bug.versions
        assert (record["status"] == "reproduced") == reproduces, record["line"]
        assert not reproduces or ("SIGABRT" in record["problem"] and not record["elements"])
        return
    # the judgement, redone here from the printed values and the exact terms
    values = [e["value"] for e in record["elements"]]
    again = upstream.judge(values, repro.terms(), repro.inputs)
    assert [e.wrong for e in again] == [e["wrong"] for e in record["elements"]]
    # on a version the entry says it reproduces on, it must
    if installed_public(bug.framework) in bug.versions:
        assert record["status"] == "reproduced", record["line"]
        worst = record["worst"]
        assert worst["wrong"] and worst["error"] > worst["allowed"]
        # the tail bugs lose every digit; a few lose some, beyond 8 units of ε
        assert worst["ulps"] > (10 if bug_id in LOSES_SOME_DIGITS else 1e6)


def test_the_truth_does_not_depend_on_mpmaths_global_precision() -> None:
    """A right σ'(40) stays right (under an ulp) when another module left mpmath at 5 digits."""
    repro = REPRODUCTIONS["jax-ml/jax#40342"]
    with mpmath.workdps(5):
        (element,) = upstream.judge([4.248354255291589e-18], repro.terms(), repro.inputs)
    assert not element.wrong and element.ulps < 1


def test_no_probe_reproduces_without_an_entry(session_run: tuple[dict[str, Any], str]) -> None:
    """A probe that reproduces on the installed versions is a bug the file does not list yet:
    add its entry (and its gate cases) to oracles/known_upstream.toml."""
    data, _ = session_run
    new = [p["line"] for p in data["probes"] if p["status"] != "not reproduced"]
    assert not new, new


@pytest.mark.parametrize("repro_id", list(REPRODUCTIONS))
def test_a_snippet_calls_only_the_frameworks(repro_id: str) -> None:
    """Pasteable upstream: it imports torch, jax or optax only, and prints one list."""
    tree = ast.parse(REPRODUCTIONS[repro_id].snippet)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported and imported <= FRAMEWORKS, imported
    assert REPRODUCTIONS[repro_id].framework in imported


def test_every_entry_has_a_reproduction_of_its_framework() -> None:
    for bug in BUGS.values():
        assert bug.id in REPRODUCTIONS, f"{bug.id} has no reproduction"
        assert REPRODUCTIONS[bug.id].framework == bug.framework


# --- the truth ---------------------------------------------------------------------------------


def numerical(f: Any, x: float) -> Any:
    """mpmath's own derivative of f at x (numerical, at 60 digits): independent of the terms."""
    with mpmath.workdps(60):
        return mpmath.diff(f, mpmath.mpf(x))


@pytest.mark.parametrize("x", [-745.0, -37.43, 0.5, 19.4, 30.0, 37.43, 40.0])
def test_the_elementwise_truths_are_the_derivatives(x: float) -> None:
    with mpmath.workdps(60):
        (sig,), (tanh,) = upstream.sigmoid_grad([x]), upstream.tanh_grad([x])
        for exact, f in ((sig[0], upstream.sigmoid), (tanh[0], mpmath.tanh)):
            assert mpmath.almosteq(exact, numerical(f, x), rel_eps=mpmath.mpf(10) ** -30)
        for y in (0.0, 1.0, 0.25):
            terms = upstream.bce_logits_grad([x], [y])[0]

            def loss(z: Any, y: float = y) -> Any:
                return -(
                    y * mpmath.log(upstream.sigmoid(z))
                    + (1 - y) * mpmath.log(1 - upstream.sigmoid(z))
                )

            if abs(x) < 40:  # the numerical derivative of the loss itself needs 1 − σ exactly
                assert mpmath.almosteq(
                    mpmath.fsum(terms), numerical(loss, x), rel_eps=mpmath.mpf(10) ** -25
                )


@pytest.mark.parametrize("x", [[40.0, 0.0, -40.0], [1.0, -2.0, 0.5], [745.0, 0.0, 3.0]])
def test_the_softmax_jacobians_are_the_derivatives(x: list[float]) -> None:
    with mpmath.workdps(80):
        s = upstream.softmax(x)
        jac, log_jac = upstream.softmax_jacobian(x), upstream.log_softmax_jacobian(x)
        for j in range(3):
            for i in range(3):

                def sj(v: Any, i: int = i, j: int = j) -> Any:
                    shifted = [mpmath.mpf(x[k]) + (v - x[i] if k == i else 0) for k in range(3)]
                    lse = mpmath.log(mpmath.fsum(mpmath.exp(c) for c in shifted))
                    return shifted[j] - lse

                d_log = mpmath.diff(sj, mpmath.mpf(x[i]))
                assert mpmath.almosteq(log_jac[j][i], d_log, rel_eps=mpmath.mpf(10) ** -30)
                assert mpmath.almosteq(jac[j][i], s[j] * d_log, rel_eps=mpmath.mpf(10) ** -30)


def test_the_verdict_is_eight_units_of_the_term_scale() -> None:
    """1 + (−1 + 1e-10): truth 1e-10, Σ|terms| ≈ 2; 7 units of ε·2 off passes, 9 units fails."""
    with mpmath.workdps(60):
        terms = [[mpmath.mpf(1), mpmath.mpf(-1) + mpmath.mpf(2) ** -33]]
        truth = float(mpmath.fsum(terms[0]))
    unit = eps(float) * 2
    assert TRUTH_UNITS == 8
    (near,) = upstream.judge([truth + 7 * unit], terms, ["x"])
    (far,) = upstream.judge([truth + 9 * unit], terms, ["x"])
    assert not near.wrong and far.wrong
    (exact,) = upstream.judge([truth], terms, ["x"])
    assert exact.error == 0 and exact.ulps == 0


def test_a_flushed_subnormal_is_within_the_bound_and_a_lost_normal_is_not() -> None:
    with mpmath.workdps(60):
        tiny = [[mpmath.mpf(2) ** -1074]]
        small = [[mpmath.mpf(2) ** -1000]]
    assert not upstream.judge([0.0], tiny, ["x"])[0].wrong  # one unit of η
    assert upstream.judge([0.0], small, ["x"])[0].wrong


def test_ulps_and_numbers_read_as_in_the_line() -> None:
    assert upstream.fmt_ulps(9.007e15) == "9.0e15" and upstream.fmt_ulps(0.5) == "0.5"
    assert upstream.fmt(0.0) == "0.0" and upstream.fmt(-5.551115123125783e-17) == "-5.55e-17"


# --- a fixed bug, a snippet that cannot run ----------------------------------------------------


def test_a_fixed_bug_reads_as_not_reproduced() -> None:
    """pytorch#195677's truth, with a snippet computing the gradient as torch would once fixed
    (−σ(−z), no cancellation): judged right, printed "not reproduced ... (fixed?)"."""
    broken = REPRODUCTIONS["pytorch#195677"]
    fixed = Reproduction(
        broken.id,
        broken.framework,
        broken.what,
        broken.inputs,
        "import torch\n"
        "z = torch.tensor([37.43], dtype=torch.float64)\n"
        "print((-torch.sigmoid(-z)).tolist())\n",
        broken.terms,
    )
    outcome = upstream.reproduce(fixed, BUGS[broken.id])
    assert outcome.status == "not reproduced"
    torch = installed_public("torch")
    assert outcome.line().startswith(f"pytorch#195677 not reproduced on torch {torch} (fixed?): ")
    # torch's sigmoid at -37.43 is within an ulp of the truth, not in every process exact
    assert outcome.record()["worst"]["ulps"] < 1


@pytest.mark.parametrize(
    ("snippet", "says"),
    [
        ("raise SystemExit(3)", "exit status 3"),
        ("print('no values')", "not a list of floats"),
        ("print([1 / 0])", "ZeroDivisionError"),
        ("print([1.0, 2.0])", "printed 2 values, the truth has 1"),
    ],
)
def test_a_snippet_that_cannot_be_judged_is_an_error(snippet: str, says: str) -> None:
    repro = Reproduction("torch:x", "torch", "x", ("at 1",), snippet, lambda: [[mpmath.mpf(1)]])
    outcome = upstream.reproduce(repro, None, timeout=60)
    assert outcome.status == "error" and says in (outcome.problem or "")
    assert outcome.line().startswith("probe torch:x could not run on torch ")
    with pytest.raises(CannotRun):
        upstream.judge(upstream.run_snippet(snippet), [[mpmath.mpf(1)]], ["at 1"])


def test_it_exits_2_when_it_cannot_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "upstream.json"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[bug]]\nid = "torch:x"\n', encoding="utf-8")
    assert upstream.main(["--known", str(bad), "--out", str(out)]) == 2
    assert "bug 1 (torch:x): missing framework" in capsys.readouterr().err
    assert not out.exists()
    orphan = tmp_path / "orphan.toml"
    orphan.write_text(
        '[[bug]]\nid = "torch:no-snippet"\nframework = "torch"\nop = "o"\nsummary = "s"\n'
        'versions = ["2.13.0"]\n',
        encoding="utf-8",
    )
    assert upstream.main(["--known", str(orphan), "--out", str(out), "--no-probes"]) == 2
    assert "torch:no-snippet has no reproduction" in capsys.readouterr().out
    assert json.loads(out.read_text())["missing_reproductions"] == ["torch:no-snippet"]


# --- the report's "Framework bugs found" -------------------------------------------------------


def upstream_document() -> dict[str, Any]:
    """harness.upstream's JSON for three hand-judged outcomes, no snippet run: a known bug that
    reproduced, a known bug fixed in a later version (not reproduced), a new bug a probe found."""
    import dataclasses

    def outcome(repro_id: str, values: list[float], bug: Any) -> upstream.Outcome:
        repro = REPRODUCTIONS[repro_id]
        elements = upstream.judge(values, repro.terms(), repro.inputs)
        status = "reproduced" if any(e.wrong for e in elements) else "not reproduced"
        return upstream.Outcome(repro, bug, status, elements)

    fixed = dataclasses.replace(BUGS["jax-ml/jax#40342"], fixed_in="0.11.0")
    bugs = [
        outcome("pytorch#195677", [0.0], BUGS["pytorch#195677"]),
        outcome("jax-ml/jax#40342", [4.248354255291589e-18], fixed),
    ]
    probes = [outcome("torch:logaddexp-backward", [0.0, 4.2e-18, 1.0, 1.0], None)]
    return upstream.document(bugs, probes, [])


def test_the_report_shows_one_row_per_bug_with_its_numbers_link_and_status() -> None:
    from harness import report
    from tests import report_samples

    page = report.render(report_samples.passing(), upstream=upstream_document())
    section = page[page.index('<section id="framework-bugs">') :]
    section = section[: section.index("</section>")]
    assert "<h2>Framework bugs found</h2>" in section and 'href="#framework-bugs"' in page
    rows = section.split("<tr>")[2:]
    assert len(rows) == 3
    first, fixed, new = rows
    assert '<a href="https://github.com/pytorch/pytorch/issues/195677">pytorch#195677</a>' in first
    assert "at logit 37.43, target 1" in first and "<td>0.0</td>" in first
    assert "<td>-5.5508250862537194e-17</td>" in first and "9.01e+15" in first
    assert f"reproduced on torch {installed_public('torch')}" in first
    assert "binary_cross_entropy_with_logits(z, y).backward()" in first  # the snippet
    assert "fixed in 0.11.0 (not reproduced on jax" in fixed
    cells = re.findall(r"<td>([^<]*)</td>", fixed)  # input, value, truth, ulps
    assert cells[0] == "at 40" and float(cells[3]) < 1  # the right value, under an ulp off
    assert "torch:logaddexp-backward" in new and "(new: no entry yet)" in new
    assert "1 of 2 known bugs" in section


def test_the_report_cli_reads_upstream_and_rejects_another_schema(tmp_path: Path) -> None:
    from harness import report
    from tests import report_samples

    results, bugs = tmp_path / "results.json", tmp_path / "upstream.json"
    results.write_text(json.dumps(report_samples.passing()), encoding="utf-8")
    bugs.write_text(json.dumps(upstream_document()), encoding="utf-8")
    out = tmp_path / "index.html"
    assert report.main([str(results), str(out), "--upstream", str(bugs)]) == 0
    assert "Framework bugs found" in out.read_text(encoding="utf-8")
    assert report.main([str(results), str(tmp_path / "plain.html")]) == 0
    assert "Framework bugs found" not in (tmp_path / "plain.html").read_text(encoding="utf-8")
    bugs.write_text(json.dumps({**upstream_document(), "schema": "upstream/0"}), encoding="utf-8")
    assert report.main([str(results), str(out), "--upstream", str(bugs)]) == 2


def test_the_report_session_passes_upstream_when_it_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        with contextlib.chdir(ROOT):
            import noxfile
    finally:
        sys.path.remove(str(ROOT))
    ran: list[tuple[str, ...]] = []

    class Recorder:
        def run(self, *args: str, **_: Any) -> None:
            ran.append(args)

    monkeypatch.chdir(tmp_path)
    noxfile.rerender_report(Recorder())  # type: ignore[arg-type]
    (tmp_path / "reports").mkdir()
    (tmp_path / noxfile.UPSTREAM_JSON).write_text("{}")
    noxfile.rerender_report(Recorder())  # type: ignore[arg-type]
    assert "--upstream" not in ran[0]
    assert ran[1][-2:] == ("--upstream", noxfile.UPSTREAM_JSON)


def test_an_abort_is_the_bug_only_where_the_bug_is_an_abort() -> None:
    """A snippet ended by a signal: "reproduced" for a reproduction whose bug is that abort (its
    line names the signal), an error for any other; right values are a fixed abort."""
    dies = "import os\nos.abort()\n"
    aborting = Reproduction(
        "jax:x", "jax", "x", ("at 1",), dies, lambda: [[mpmath.mpf(1)]], (), True
    )
    outcome = upstream.reproduce(aborting, None, timeout=60)
    assert outcome.status == "reproduced" and "SIGABRT" in outcome.line()
    other = Reproduction("jax:x", "jax", "x", ("at 1",), dies, lambda: [[mpmath.mpf(1)]])
    assert upstream.reproduce(other, None, timeout=60).status == "error"
    fixed = Reproduction(
        "jax:x", "jax", "x", ("at 1",), "print([1.0])", lambda: [[mpmath.mpf(1)]], (), True
    )
    assert upstream.reproduce(fixed, None, timeout=60).status == "not reproduced"


def test_the_conv_gradient_truth_is_the_reference_s_bp2() -> None:
    """jax:conv-grad-abort's truth (windows counted per element) equals the reference's BP2
    through the same convolution on ones, computed independently (exact on integers)."""
    import numpy as np

    from reference import map_equations

    shape, kernel = upstream.CONV_GRAD["x"], upstream.CONV_GRAD["w"]
    s, p = upstream.CONV_GRAD["stride"], upstream.CONV_GRAD["padding"]
    a = np.ones((shape[1], shape[2], shape[3], 1))
    z = map_equations.conv_weighted_input(np.ones(kernel), a, np.zeros((1, 1)), s, p)
    grad = map_equations.conv_backpropagate_error(np.ones(kernel), np.ones_like(z), a, s, p)
    terms = REPRODUCTIONS["jax:conv-grad-abort"].terms()
    assert grad.ravel().tolist() == [float(sum(t)) for t in terms]
