"""JUnit XML with one test case per comparison: ``python -m harness.junit RESULTS.json OUT.xml``.

The gate is one pytest test per architecture with a subtest per comparison, and pytest's own
``--junitxml`` (9.2) folds a test's subtests into its one ``<testcase>``. CI dashboards want a
case per comparison, with the ids the gate had when each comparison was a test of its own, so
this writes them from the results file (or a killed run's parts: harness.parts), as pytest
did: a failure for a failed comparison or an error, ``skipped`` (pytest.skip) for one not
applicable, ``skipped`` (pytest.xfail) for a known upstream bug that fails as expected, and a
failure ``[XPASS(strict)]`` for one that passes. Plain Python (xml.etree) and suite.results.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness import parts
from suite.results import Record, read_records


def case_name(test: str) -> tuple[str, str]:
    """(classname, name) of a record's test id, as pytest's JUnit writes them."""
    path, _, name = test.partition("::")
    return path.removesuffix(".py").replace("/", "."), name


def testcase(rec: Record) -> ET.Element:
    classname, name = case_name(rec.test)
    case = ET.Element("testcase", classname=classname, name=name, time="0")
    if rec.kind == "not_applicable":
        ET.SubElement(case, "skipped", type="pytest.skip", message=f"not applicable: {rec.message}")
    elif rec.kind == "error":
        ET.SubElement(case, "failure", message=rec.message).text = rec.message
    elif rec.known_bug is not None:
        reason = f"{rec.known_bug.get('id')} {rec.known_bug.get('url', '')}".strip()
        if rec.failed():
            message = f"[XPASS(strict)] {reason}"
            ET.SubElement(case, "failure", message=message).text = message
        else:
            ET.SubElement(case, "skipped", type="pytest.xfail", message=reason)
    elif rec.failed():
        message = f"{rec.arch_id}: {rec.quantity} of layer {rec.layer} ({rec.oracle}): error "
        message += f"{rec.max_abs:.3g}, allowed {rec.allowed:.3g} ({rec.ratio:.3g} x)"
        ET.SubElement(case, "failure", message=message).text = message
    return case


def junit(records: Sequence[Record], incomplete: str | None = None) -> ET.ElementTree:
    """The document: one suite, one case per comparison record (verdicts left out)."""
    cases = [testcase(r) for r in sorted(records, key=lambda r: r.test) if r.kind != "verdict"]
    failures = sum(c.find("failure") is not None for c in cases)
    skipped = sum(c.find("skipped") is not None for c in cases)
    suite = ET.Element(
        "testsuite",
        name="pytest",
        errors="1" if incomplete else "0",
        failures=str(failures),
        skipped=str(skipped),
        tests=str(len(cases)),
    )
    if incomplete:  # a killed run: one error case says so
        case = ET.SubElement(suite, "testcase", classname="tests.test_gate", name="run")
        ET.SubElement(case, "error", message=incomplete).text = incomplete
    suite.extend(cases)
    root = ET.Element("testsuites", name="pytest tests")
    root.append(suite)
    return ET.ElementTree(root)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m harness.junit RESULTS.json OUT.xml", file=sys.stderr)
        return 2
    try:
        data = parts.load(Path(args[0]))
        records = read_records(data["records"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"harness.junit: cannot read {args[0]}: {exc!r}", file=sys.stderr)
        return 2
    out = Path(args[1])
    out.parent.mkdir(parents=True, exist_ok=True)
    junit(records, parts.incomplete_line(data["environment"])).write(
        out, encoding="utf-8", xml_declaration=True
    )
    print(f"wrote {out} ({len(records)} cases)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
