"""A per-oracle summary table from results records: the worst error/allowed ratio per quantity.

``python -m harness.summary reports/results.json`` prints it; exits 1 if any comparison failed.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from harness.records import Record, by_dtype_and_oracle, oracle_label, read_records, tally
from reference import QUANTITIES


def summary_table(records: list[Record]) -> str:
    """Rows: (dtype, oracle); columns: the worst error/allowed per quantity, comparisons,
    failures, errors and elements left out."""
    groups = tally(records, by_dtype_and_oracle)
    head = ["oracle", *(f"worst {q}" for q in QUANTITIES), "comparisons", "failed", "errors"]
    head.append("excluded")
    rows = [head]
    for (dtype, oracle), t in sorted(groups.items()):
        rows.append(
            [
                oracle_label(dtype, oracle, (d for d, _ in groups)),
                *(f"{t.worst_by_quantity.get(q, 0.0):.3g}" for q in QUANTITIES),
                str(t.comparisons),
                str(t.failed),
                str(t.errors),
                str(t.excluded),
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
    return (
        "\n".join(lines) + "\n(worst = largest max-abs-error / allowed; a comparison passes at ≤ 1;"
        " excluded = elements an oracle cannot judge, FD across a relu kink: left out, counted)"
    )


def main(argv: list[str]) -> int:
    from harness.results import read

    if len(argv) != 1:
        print("usage: python -m harness.summary RESULTS.json", file=sys.stderr)
        return 2
    records = read_records(read(Path(argv[0]))["records"])
    if any(r.kind in ("comparison", "error") for r in records):  # a checker file has none
        print(summary_table(records))
    bad = [r for r in records if r.failed()]
    verdicts = [r.verdict for r in records if r.kind == "verdict" and r.arch is None]
    if verdicts:
        labels: Counter[str] = Counter()
        for r in verdicts:
            labels[str(r.get("label"))] += 1
        tally = ", ".join(f"{label} ×{n}" for label, n in sorted(labels.items()))
        print(
            f"{len(verdicts)} implementation verdicts ({tally}), {len(bad)} records not as expected"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
