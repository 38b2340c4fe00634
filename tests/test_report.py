"""The HTML report, rendered from small hand-made results files: what a reader must find on it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness import report, report_plots, report_views
from harness.cases import build_case, compare_one, oracle_gradients
from harness.gate_ids import GATE_FUNCTION, comparison_id
from harness.report_views import GATE_TEST
from suite import diffmap, results
from suite.architectures import CURATED, curated
from suite.results import Record
from tests import report_samples as rs

GATE = Path(__file__).with_name("test_gate.py")
ROOT = GATE.parent.parent


def grid_ids(page: str) -> list[str]:
    """The architecture ids of the summary grid, top to bottom."""
    grid = page[page.index('id="grid"') : page.index("</table>", page.index('id="grid"'))]
    return re.findall(r'<a href="#a\d+">([^<]+)</a>', grid)


def section(page: str, arch_id: str) -> str:
    """The HTML of one architecture's section."""
    start = page.index(f'<code class="arch-id">{arch_id}</code>')
    return page[start : page.find("</details>", start)]


def test_all_passing_shows_a_pass_verdict_the_grid_and_the_figures():
    page = report.render(rs.passing())
    assert "✓ Passed: all 45 comparisons of 2 architectures" in page
    assert "worst is 0.4 × allowed" in page
    assert "Failed" not in page and 'class="badge fail"' not in page
    assert sorted(grid_ids(page)) == sorted([rs.SMALL["id"], rs.DEEP["id"]])
    assert page.count('<figure class="heatmap">') == 2
    assert page.count('<figure class="norms">') == 2
    # the per-layer table of DEEP: layers 2, 3, 4 with n_l = 4, 4, 3
    deep = section(page, rs.DEEP["id"])
    assert re.findall(r"<tr><th>(\d)</th><td>(\d)</td>", deep) == [
        ("2", "4"),
        ("3", "4"),
        ("4", "3"),
    ]
    assert "5 → 4 → 4 → 3" in deep and "tanh, relu, sigmoid" in deep


def test_the_environment_and_a_rerun_command_are_shown():
    page = report.render(rs.passing())
    for value in rs.ENV.values():
        assert str(value) in page
    # the comparison closest to its allowed error is fd's (0.4; the first of them by test id),
    # a subtest of its architecture's test: the command reruns that test with that oracle
    assert (
        "python -m pytest 'tests/test_gate.py::test_oracle_agrees_with_reference["
        f"{rs.SMALL['id']}]' --random-count 60 --random-seed 7 --oracle fd"
    ) in page.replace("&#39;", "'")


def test_a_rerun_command_names_a_node_the_gate_collects():
    """The command's node is a real test of the gate (not the comparison's id, which is a
    subtest's): pytest collects exactly it."""
    arch = CURATED[1]
    test = f"{GATE_TEST}::{GATE_FUNCTION}[{comparison_id(arch.id, 'fd', 'delta', 2)}]"
    node = report_views.gate_node(Record(test=test, kind="comparison", arch={"id": arch.id}))
    command = [sys.executable, "-m", "pytest", node, "--collect-only", "-q", "--random-count", "0"]
    listed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    assert listed.stdout.splitlines()[0] == node, listed.stdout + listed.stderr


@pytest.mark.parametrize("oracle", ["torch", "jax", "fd"])
def test_each_failure_shows_the_gates_message_and_its_rerun_command(oracle):
    deep = section(report.render(rs.with_failures()), rs.DEEP["id"])
    # allowed 1e-12, error 3e6 × allowed, at (2, 1): the gate's one-line message
    assert (
        f"nabla_w of layer 3 ({oracle} vs reference): max abs error 3.00e-06 at (2, 1), "
        "max rel error 6.00e-06, allowed 1.00e-12 (error/allowed 3e+06)"
    ) in deep
    assert f'<code class="subtest">{rs.DEEP["id"]}-{oracle}-nabla_w-layer3</code>' in deep


def test_failures_come_first_with_their_numbers_and_commands():
    page = report.render(rs.with_failures())
    assert "✗ Failed: 3 of 45 comparisons exceed their allowed error" in page
    assert grid_ids(page) == [rs.DEEP["id"], rs.SMALL["id"]]
    deep = section(page, rs.DEEP["id"])
    assert deep.count('<td class="fail') == 3
    assert page.index('id="a0" open') < page.index(rs.DEEP["id"] + "</code>")
    # the heatmap is of the failing ∂C/∂w^3, titled with its numbers
    assert "∂C/∂w³: |reference − " in deep and "3e+06 × allowed" in deep


def test_a_crashed_oracle_and_a_malformed_architecture_are_shown_once_each():
    page = report.render(rs.with_crash())
    assert "✗ Failed: 0 of" in page
    assert "9 more could not be made (4 architecture × oracle cases errored)" in page
    assert grid_ids(page) == [rs.SMALL["id"], rs.MALFORMED["id"], rs.DEEP["id"]]
    small = section(page, rs.SMALL["id"])
    assert small.count(rs.TORCH_CRASH) == 1 and "(6 comparisons)" in small
    malformed = section(page, rs.MALFORMED["id"])
    assert malformed.count(rs.MALFORMED_MESSAGE) == 3  # once per oracle
    assert f'<code class="subtest">{rs.MALFORMED["id"]}-jax-malformed</code>' in malformed
    assert '<td class="error">error</td>' in page


def test_excluded_elements_are_shown_only_when_recorded():
    assert "excluded" not in report.render(rs.passing()).lower()
    data = rs.passing()
    for rec in data["records"]:
        if rec["oracle"] == "fd" and rec["arch"] is rs.DEEP:
            rec["excluded"] = 5
    page = report.render(data)
    assert "45</b>FD elements excluded" in page  # 9 comparisons × 5
    assert "5 elements excluded (perturbation crossed a ReLU kink)" in page


def test_figures_are_bounded_and_passing_sections_collapsed():
    data = rs.with_failures()
    page = report.render(data, figures=1)
    assert page.count('<figure class="heatmap">') == 1
    assert "Figures and hover details are drawn for the first 1 of 2 architectures" in page
    assert 'id="a1">' in page  # the passing architecture's section is not open


def test_the_heatmap_is_drawn_from_the_pooled_map_of_a_wide_layer():
    a = rs.WIDE
    rec = rs.comparison(a, "jax", "nabla_w", 2, 0.5, wrong=(69, 0))
    assert rec["diff_map"]["pooled"] == [24, 20] and rec["diff_map"]["block"] == [3, 2]
    page = report.render(rs.results([rec]))
    assert "pixel = max of 3×2" in page


def test_the_page_is_self_contained_and_deterministic():
    data = rs.with_failures()
    page = report.render(data)
    assert page == report.render(data)
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "url(http" not in page and "@import" not in page


def test_the_renderer_imports_neither_pytest_nor_the_oracles(tmp_path):
    source = tmp_path / "results.json"
    source.write_text(json.dumps(rs.with_crash()))
    probe = (
        "import sys\nfrom harness import report\n"
        f"assert report.main([{str(source)!r}, {str(tmp_path / 'out.html')!r}]) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'pytest', '_pytest', 'torch', 'jax', 'oracles', 'reference'}))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "out.html").read_text().startswith("<!DOCTYPE html>")


def test_the_command_line_writes_the_page_and_names_a_bad_file(tmp_path, capsys):
    good, bad = tmp_path / "results.json", tmp_path / "old.json"
    good.write_text(json.dumps(rs.passing()))
    bad.write_text(json.dumps({"schema": 0, "records": []}))
    assert report.main([str(good), str(tmp_path / "out" / "index.html")]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "out" / "index.html").stat().st_size > 10_000
    assert report.main([str(bad), str(tmp_path / "x.html")]) == 2
    assert "results schema 0" in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (70, 40), (30, 784)])
def test_the_diff_map_keeps_the_largest_difference_where_it_is(shape):
    reference = np.zeros(shape)
    other = np.full(shape, 1e-16)
    j, k = shape[0] - 1, shape[1] // 2
    other[j, k] = 3e-9
    entry = diffmap.encode(reference, other)
    values = diffmap.decode(entry)
    assert max(values.shape) <= diffmap.MAX_SIDE
    block = entry["block"]
    assert np.unravel_index(values.argmax(), values.shape) == (j // block[0], k // block[1])
    assert values.max() == pytest.approx(3e-9, rel=1e-12)
    if values.size > 1:  # 1e-16 is 7.5 decades below the top: kept to within 0.03 decades
        smallest = values[values > 0].min()
        assert abs(np.log10(smallest / 1e-16)) < 0.03


def test_the_diff_map_of_equal_matrices_is_empty():
    entry = diffmap.encode(np.ones((4, 3)), np.ones((4, 3)))
    assert entry["max"] == 0 and not diffmap.decode(entry).any()


def test_gate_records_carry_what_the_report_draws():
    arch = curated("2-3-1_sigmoid_quadratic_m4_s0")  # ∂C/∂w^2 is 3×2
    case = build_case(arch)
    theirs = oracle_gradients(arch, "jax")
    for quantity in ("delta", "nabla_w"):
        comparison = compare_one(case, theirs, "jax", quantity, 2)
        ours = case.reference.get(quantity, 2)
        rec = results.comparison_record(
            arch, comparison, "float64", (ours, theirs.get(quantity, 2))
        )
        assert rec["reference_norm"] == pytest.approx(np.sqrt((ours**2).sum()))
        assert ("diff_map" in rec) == (quantity == "nabla_w")
    assert rec["diff_map"]["shape"] == [3, 2]
    assert rec["diff_map"]["max"] == pytest.approx(comparison.max_abs)


def test_a_gate_run_renders_with_its_heatmaps(pytester, monkeypatch):
    """End to end: the gate's own results file, then the page."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # this checkout's harness, whatever is installed
    pytester.makeconftest(
        "from suite.architectures import CURATED, MAPS, TAILS, TRUTH_SAMPLE\n"
        "from reference import Architecture\n"
        "CURATED[:] = [Architecture((3, 5, 2), 'tanh', batch=2), Architecture((2, 0))]\n"
        "TAILS[:] = TRUTH_SAMPLE[:] = MAPS[:] = []  # no truth comparisons, no maps\n"
    )
    pytester.makepyfile(test_gate=GATE.read_text())
    out = pytester.path / "results.json"
    result = pytester.runpytest_subprocess(
        "-p",
        "harness.gate_plugin",
        "--random-count",
        "0",
        "--oracle",
        "jax",
        "--results",
        str(out),
        "-q",
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # 2 tests: one of them has a failed subtest
    result.stdout.fnmatch_lines(["cross-validation gate: 7 comparisons, 6 passed, 1 failed*"])
    page = report.render(json.loads(out.read_text()))
    assert "could not be made" in page and "malformed architecture 2-0_sigmoid" in page
    assert '<figure class="heatmap">' in page and '<figure class="norms">' in page
    assert grid_ids(page) == ["2-0_sigmoid_quadratic_m1_s0", "3-5-2_tanh_quadratic_m2_s0"]


def test_implementation_verdicts_are_shown_with_their_diagnosis():
    def verdict(impl: str, label: str, expected: str, layer: int | None) -> dict:
        line = f"{'PASS' if label == 'PASS' else 'FAIL ' + label} {impl}: diagnosis of {impl}"
        return {
            "kind": "verdict",
            "impl": impl,
            "arch": None,
            "label": label,
            "layer": layer,
            "line": line,
            "passed": label == "PASS",
            "expected": expected,
            "as_expected": label == expected,
        }

    data = rs.results([])
    data["records"] = [
        verdict("Network", "PASS", "PASS", None),
        verdict("StepUphill", "SGD", "SGD", 3),
        verdict("Missed", "PASS", "BP2", None),
    ]
    page = report.render(data)
    section = page[page.index('<section id="implementations">') :]
    section = section[: section.index("</section>")]
    assert section.count("<tr class=") == 3
    assert "FAIL SGD StepUphill: diagnosis of StepUphill" in section
    assert '<tr class="fail"><td><code>Missed</code></td><td>BP2</td>' in section
    assert 'id="implementations"' not in report.render(rs.passing())


def test_a_softmax_architecture_is_shown_like_any_other():
    """The gate's real records of a softmax-output net: in the grid, with its section, its
    activations, its log-likelihood cost and its ∂C/∂w heatmaps."""
    arch = curated("3-4-3_tanh,softmax_log_likelihood_m4_s0")
    case, records = build_case(arch), []
    for oracle in ("torch", "jax", "fd"):
        theirs = oracle_gradients(arch, oracle)
        for quantity, layer, ours in case.reference.items():
            comparison = compare_one(case, theirs, oracle, quantity, layer)
            rec = results.comparison_record(
                arch, comparison, "float64", (ours, theirs.get(quantity, layer))
            )
            records.append(
                {"test": rs.node(rec["arch"], oracle, f"{quantity}-layer{layer}"), **rec}
            )
    page = report.render(rs.results(records))
    assert grid_ids(page) == [arch.id]
    assert "✓ Passed: all 18 comparisons of 1 architectures" in page
    shown = section(page, arch.id)
    assert "tanh, softmax" in shown and "log_likelihood" in shown
    assert shown.count('<figure class="heatmap">') == 1


def test_a_net_whose_every_delta_is_zero_gets_its_norm_plot_without_a_warning():
    # (1, 1, 1, 1) with weights ×30: every σ' rounds to 0, so ‖δ^l‖ and every |Δδ^l| are 0; a log
    # axis warns there, and the suite turns warnings into errors
    from harness import report_plots

    svg = report_plots.delta_norms([2, 3, 4], [0.0, 0.0, 0.0], {"torch": [0.0, 0.0, 0.0]}, "z")
    assert "<svg" in svg


def test_the_histogram_spans_the_decades_the_ratios_occupy():
    """One ratio of 1e-297 among thousands between 1e-6 and 0.3 (the default gate's shape) must not
    stretch the axis over 300 decades; it goes to the first bin, and the top stays above 1."""
    rng = np.random.default_rng(0)
    bulk = list(10 ** rng.uniform(-6, np.log10(0.3), 2000))
    low, high = report_plots.ratio_decades([0.0, 5e-297, *bulk])
    assert -7 <= low <= -5
    assert high == 1
    assert report_plots.ratio_decades([]) == (-6, 1)
    assert report_plots.ratio_decades([3e5]) == (-1, 6)  # the allowed line (1) stays in view
