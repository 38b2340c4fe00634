"""A per-oracle summary table from results records: the worst error/allowed ratio per quantity.

``python -m harness.summary reports/results.json`` prints it; exits 1 if any comparison failed.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from harness.disagreement import verdicts
from reference import QUANTITIES


def summary_table(records: list[dict[str, Any]]) -> str:
    """Rows: oracle; columns: the worst error/allowed per quantity, comparisons, failures."""
    worst: dict[tuple[str, str], float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    failed: dict[str, int] = defaultdict(int)
    errors: dict[str, int] = defaultdict(int)
    excluded: dict[str, int] = defaultdict(int)  # elements an oracle could not judge (FD kinks)
    declined: dict[str, int] = defaultdict(int)  # comparisons an oracle cannot make on a net
    for rec in records:
        if rec["kind"] not in ("comparison", "error", "not_applicable"):  # e.g. checker verdicts
            continue
        oracle = rec["oracle"]
        if rec["kind"] == "error":
            errors[oracle] += 1
            continue
        if rec["kind"] == "not_applicable":
            declined[oracle] += 1
            continue
        count[oracle] += 1
        failed[oracle] += not rec["passed"]
        excluded[oracle] += rec.get("excluded", 0)
        worst[oracle, rec["quantity"]] = max(worst[oracle, rec["quantity"]], rec["ratio"])
    head = ["oracle", *(f"worst {q}" for q in QUANTITIES), "comparisons", "failed", "errors"]
    head += ["excluded", "n/a"]
    rows = [head]
    for oracle in sorted(set(count) | set(errors) | set(declined)):
        rows.append(
            [
                oracle,
                *(f"{worst[oracle, q]:.3g}" for q in QUANTITIES),
                str(count[oracle]),
                str(failed[oracle]),
                str(errors[oracle]),
                str(excluded[oracle]),
                str(declined[oracle]),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    odd = [f"{arch}: {line}" for arch, line in verdicts(records).items()]
    return (
        "\n".join(lines) + "\n(worst = largest max-abs-error / allowed; a comparison passes at ≤ 1;"
        " excluded = elements an oracle cannot judge, FD across a relu kink: left out, counted;"
        " n/a = comparisons an oracle cannot make, the complex step on a relu net: counted)"
        + "".join(f"\n{line}" for line in odd)
    )


def is_failure(rec: dict[str, Any]) -> bool:
    """A crashed case, a failed comparison, or a checker verdict other than the one expected
    (``as_expected`` None: a mutant's single case, judged only in the mutant's overall record)."""
    if rec["kind"] == "verdict":
        return rec.get("as_expected", rec["passed"]) is False
    if rec["kind"] == "not_applicable":  # counted and shown as such (the table's n/a), not failed
        return False
    return rec["kind"] == "error" or not rec["passed"]


def main(argv: list[str]) -> int:
    from harness.results import read

    if len(argv) != 1:
        print("usage: python -m harness.summary RESULTS.json", file=sys.stderr)
        return 2
    records = read(Path(argv[0]))["records"]
    if any(r["kind"] in ("comparison", "error", "not_applicable") for r in records):
        print(summary_table(records))
    bad = [r for r in records if is_failure(r)]
    impls = sum(r["kind"] == "verdict" and r.get("arch") is None for r in records)
    if impls:
        print(f"{impls} implementation verdicts, {len(bad)} records not as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
