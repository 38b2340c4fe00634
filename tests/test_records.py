"""suite.results: one record type that reads and writes a results record unchanged, and one
aggregation per (dtype, oracle) that the summary table, the margins and the report share."""

from __future__ import annotations

import json

import numpy as np

from errormodel.compare import compare
from harness import margins, report, summary
from reference import Architecture
from suite import results
from suite.results import Record, by_dtype_and_oracle, read_records, tally

ARCH = Architecture((3, 4, 2), "tanh", "quadratic", batch=2)


def comparison(oracle: str, dtype: str, error: float, test: str) -> dict:
    ours = np.ones((4, 3))
    c = compare(ours, ours + error, 1e-3, quantity="nabla_w", layer=2, oracle=oracle)
    return {"test": test, **results.comparison_record(ARCH, c, dtype, (ours, ours + error))}


def error(oracle: str, dtype: str, test: str) -> dict:
    return {"test": test, **results.error_record(ARCH, oracle, f"{oracle} crashed", dtype)}


VERDICT = {
    "label": "PASS",
    "layer": None,
    "message": "",
    "line": "PASS net.py:Net",
    "passed": True,
    "expected": "PASS",
    "as_expected": True,
}
# the same oracle in two dtypes: counts must not mix
RECORDS = [
    comparison("torch", "float64", 1e-4, "a"),
    comparison("torch", "float32", 2e-3, "b"),  # fails
    comparison("torch", "float32", 1e-4, "c"),
    error("torch", "float32", "d"),
    {"test": "e", **results.verdict_record("net.py:Net", VERDICT)},
]


def test_a_record_reads_and_writes_back_unchanged():
    for data in json.loads(json.dumps(RECORDS)):  # as a results file holds them
        assert Record.from_dict(data).to_dict() == data
    assert Record.from_dict(RECORDS[0]).diff_map is not None  # ∂C/∂w keeps its map


def test_counts_are_per_dtype_and_oracle():
    groups = tally(read_records(RECORDS), by_dtype_and_oracle)
    assert set(groups) == {("float64", "torch"), ("float32", "torch")}  # the verdict is no oracle
    f64, f32 = groups["float64", "torch"], groups["float32", "torch"]
    assert (f64.comparisons, f64.failed, f64.errors) == (1, 0, 0)
    assert (f32.comparisons, f32.failed, f32.errors) == (2, 1, 1)
    assert f32.worst is not None and f32.worst.test == "b"


def test_summary_margins_and_report_show_the_same_counts():
    records = read_records(RECORDS)
    rows = {(r["dtype"], r["oracle"]): r for r in margins.margin_rows(records)}
    assert (rows["float32", "torch"]["comparisons"], rows["float32", "torch"]["errors"]) == (2, 1)
    assert (rows["float64", "torch"]["comparisons"], rows["float64", "torch"]["errors"]) == (1, 0)
    table = summary.summary_table(records).splitlines()
    labels = [line.split()[:2] for line in table[2:4]]
    assert labels == [["torch", "(float32)"], ["torch", "(float64)"]]
    # comparisons, failed, errors, excluded, not applicable
    assert table[2].split()[-5:] == ["2", "1", "1", "0", "0"]
    page = report.render({"schema": 1, "environment": {}, "records": RECORDS})
    assert "torch (float32)" in page and "torch (float64)" in page
