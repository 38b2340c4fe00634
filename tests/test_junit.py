"""harness.junit: one JUnit case per comparison, from a results file or a killed run's parts."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from harness import junit
from suite.results import read_records
from tests import report_samples as rs


def cases(data: dict, incomplete: str | None = None) -> dict[str, ET.Element]:
    """The document's cases by name, after checking the suite's counts agree with them."""
    suite = junit.junit(read_records(data["records"]), incomplete).getroot().find("testsuite")
    assert suite is not None
    found = {c.get("name", ""): c for c in suite.iter("testcase")}
    assert int(suite.get("tests", "-1")) == len(found) - (1 if incomplete else 0)
    assert int(suite.get("failures", "-1")) == sum(
        c.find("failure") is not None for c in found.values()
    )
    assert int(suite.get("skipped", "-1")) == sum(
        c.find("skipped") is not None for c in found.values()
    )
    return found


def name(a: dict, oracle: str, tail: str) -> str:
    return junit.case_name(rs.node(a, oracle, tail))[1]


def test_every_comparison_is_a_case_under_the_id_it_had_as_a_test():
    data = rs.passing()
    found = cases(data)
    assert len(found) == len(data["records"])
    case = found[name(rs.DEEP, "jax", "nabla_w-layer3")]
    assert case.get("classname") == "tests.test_gate"
    assert list(case) == []  # passed: no failure, no skip


def test_a_failed_comparison_and_an_error_are_failures_with_their_numbers_or_message():
    failed = cases(rs.with_failures())[name(rs.DEEP, "torch", "nabla_w-layer3")]
    failure = failed.find("failure")
    assert failure is not None and "allowed 1e-12 (3e+06 x)" in failure.get("message", "")
    crashed = cases(rs.with_crash())[name(rs.SMALL, "torch", "delta-layer2")]
    failure = crashed.find("failure")
    assert failure is not None and rs.TORCH_CRASH in failure.get("message", "")


def test_not_applicable_is_skipped_and_a_known_bug_is_an_xfail_until_it_passes():
    data = rs.passing()
    records = data["records"]
    records[0] |= {"kind": "not_applicable", "message": "complex step on relu"}
    records[1] |= {"known_bug": {"id": "torch:x", "url": "https://example.org/1"}}  # passes
    records[2] |= {"known_bug": {"id": "torch:y"}, "max_abs": 1.0, "ratio": 1e12}  # fails
    found = cases(data)
    skipped = found[junit.case_name(records[0]["test"])[1]].find("skipped")
    assert skipped is not None and skipped.get("type") == "pytest.skip"
    xpassed = found[junit.case_name(records[1]["test"])[1]].find("failure")
    assert xpassed is not None and xpassed.get("message", "").startswith("[XPASS(strict)] torch:x")
    xfailed = found[junit.case_name(records[2]["test"])[1]].find("skipped")
    assert xfailed is not None and xfailed.get("type") == "pytest.xfail"


def test_an_incomplete_run_is_an_error_case_that_says_so():
    found = cases(rs.passing(), "INCOMPLETE run: 1 of 2 tests (architectures) finished")
    error = found["run"].find("error")
    assert error is not None and error.get("message", "").startswith("INCOMPLETE run")


def test_the_command_writes_the_file_and_a_malformed_input_exits_2(tmp_path: Path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(rs.with_failures()), encoding="utf-8")
    out = tmp_path / "junit" / "out.xml"
    assert junit.main([str(results), str(out)]) == 0
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "3"
    results.write_text("{not json", encoding="utf-8")
    assert junit.main([str(results), str(out)]) == 2
    assert "cannot read" in capsys.readouterr().err
