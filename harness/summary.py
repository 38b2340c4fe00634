"""A per-oracle summary table from results records: the worst error/allowed ratio per quantity.

``python -m harness.summary reports/results.json`` prints it; exits 1 if any comparison failed.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from harness import parts
from harness.disagreement import verdicts
from reference import QUANTITIES
from suite.results import Record, by_dtype_and_oracle, oracle_label, read_records, tally


def summary_table(records: list[Record]) -> str:
    """Rows: (dtype, oracle); columns: the worst error/allowed per quantity, comparisons,
    failures, errors, elements left out and comparisons not applicable; then the odd one out of
    every architecture where something failed (harness.disagreement)."""
    groups = tally(records, by_dtype_and_oracle)
    head = ["oracle", *(f"worst {q}" for q in QUANTITIES), "comparisons", "failed", "errors"]
    head += ["excluded", "n/a"]
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
                str(t.declined),
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


def main(argv: list[str]) -> int:
    from harness.parts import load as read

    if len(argv) != 1:
        print("usage: python -m harness.summary RESULTS.json", file=sys.stderr)
        return 2
    if Path(argv[0]).is_file() and not Path(argv[0]).read_bytes().strip():
        print(f"{argv[0]}: empty results file: nothing was checked (failed)")
        return 1
    try:
        data = read(Path(argv[0]))
        records = read_records(data["records"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        print(f"harness.summary: cannot read {argv[0]}: {exc!r}", file=sys.stderr)
        return 2
    if not any(r.kind in ("comparison", "verdict") for r in records):
        print(f"{argv[0]}: no comparisons and no verdicts: nothing was checked (failed)")
        return 1
    for r in records:
        if r.note:
            print(f"{r.test}: {r.note}")
    if any(r.kind in ("comparison", "error", "not_applicable") for r in records):
        print(summary_table(records))
    bad = [r for r in records if r.failed()]
    impls = [r.verdict for r in records if r.kind == "verdict" and r.arch is None]
    if impls:
        labels = Counter(str(v.get("label")) for v in impls)
        counts = ", ".join(f"{label} ×{n}" for label, n in sorted(labels.items()))
        print(
            f"{len(impls)} implementation verdicts ({counts}), {len(bad)} records not as expected"
        )
    incomplete = parts.incomplete_line(data["environment"])
    if incomplete:  # a killed or timed-out run: the table is what finished; the run fails
        print(incomplete)
    return 1 if bad or incomplete else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
