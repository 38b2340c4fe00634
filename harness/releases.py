"""The release matrix (issue 23): which torch and jax releases compute the gradients right.

Pure parts only: the releases ``nox -s releases`` knows and the parsing of its arguments, the
rows of one release's JSON (reports/releases/<framework>-<version>.json, written by
:mod:`harness.release_run`), the cross-release table with its regressions, and the known-bugs
entries whose ``versions`` disagree with what was measured. ``python -m harness.releases``
reads every release JSON, prints the table and the disagreements, and writes
reports/releases.html with the report's Jinja2 environment. It never edits the known-bugs file.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.gate_ids import comparison_of  # stdlib only

if TYPE_CHECKING:  # noxfile imports this module with nox's Python alone: stdlib only at run time
    from oracles.known_upstream import KnownBug

SCHEMA = 1
OUT_DIR = Path("reports/releases")
HTML = Path("reports/releases.html")

#: Every release the matrix runs, one line each: add a release by adding its spec here.
#: jax: the last 0.9 release (where jax-ml/jax#40342 was reported), 0.10.1 (before
#: jax-ml/jax#39103) and 0.10.2 (the project's jax). torch: 2.13.0 (the project's +cpu pin) and
#: 2.14.1, the newest this machine's index serves (a CUDA build; see the README for its cost).
RELEASES: tuple[str, ...] = (
    "jax==0.9.2",
    "jax==0.10.1",
    "jax==0.10.2",
    "torch==2.13.0",
    "torch==2.14.1",
)
FRAMEWORKS = ("jax", "torch")
#: The other framework in a release's environment stays at the project's pin (the gate imports
#: both): torch 2.13.0 beside each jax release, jax 0.10.2 beside each torch release.
COMPANIONS = {"jax": ("torch==2.13.0",), "torch": ("jax==0.10.2", "jaxlib==0.10.2")}
_SPEC = re.compile(r"^(?P<framework>[a-z]+)==(?P<version>\d+(?:\.\d+)*)$")


class ReleaseError(ValueError):
    """A release argument that names no framework release; the message is one line."""


@dataclass(frozen=True, order=True)
class Release:
    """One framework release: ``jax==0.10.1``."""

    framework: str
    version: str

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        return self.framework, release_tuple(self.version)

    @property
    def name(self) -> str:
        """The column and file name: ``jax-0.10.1``."""
        return f"{self.framework}-{self.version}"

    @property
    def spec(self) -> str:
        return f"{self.framework}=={self.version}"

    def requirements(self) -> list[str]:
        """What pip installs for it: jax with the matching jaxlib, or torch."""
        if self.framework == "jax":
            return [f"jax=={self.version}", f"jaxlib=={self.version}"]
        return [f"torch=={self.version}"]

    def environment(self) -> list[str]:
        """Everything pip installs beside the project: the release and its companions."""
        return [*self.requirements(), *COMPANIONS[self.framework]]


def release_tuple(version: str) -> tuple[int, ...]:
    """ "2.13.0+cpu" -> (2, 13, 0): the public release, for ordering."""
    found = re.match(r"\d+(?:\.\d+)*", version)
    if found is None:
        raise ReleaseError(f"{version!r} is not a version")
    return tuple(int(p) for p in found[0].split("."))


def parse_release(spec: str) -> Release:
    """``jax==0.10.1`` -> Release("jax", "0.10.1"); a bad spec raises ReleaseError."""
    found = _SPEC.match(spec.strip())
    if found is None:
        raise ReleaseError(f"release {spec!r}: expected FRAMEWORK==VERSION, e.g. jax==0.10.1")
    if found["framework"] not in FRAMEWORKS:
        raise ReleaseError(f"release {spec!r}: framework must be one of {', '.join(FRAMEWORKS)}")
    return Release(found["framework"], found["version"])


def select(args: Sequence[str], known: Sequence[str] = RELEASES) -> list[Release]:
    """The releases a session's arguments name (all known ones when none), in matrix order.

    ``jax`` alone names every known jax release; ``jax==0.10.1`` one release (also one not in
    the list, so a new release can be tried before it is added)."""
    releases = [parse_release(s) for s in known]
    if not args:
        return releases
    chosen: list[Release] = []
    for arg in args:
        if arg in FRAMEWORKS:
            picked = [r for r in releases if r.framework == arg]
        else:
            picked = [parse_release(arg)]
        chosen += [r for r in picked if r not in chosen]
    return chosen


# --- One release's rows --------------------------------------------------------------------------


def family_of(arch_id: str, tails: Iterable[str], curated: Iterable[str]) -> str:
    """The gate family of an architecture id: tails, curated, softmax (curated or random nets
    with a softmax layer) or random."""
    if arch_id in set(tails):
        return "tails"
    if "softmax" in arch_id:
        return "softmax"
    return "curated" if arch_id in set(curated) else "random"


def ratio(record: Mapping[str, Any]) -> float:
    """error / allowed, recomputed from the record (never its stored passed flag)."""
    error, allowed = float(record["max_abs"]), float(record["allowed"])
    if allowed > 0:
        return error / allowed
    return 0.0 if error == 0 else float("inf")


def gate_checks(
    records: Iterable[Mapping[str, Any]],
    framework: str,
    tails: Iterable[str],
    curated: Iterable[str],
) -> list[dict[str, Any]]:
    """One row per (family, quantity, path) from the gate's results records of ``framework``:
    the worst comparison (largest error/allowed), its ulps against the truth where the truth
    judged it, its case, and the known bug it matches. Path "grad vs truth" is the framework
    against oracles/exact.py; "grad vs reference" against the reference with its error model."""
    tails, curated = set(tails), set(curated)
    worst: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rec in records:
        if rec.get("kind") != "comparison" or rec.get("oracle") not in (
            framework,
            f"{framework}~exact",
        ):
            continue
        path = "grad vs truth" if str(rec["oracle"]).endswith("~exact") else "grad vs reference"
        key = (family_of(rec["arch"]["id"], tails, curated), str(rec["quantity"]), path)
        row = check_row(
            *key,
            ratio(rec),
            (rec.get("worst") or {}).get("ulps"),
            comparison_of(str(rec.get("test", ""))),
        )
        if rec.get("known_bug") and row["ratio"] > 1:
            row["known_bug"] = dict(rec["known_bug"])
        if key not in worst or _worse(row, worst[key]):
            worst[key] = row
    return [worst[k] for k in sorted(worst)]


def check_row(
    family: str,
    quantity: str,
    path: str,
    error_ratio: float,
    ulps: float | None,
    case: str,
    known_bug: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "family": family,
        "quantity": quantity,
        "path": path,
        "ratio": error_ratio,
        "ulps": ulps,
        "case": case,
        "known_bug": dict(known_bug) if known_bug else None,
    }


def _worse(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """a is the worse row: a larger error/allowed; at a tie, an unexplained failure first."""
    return (a["ratio"], a["known_bug"] is None) > (b["ratio"], b["known_bug"] is None)


# --- The table ----------------------------------------------------------------------------------


def load_release(path: Path) -> dict[str, Any]:
    """One release JSON; a malformed one raises ReleaseError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        Release(data["framework"], data["version"])
        if not isinstance(data["checks"], list):
            raise TypeError("checks is not a list")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReleaseError(f"{path}: not a release result ({exc})") from None
    if not isinstance(data, dict):
        raise ReleaseError(f"{path}: not a release result")
    return data


def _ordered(docs: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(docs, key=lambda d: Release(d["framework"], d["version"]).key)


def build_table(docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Rows = checks (family, quantity, path) per framework, columns = releases (oldest first
    within each framework); a cell is that release's row, or None where it was not run.
    ``regressions`` lists each row passing in an older release and failing in a newer one."""
    ordered = _ordered(docs)
    columns = [Release(d["framework"], d["version"]) for d in ordered]
    cells: dict[tuple[str, str, str, str], dict[str, Mapping[str, Any]]] = {}
    for doc, release in zip(ordered, columns, strict=True):
        for row in [*doc["checks"], *reproduction_rows(doc)]:
            key = (release.framework, row["family"], row["quantity"], row["path"])
            cells.setdefault(key, {})[release.name] = row
    rows = [
        {
            "framework": k[0],
            "family": k[1],
            "quantity": k[2],
            "path": k[3],
            "cells": [cells[k].get(c.name) if c.framework == k[0] else None for c in columns],
        }
        for k in sorted(cells)
    ]
    return {
        "columns": [c.name for c in columns],
        "rows": rows,
        "regressions": regressions(rows, columns),
    }


#: The family of the known bugs' standalone reproductions (harness.upstream) in the table.
REPRODUCTIONS = "known bugs"


def reproduction_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A row per known bug's reproduction that ran (its worst element against the truth), so a
    bug outside the gate's own programs (a forward value, say) shows per release too."""
    return [
        check_row(
            REPRODUCTIONS,
            str(o["id"]),
            "reproduction",
            float(o["ratio"]),
            float(o["ulps"]),
            str(o.get("case", o["id"])),
            {"id": o["id"], "url": o.get("url")},
        )
        for o in doc.get("upstream", [])
        if isinstance(o, Mapping) and "ratio" in o and "ulps" in o
    ]


def regressions(rows: Sequence[Mapping[str, Any]], columns: Sequence[Release]) -> list[str]:
    """One line per row right (error ≤ bound) in a release and wrong in a later one: the last
    release right before the first wrong after it (where the regression came in)."""
    found = []
    for row in rows:
        passed_in: Release | None = None
        for release, cell in zip(columns, row["cells"], strict=True):
            if cell is None:
                continue
            if cell["ratio"] <= 1:
                passed_in = release
            elif passed_in is not None:
                bug = cell.get("known_bug")
                tag = f" (known: {bug['id']})" if bug else ""
                found.append(
                    f"{row['framework']} {row['family']} {row['quantity']} {row['path']}: right "
                    f"on {passed_in.version}, wrong on {release.version} "
                    f"({cell_text(cell)}, case {cell['case']}){tag}"
                )
                break
    return found


def cell_text(cell: Mapping[str, Any] | None) -> str:
    """What a cell shows: the worst error in ulps against the truth, else error/allowed."""
    if cell is None:
        return "-"
    if cell.get("ulps") is not None:
        return f"{float(cell['ulps']):.3g} ulp"
    return f"{float(cell['ratio']):.2g}×bound"


def cell_class(cell: Mapping[str, Any] | None) -> str:
    if cell is None:
        return "na"
    if cell["ratio"] <= 1:
        return "ok"
    return "known" if cell.get("known_bug") else "bad"


def summary(table: Mapping[str, Any]) -> str:
    """The table for the terminal: one line per row, a mark after each failing cell (! wrong,
    K a known upstream bug)."""
    columns = table["columns"]
    head = ["framework family quantity path".ljust(62), *(c.rjust(16) for c in columns)]
    lines = ["".join(head)]
    for row in table["rows"]:
        label = f"{row['framework']} {row['family']} {row['quantity']} {row['path']}"
        cells = []
        for cell in row["cells"]:
            mark = {"ok": " ", "na": " ", "known": "K", "bad": "!"}[cell_class(cell)]
            cells.append(f"{cell_text(cell)}{mark}".rjust(16))
        lines.append(label.ljust(62) + "".join(cells))
    if table["regressions"]:
        lines.append("REGRESSIONS:")
        lines += [f"  {r}" for r in table["regressions"]]
    else:
        lines.append("no regressions between the releases run")
    return "\n".join(lines)


# --- The known-bugs file against the measurements --------------------------------------------


def disagreements(bugs: Iterable[KnownBug], docs: Iterable[Mapping[str, Any]]) -> list[str]:
    """One line per known-bugs entry whose ``versions`` disagree with a release's reproduction:
    reproduced on a release the entry does not list, or not reproduced on one it lists."""
    by_id = {b.id: b for b in bugs}
    lines = []
    for doc in _ordered(docs):
        version = doc["version"]
        for outcome in doc.get("upstream", []):
            bug = by_id.get(outcome["id"])
            if bug is None or bug.framework != doc["framework"]:
                continue
            listed = version in bug.versions
            if outcome["status"] == "reproduced" and not listed:
                lines.append(
                    f"{bug.id}: reproduced on {doc['framework']} {version}, "
                    f"which its versions {list(bug.versions)} do not list"
                )
            elif outcome["status"] == "not reproduced" and listed:
                lines.append(
                    f"{bug.id}: not reproduced on {doc['framework']} {version}, "
                    f"which its versions {list(bug.versions)} list"
                )
    return lines


def render_html(table: Mapping[str, Any], notes: Sequence[str], path: Path) -> None:
    """reports/releases.html from templates/releases.html.j2 (the report's Jinja environment)."""
    from harness.report import jinja_environment

    page = (
        jinja_environment()
        .get_template("releases.html.j2")
        .render(table=table, notes=notes, cell_text=cell_text, cell_class=cell_class)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    from oracles import known_upstream

    parser = argparse.ArgumentParser(
        prog="python -m harness.releases",
        description="The cross-release table from reports/releases/*.json.",
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--html", type=Path, default=HTML)
    args = parser.parse_args(argv)
    files = args.files or sorted(OUT_DIR.glob("*.json"))
    if not files:
        print(f"harness.releases: no release results in {OUT_DIR}", file=sys.stderr)
        return 2
    try:
        docs = [load_release(f) for f in files]
    except ReleaseError as exc:
        print(f"harness.releases: {exc}", file=sys.stderr)
        return 2
    table = build_table(docs)
    print(summary(table))
    notes = disagreements(known_upstream.load(), docs)
    print("known_upstream.toml entries that disagree with the measurements (not edited):")
    print("\n".join(f"  {n}" for n in notes) if notes else "  none")
    render_html(table, notes, args.html)
    print(f"wrote {args.html}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
