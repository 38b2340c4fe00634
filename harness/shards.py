"""One results file, report and summary from a gate split over machines with pytest-split.

Each shard runs ``pytest tests/test_gate.py --splits N --group k --results shard-k.json`` and
records, in its environment, which group of how many it was and how many comparisons the whole
run's tests make (collected) and its own (selected) (:class:`harness.gate_plugin.Recorder`).
This step checks that the
shards form one run, then writes their records as one results file (the same file an unsharded
run writes, but for the environment), renders the report and prints the summary:

    python -m harness.shards shard-*.json --out reports/results.json --html reports/index.html

Exit status: 0 when every shard is there and every comparison passed; 1 when a shard is missing,
doubled, incomplete or from another run, or any comparison failed; 2 when a file cannot be read.
Only the records' ``test`` ids and counts are read here; reading and writing go through
:mod:`suite.results`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import parts
from suite import results

#: Environment fields every shard of one run must share.
SAME_RUN = ("random_seed", "random_count", "git_commit")


def problems(shards: Sequence[tuple[Path, dict[str, Any]]], expect: int | None) -> list[str]:
    """Why these results files are not the whole of one sharded run (empty: they are)."""
    found: list[str] = []
    infos = []
    for path, data in shards:
        info = data["environment"].get("shard")
        if not info:
            found.append(f"{path}: not a shard (run with --splits N --group k)")
        else:
            infos.append((path, info, data))
    if found or not infos:
        return found or ["no shard given"]
    splits = {info["splits"] for _, info, _ in infos}
    if len(splits) != 1:
        return [f"shards of different splits: {sorted(splits)}"]
    (n,) = splits
    if expect is not None and n != expect:
        found.append(f"shards split {n} ways, expected {expect}")
    groups = [info["group"] for _, info, _ in infos]
    missing = sorted(set(range(1, n + 1)) - set(groups))
    if missing:
        found.append(f"missing shard(s) {', '.join(map(str, missing))} of {n}")
    doubled = sorted({g for g in groups if groups.count(g) > 1})
    if doubled:
        found.append(f"shard(s) given twice: {', '.join(map(str, doubled))}")
    for key in SAME_RUN:
        values = {str(data["environment"].get(key)) for _, _, data in infos}
        if len(values) > 1:
            found.append(f"shards from different runs: {key} {sorted(values)}")
    collected = {info.get("collected") for _, info, _ in infos}
    if len(collected) > 1:
        found.append(f"shards collected different tests: {sorted(map(str, collected))}")
    for path, info, data in infos:
        incomplete = parts.incomplete_line(data["environment"])
        if incomplete:
            found.append(f"{path}: {incomplete}")
        got = len(data["records"])
        if got != info.get("selected"):
            found.append(
                f"{path}: shard {info['group']} selected {info.get('selected')} comparisons but "
                f"recorded {got} (did it stop early?)"
            )
    selected = sum(info.get("selected") or 0 for _, info, _ in infos)
    if not missing and not doubled and len(collected) == 1 and selected != next(iter(collected)):
        found.append(
            f"the shards selected {selected} comparisons of {next(iter(collected))} collected"
        )
    seen: dict[str, Path] = {}
    for path, data in shards:
        for rec in data["records"]:
            if rec["test"] in seen:
                found.append(f"{rec['test']} in both {seen[rec['test']]} and {path}")
                break
            seen[rec["test"]] = path
    return found


def merge(shards: Sequence[tuple[Path, dict[str, Any]]], out: Path) -> None:
    """Write the shards' records as one results file; its environment is the first shard's,
    naming the split instead of one group."""
    ordered = sorted(shards, key=lambda s: s[1]["environment"]["shard"]["group"])
    env = dict(ordered[0][1]["environment"])
    shard = env.pop("shard")
    env["shards"] = {"splits": shard["splits"], "collected": shard.get("collected")}
    records = [
        (rec["test"], {k: v for k, v in rec.items() if k != "test"})
        for _, data in ordered
        for rec in data["records"]
    ]
    results.write(out, records, env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.shards",
        description="Merge the results files of a gate split with pytest-split; render one "
        "report and one summary; fail if a shard is missing or any comparison failed.",
    )
    parser.add_argument("shards", nargs="+", type=Path, help="each shard's --results file")
    parser.add_argument("--out", type=Path, required=True, help="the merged results file")
    parser.add_argument("--html", type=Path, help="also render the report here")
    parser.add_argument("--expect", type=int, help="the number of shards the run was split into")
    args = parser.parse_args(argv)
    shards = []
    for path in args.shards:
        try:
            shards.append((path, parts.load(path)))
        except (OSError, ValueError) as exc:
            print(f"harness.shards: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    found = problems(shards, args.expect)
    for problem in found:
        print(f"harness.shards: {problem}", file=sys.stderr)
    if found:
        return 1
    merge(shards, args.out)
    print(f"harness.shards: {len(shards)} shards merged into {args.out}")
    if args.html:
        from harness import report

        if report.main([str(args.out), str(args.html)]) != 0:
            return 2
    from harness import summary

    return summary.main([str(args.out)])


if __name__ == "__main__":
    sys.exit(main())
