"""The margins of a results file: how close each oracle came to its tolerance, as a distribution.

``python -m harness.margins reports/soak.json [--seconds T]`` prints, per (dtype, oracle), the
number of comparisons, failures and errors, quantiles of error/allowed (the margin is 1 / the
largest), the elements left out (an FD step across a relu kink) of all compared, and the
resolution allowed/S (the smallest relative error a comparison can see) with the count of
comparisons that cannot see even a 100% error. Exits 1 if anything failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from suite.results import Record, Tally, by_dtype_and_oracle, read_records, tally

QUANTILES = (0.5, 0.9, 0.99, 0.999)


def margin_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """One row per (dtype, oracle): counts, ratio quantiles and the worst case, resolution."""
    return margin_rows_of(tally(records, by_dtype_and_oracle))


def margin_rows_of(tallies: Mapping[tuple[str, str], Tally]) -> list[dict[str, Any]]:
    """:func:`margin_rows` from the records' tallies per (dtype, oracle), already counted."""
    rows = []
    for (dtype, oracle), t in sorted(tallies.items()):
        r, res = np.array(t.ratios), np.array(t.resolutions)
        quantiles = np.quantile(r, QUANTILES).tolist() if len(r) else [np.nan] * len(QUANTILES)
        rows.append(
            {
                "dtype": dtype,
                "oracle": oracle,
                "comparisons": t.comparisons,
                "failed": t.failed,
                "errors": t.errors,
                "quantiles": dict(zip(QUANTILES, quantiles, strict=True)),
                "max": float(r.max()) if len(r) else np.nan,
                "worst_test": t.worst.test if t.worst is not None else "",
                "excluded": t.excluded,
                "elements": t.elements,
                "comparisons_excluding": t.comparisons_excluding,
                "resolution_median": float(np.nanmedian(res)) if len(res) else np.nan,
                "blind": int(np.sum(res >= 1)),
                "declined": len(t.declined_archs),
            }
        )
    return rows


def margin_table(records: Iterable[Record]) -> str:
    """The rows as text, one line per (dtype, oracle), then each worst case's test id."""
    return margin_table_of(tally(records, by_dtype_and_oracle))


def margin_table_of(tallies: Mapping[tuple[str, str], Tally]) -> str:
    """:func:`margin_table` from the records' tallies per (dtype, oracle)."""
    rows = margin_rows_of(tallies)
    head = ["dtype", "oracle", "comparisons", "failed", "errors"]
    head += [f"p{100 * q:g}" for q in QUANTILES] + ["max ratio", "margin", "res p50", "blind"]
    head += ["excluded", "n/a nets"]
    lines = [head]
    for row in rows:
        lines.append(
            [row["dtype"], row["oracle"], str(row["comparisons"]), str(row["failed"])]
            + [str(row["errors"])]
            + [f"{v:.2g}" for v in row["quantiles"].values()]
            + [f"{row['max']:.3g}", f"{1 / row['max']:.3g}×" if row["max"] > 0 else "inf"]
            + [f"{row['resolution_median']:.2g}", str(row["blind"])]
            + [f"{row['excluded']} of {row['elements']} ({row['comparisons_excluding']} cmp.)"]
            + [str(row["declined"])]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [
        "  ".join(
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    text.insert(1, "-" * len(text[0]))
    text += [f"worst {row['dtype']} {row['oracle']}: {row['worst_test']}" for row in rows]
    text.append(
        "(ratio = max abs error / allowed, ≤ 1 passes; margin = 1 / max ratio; res = allowed / S, "
        "the smallest relative error seen; blind = comparisons with res ≥ 1; excluded = elements "
        "left out, an FD step across a relu kink, of all elements compared; n/a nets = nets the "
        "oracle cannot judge, e.g. the complex step on relu nets: counted, never passed)"
    )
    return "\n".join(text)


def main(argv: list[str]) -> int:
    from harness.parts import load as read

    parser = argparse.ArgumentParser(prog="python -m harness.margins", description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--seconds", type=float, help="wall time of the run, to print")
    args = parser.parse_args(argv)
    data = read(args.results)
    records = read_records(data["records"])
    env = data["environment"]
    archs = len({r.arch_id for r in records})
    timing = f" in {args.seconds:.0f} s ({args.seconds / 60:.1f} min)" if args.seconds else ""
    print(
        f"{archs} architectures (random seed {env.get('random_seed')}, "
        f"{env.get('random_count')} random), {len(records)} records{timing}"
    )
    print(margin_table(records))
    bad = [r for r in records if r.failed()]
    for r in bad[:20]:
        print("FAILED", r.test, r.message)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
