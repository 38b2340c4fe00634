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
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

QUANTILES = (0.5, 0.9, 0.99, 0.999)


def margin_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (dtype, oracle): counts, ratio quantiles and the worst case, resolution."""
    ratios: dict[tuple[str, str], list[float]] = defaultdict(list)
    resolution: dict[tuple[str, str], list[float]] = defaultdict(list)
    worst: dict[tuple[str, str], tuple[float, str]] = {}
    failed: dict[tuple[str, str], int] = defaultdict(int)
    excluded: dict[tuple[str, str], int] = defaultdict(int)  # elements left out (FD kinks)
    elements: dict[tuple[str, str], int] = defaultdict(int)  # elements compared in all
    excluding: dict[tuple[str, str], int] = defaultdict(int)  # comparisons leaving any out
    errors: dict[str, int] = defaultdict(int)
    declined: dict[str, set[str]] = defaultdict(set)  # nets an oracle cannot judge (not applicable)
    for rec in records:
        if rec["kind"] == "error":
            errors[rec["oracle"]] += 1
            continue
        if rec["kind"] == "not_applicable":
            declined[rec["oracle"]].add(rec["arch"]["id"])
            continue
        key = (rec.get("dtype", "float64"), rec["oracle"])
        ratios[key].append(rec["ratio"])
        resolution[key].append(rec.get("resolution", float("nan")))
        failed[key] += not rec["passed"]
        excluded[key] += rec.get("excluded", 0)
        elements[key] += int(np.prod(rec.get("shape", [0])))
        excluding[key] += rec.get("excluded", 0) > 0
        if rec["ratio"] >= worst.get(key, (-1.0, ""))[0]:
            worst[key] = (rec["ratio"], rec["test"])
    rows = []
    for key in sorted(ratios):
        r, res = np.array(ratios[key]), np.array(resolution[key])
        rows.append(
            {
                "dtype": key[0],
                "oracle": key[1],
                "comparisons": len(r),
                "failed": failed[key],
                "errors": errors[key[1]],
                "quantiles": dict(zip(QUANTILES, np.quantile(r, QUANTILES).tolist(), strict=True)),
                "max": float(r.max()),
                "worst_test": worst[key][1],
                "excluded": excluded[key],
                "elements": elements[key],
                "comparisons_excluding": excluding[key],
                "resolution_median": float(np.nanmedian(res)),
                "blind": int(np.sum(res >= 1)),
                "declined": len(declined[key[1]]),
            }
        )
    return rows


def margin_table(records: list[dict[str, Any]]) -> str:
    """The rows as text, one line per (dtype, oracle), then each worst case's test id."""
    rows = margin_rows(records)
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
    from harness.results import read

    parser = argparse.ArgumentParser(prog="python -m harness.margins", description=__doc__)
    parser.add_argument("results", type=Path)
    parser.add_argument("--seconds", type=float, help="wall time of the run, to print")
    args = parser.parse_args(argv)
    data = read(args.results)
    records = data["records"]
    env = data["environment"]
    archs = len({r["arch"]["id"] for r in records})
    timing = f" in {args.seconds:.0f} s ({args.seconds / 60:.1f} min)" if args.seconds else ""
    print(
        f"{archs} architectures (random seed {env.get('random_seed')}, "
        f"{env.get('random_count')} random), {len(records)} records{timing}"
    )
    print(margin_table(records))
    bad = [r for r in records if r["kind"] == "error" or not r.get("passed", True)]
    for r in bad[:20]:
        print("FAILED", r["test"], r.get("message", ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
