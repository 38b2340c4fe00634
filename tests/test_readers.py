"""The readers (harness.summary, harness.report) judge by the numbers, never a stored flag."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import parts, report
from suite import results
from suite.results import Record

BASELINE = Path("/work/baseline/results.json")


def comparison(**over: Any) -> dict[str, Any]:
    rec = {
        "test": "t[net-torch]", "kind": "comparison", "arch": {"id": "net"}, "oracle": "torch",
        "dtype": "float64", "quantity": "nabla_w", "layer": 1, "passed": True, "ratio": 0.5,
        "max_abs": 1e-15, "max_rel": 1e-16, "allowed": 2e-15, "shape": [2, 2],
    }  # fmt: skip
    return rec | over


def write(tmp_path: Path, recs: list[dict[str, Any]]) -> Path:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"schema": results.SCHEMA, "environment": {}, "records": recs}))
    return path


def summary(path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "harness.summary", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_a_forged_passed_flag_reads_as_failed_with_a_note():
    rec = Record.from_dict(comparison(ratio=3e6, max_abs=6e-9, allowed=2e-15, passed=True))
    assert rec.failed() and not rec.passed
    assert "results file says passed, but error 3e+06 × allowed" in rec.note
    honest = Record.from_dict(comparison())
    assert not honest.failed() and not honest.note


def test_a_forged_failed_flag_on_a_good_comparison_is_noted():
    rec = Record.from_dict(comparison(passed=False))
    assert rec.passed and "results file says failed" in rec.note


def test_a_known_bug_keeps_its_strict_xfail_meaning_by_the_numbers():
    bug = {"id": "jax:x", "url": "u"}
    failing = Record.from_dict(comparison(ratio=22, max_abs=4.4e-14, known_bug=bug, passed=True))
    assert not failing.failed()  # fails, as the known bug says it must
    fixed = Record.from_dict(comparison(known_bug=bug, passed=False))
    assert fixed.failed()  # passes: the bug is fixed upstream, the strict xfail fails


def test_a_forged_verdict_reads_as_not_as_expected():
    forged = {"test": "impl", "kind": "verdict", "arch": None, "impl": "m", "label": "BP1",
              "expected": "PASS", "passed": True, "as_expected": True}  # fmt: skip
    rec = Record.from_dict(forged)
    assert rec.failed() and rec.verdict["passed"] is False and "as_expected" in rec.note
    mutant = forged | {"expected": "BP1", "passed": False, "as_expected": False}
    assert not Record.from_dict(mutant).failed()


def test_summary_shows_a_forged_record_as_failed(tmp_path):
    path = write(tmp_path, [comparison(), comparison(ratio=3e6, max_abs=6e-9, passed=True)])
    out = summary(path)
    assert out.returncode == 1
    assert "results file says passed, but error 3e+06 × allowed" in out.stdout


@pytest.mark.skipif(not BASELINE.is_file(), reason="no baseline results file on this machine")
def test_report_shows_a_forged_record_as_failed():
    data = parts.load(BASELINE)
    first = data["records"][0]["arch"]["id"]
    recs = [r for r in data["records"] if (r.get("arch") or {}).get("id") == first]
    forged = [dict(r) for r in recs if r["kind"] == "comparison"][:1]
    forged[0] |= {"max_abs": forged[0]["allowed"] * 3e6, "ratio": 3e6, "passed": True}
    page = report.render(data | {"records": recs + forged}, figures=0)
    assert "✗ Failed: 1 of" in page and "results file says passed, but error 3e+06" in page


@pytest.mark.parametrize("text", ["", '{"schema": 1, "environment": {}, "records": []}'])
def test_an_empty_results_file_is_a_failure(tmp_path, text):
    path = tmp_path / "results.json"
    path.write_text(text)
    out = summary(path)
    assert out.returncode == 1 and "nothing was checked" in out.stdout
    if text:
        assert "nothing was checked" in report.render(json.loads(text))


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        '{"records": []}',  # no schema
        "[1, 2]",
        json.dumps({"schema": 1, "records": [{"kind": "comparison"}]}),
        json.dumps({"schema": 1, "records": [comparison(ratio="big")]}),
        json.dumps({"schema": 1, "records": [comparison(passed="yes")]}),
        json.dumps({"schema": 1, "records": [comparison()]}).replace("0.5", "NaN"),
        json.dumps({"schema": 1, "records": [comparison(kind="weird")]}),
    ],
)
@pytest.mark.parametrize("reader", ["summary", "report"])
def test_a_malformed_file_is_one_line_and_exit_2(tmp_path, text, reader):
    path = tmp_path / "results.json"
    path.write_text(text)
    cmd = [sys.executable, "-m", f"harness.{reader}", str(path)]
    cmd += [str(tmp_path / "out.html")] if reader == "report" else []
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.skipif(not BASELINE.is_file(), reason="no baseline results file on this machine")
def test_a_real_gate_file_reads_as_before():
    data = parts.load(BASELINE)
    recs = results.read_records(data["records"])
    assert recs and not any(r.note for r in recs)
    stored = [r["passed"] for r in data["records"] if r.get("kind") == "comparison"]
    derived = [r.passed for r in recs if r.kind == "comparison"]
    assert derived == stored
