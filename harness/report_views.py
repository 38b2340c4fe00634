"""What the HTML report shows of a results file, as views the template reads: per architecture
(:class:`ArchView`, its grid cells and per-layer table, figures), per (dtype, oracle), and the
one-line messages and rerun commands of records. Counting is :mod:`suite.results`' tally.
"""

from __future__ import annotations

import functools
import math
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.gate_ids import comparison_of
from suite.results import Record, Tally, oracle_label, tally

QUANTITIES = ("delta", "nabla_b", "nabla_w")
QUANTITY_HTML = {
    "delta": "δ<sup>l</sup>",
    "nabla_b": "∂C/∂b<sup>l</sup>",
    "nabla_w": "∂C/∂w<sup>l</sup>",
}
#: Colour bands of error/allowed (presentation only; the verdict is ratio ≤ 1: errormodel).
BANDS = ((0.01, "b0", "≤ 0.01"), (0.1, "b1", "≤ 0.1"), (0.5, "b2", "≤ 0.5"), (1.0, "b3", "≤ 1"))
GATE_TEST = "tests/test_gate.py"


def band(ratio: float | None, status: str = "") -> str:
    """The CSS class of a ratio's colour band: b0…b3 pass, fail, error, or none."""
    if status == "error":
        return "error"
    if ratio is None:
        return "none"
    for top, name, _ in BANDS:
        if ratio <= top:
            return name
    return "fail"


def fmt_ratio(ratio: float | None) -> str:
    if ratio is None:
        return "–"
    if math.isinf(ratio):
        return "∞"
    return "0" if ratio == 0 else f"{ratio:.2g}" if ratio < 10 else f"{ratio:.3g}"


def fmt_num(x: float | None) -> str:
    if x is None:
        return "–"
    return "∞" if math.isinf(x) else "0" if x == 0 else f"{x:.2e}"


def passed(rec: Record) -> bool:
    return rec.kind == "comparison" and rec.passed


def message(rec: Record) -> str:
    """One line, as the gate prints it: what, where, how far, and the allowed."""
    if rec.kind == "error":
        return rec.message
    what = f"{rec.quantity} of layer {rec.layer} ({rec.oracle} vs reference)"
    if rec.problem:
        return f"{what}: {rec.problem}"
    where = tuple(rec.worst_index or ())
    text = (
        f"{what}: max abs error {fmt_num(rec.max_abs)} at {where}, max rel error "
        f"{fmt_num(rec.max_rel)}, allowed {fmt_num(rec.allowed)} "
        f"(error/allowed {fmt_ratio(rec.ratio)})"
    )
    if rec.excluded:
        text += f"; {rec.excluded} elements excluded (perturbation crossed a ReLU kink)"
    text += tie_text(rec)
    if rec.note:
        text += f"; {rec.note}"
    return text


def tie_text(rec: Record) -> str:
    """What a pool δ^l record's tie counts add to its line ("" without ties): the kinks of the
    max, and on a failed comparison that its argmax may have moved."""
    if not (rec.ties or rec.near_ties):
        return ""
    counts = f"{rec.ties} ties, {rec.near_ties} near ties"
    if rec.kind == "comparison" and not rec.passed:
        return f"; the pool's argmax may move: {counts}"
    return f"; {counts} (pool windows whose argmax rounding could move: kinks of the max)"


def rerun_command(rec: Record, env: dict[str, Any]) -> str:
    """The exact command that reruns this one case from the repository root: a gate comparison
    is a subtest of its architecture's test, so the command names that test and the oracle."""
    words = ["python", "-m", "pytest", gate_node(rec)]
    if rec.test.startswith(GATE_TEST):
        words += ["--random-count", str(env.get("random_count", 60))]
        words += ["--random-seed", str(env.get("random_seed", 0))]
        words += ["--oracle", rec.oracle]
        if rec.dtype != "float64":
            words += ["--dtype", rec.dtype]
    return " ".join(shlex.quote(w) for w in words)


def gate_node(rec: Record) -> str:
    """The pytest node that makes ``rec``: its own test, or for a gate comparison (recorded under
    ``…[<comparison id>]``) its architecture's test ``…[<architecture id>]``."""
    if not rec.test.startswith(GATE_TEST) or "[" not in rec.test or not rec.arch_id:
        return rec.test
    return f"{rec.test[: rec.test.index('[')]}[{rec.arch_id}]"


def subtest_id(rec: Record) -> str:
    """The comparison's own id (the subtest's, inside its architecture's test)."""
    return comparison_of(rec.test)


@dataclass(frozen=True)
class Cell:
    """One architecture × oracle as the grid shows it: its tally's worst ratio and status."""

    tally: Tally

    @property
    def excluded(self) -> int:
        return self.tally.excluded

    @property
    def status(self) -> str:
        if self.tally.errors:
            return "error"
        if self.tally.failed:
            return "fail"
        if self.tally.comparisons:
            return "pass"
        return "n/a" if self.tally.declined else ""

    @property
    def css(self) -> str:
        return band(self.tally.ratio, self.status)

    @property
    def text(self) -> str:
        if self.tally.errors:
            return "error"
        return "n/a" if self.status == "n/a" else fmt_ratio(self.tally.ratio)


@dataclass
class ArchView:
    """Everything the page shows about one architecture, built from its records."""

    id: str
    spec: Mapping[str, Any]
    dtype: str
    records: list[Record] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    #: Per map quantity (δ^l, ∂C/∂w^l of a map layer): the per-channel maps of the judge that
    #: disagrees most, as {"svg", "caption"}.
    channel_figures: list[dict[str, str]] = field(default_factory=list)
    detailed: bool = False  # figures and hover details drawn (bounded by --figures)

    @functools.cached_property
    def cells(self) -> dict[str, Cell]:
        """Per oracle: the cell of the grid (suite.results.tally of this architecture's)."""
        return {o: Cell(t) for o, t in tally(self.records, lambda r: r.oracle).items()}

    @property
    def errors(self) -> list[Record]:
        return [r for r in self.records if r.kind == "error"]

    @property
    def problems(self) -> list[tuple[Record, int]]:
        """Each distinct error (a crash repeats for every comparison of its oracle) with its
        count, then each failed comparison."""
        seen: dict[tuple[str, str], list[Record]] = {}
        for rec in self.errors:
            seen.setdefault((rec.oracle, rec.message), []).append(rec)
        return [(recs[0], len(recs)) for recs in seen.values()] + [(r, 1) for r in self.failures]

    @property
    def failures(self) -> list[Record]:
        return [r for r in self.records if r.kind == "comparison" and r.failed()]

    @property
    def status(self) -> str:
        return "error" if self.errors else "fail" if self.failures else "pass"

    @property
    def odd_one_out(self) -> str:
        """Who disagrees with whom, and the reference's first broken equation (or "")."""
        from harness.disagreement import verdict

        return verdict(self.records)

    @property
    def not_applicable(self) -> list[str]:
        """The oracles that cannot judge this net, with why (one line each)."""
        found = {r.oracle: r.message for r in self.records if r.kind == "not_applicable"}
        return [f"{oracle}: {text}" for oracle, text in sorted(found.items())]

    @property
    def worst(self) -> float | None:
        ratios = [c.tally.ratio for c in self.cells.values() if c.tally.ratio is not None]
        return max(ratios) if ratios else None

    @property
    def sort_key(self) -> tuple[int, float, str]:
        """Errors, then failures, then passes; within each, the worst ratio first."""
        rank = {"error": 0, "fail": 1, "pass": 2}[self.status]
        return rank, -(self.worst or 0.0), self.id

    @property
    def comparisons(self) -> int:
        return sum(r.kind == "comparison" for r in self.records)

    @property
    def layers(self) -> list[int]:
        return sorted({r.layer for r in self.records if r.kind in ("comparison", "not_applicable")})

    def table(self, oracles: Sequence[str]) -> list[dict[str, Any]]:
        """Rows of the per-layer table: layer, width, and per (quantity, oracle) one cell."""
        kinds = ("comparison", "not_applicable")
        at = {(r.quantity, r.layer, r.oracle): r for r in self.records if r.kind in kinds}
        sizes = self.spec.get("sizes")
        rows = []
        for layer in self.layers:
            cells: list[dict[str, Any]] = []
            for quantity in QUANTITIES:
                for i, oracle in enumerate(oracles):
                    rec = at.get((quantity, layer, oracle))
                    if rec and rec.kind == "not_applicable":
                        title = rec.message + tie_text(rec)
                        na: dict[str, Any] = {"text": "n/a", "css": "none", "title": title}
                        cells.append(na | {"excluded": 0} | tie_cell(rec))
                        continue
                    css = band(rec.ratio) if rec else "none"
                    cells.append(
                        {
                            "text": fmt_ratio(rec.ratio) if rec else "–",
                            "css": css if i else f"{css} group",
                            "title": message(rec) if rec else "",
                            "excluded": rec.excluded if rec else 0,
                        }
                        | tie_cell(rec)
                    )
            width = sizes[layer - 1] if isinstance(sizes, list) and len(sizes) >= layer else ""
            rows.append({"layer": layer, "width": width, "cells": cells})
        return rows

    def spec_rows(self) -> list[tuple[str, str]]:
        s = self.spec
        sizes = s.get("sizes")
        shape = " → ".join(str(n) for n in sizes) if isinstance(sizes, list) else repr(sizes)
        acts = s.get("activations")
        acts = acts if isinstance(acts, str) else ", ".join(str(a) for a in acts or [])
        return [
            ("layer sizes n_1 … n_L", shape),
            ("activations (layers 2 … L)", str(acts)),
            ("cost", str(s.get("cost"))),
            ("batch m", str(s.get("batch"))),
            ("seed · init · dtype", f"{s.get('seed')} · {s.get('init')} · {self.dtype}"),
        ]


def tie_cell(rec: Record | None) -> dict[str, int]:
    """A table cell's pool tie counts (0 where none are recorded)."""
    return {"ties": (rec.ties or 0) if rec else 0, "near_ties": (rec.near_ties or 0) if rec else 0}


def pool_tie_counts(records: Iterable[Record]) -> tuple[int, int]:
    """Ties and near ties of the pool layers of a file: once per (architecture, dtype, layer),
    however many judges' records repeat them."""
    seen: dict[tuple[str, str, int], tuple[int, int]] = {}
    for rec in records:
        if rec.ties is not None:
            seen[rec.arch_id, rec.dtype, rec.layer] = (rec.ties, rec.near_ties or 0)
    return sum(t for t, _ in seen.values()), sum(n for _, n in seen.values())


def group(records: Iterable[Record]) -> dict[str, ArchView]:
    archs: dict[str, ArchView] = {}
    for rec in records:
        view = archs.setdefault(rec.arch_id, ArchView(rec.arch_id, rec.arch or {}, rec.dtype))
        view.records.append(rec)
    return archs


def draw_figures(arch: ArchView, oracles: Sequence[str], index: int) -> None:
    """The heatmap of the ∂C/∂w where an oracle disagrees most, and ‖δ^l‖ per layer."""
    from harness import report_plots

    maps = [r for r in arch.records if r.diff_map]
    if maps:
        worst = max(maps, key=lambda r: (r.ratio, r.max_abs))
        title = (
            f"∂C/∂w{report_plots.superscript(worst.layer)}: |reference − {worst.oracle}|\n"
            f"max {fmt_num(worst.max_abs)} = {fmt_ratio(worst.ratio)} × allowed"
        )
        arch.figures["heatmap"] = report_plots.heatmap(
            dict(worst.diff_map or {}), worst.layer, title, worst.worst_index or (), f"a{index}h"
        )
    draw_channel_maps(arch, index)
    deltas = [r for r in arch.records if r.quantity == "delta" and r.reference_norm is not None]
    if deltas:
        layers = sorted({r.layer for r in deltas})
        batch = arch.spec.get("batch") or 1
        norm = {r.layer: (r.reference_norm or 0.0) / math.sqrt(batch) for r in deltas}
        errors = {
            oracle: [
                next(
                    (r.max_abs for r in deltas if r.oracle == oracle and r.layer == layer),
                    math.nan,
                )
                for layer in layers
            ]
            for oracle in oracles
            if any(r.oracle == oracle for r in deltas)
        }
        arch.figures["norms"] = report_plots.delta_norms(
            layers, [norm[layer] for layer in layers], errors, f"a{index}n"
        )


def draw_channel_maps(arch: ArchView, index: int) -> None:
    """Per map quantity of the architecture, the channel maps (suite.diffmap.encode_channels) of
    the oracle that disagrees most with the reference there."""
    from harness import report_plots

    worst: dict[tuple[str, int], Record] = {}
    for rec in arch.records:
        if rec.channel_maps is None:
            continue
        key = rec.quantity, rec.layer
        if key not in worst or (rec.ratio, rec.max_abs) > (worst[key].ratio, worst[key].max_abs):
            worst[key] = rec
    for n, ((quantity, layer), rec) in enumerate(sorted(worst.items())):
        entry = dict(rec.channel_maps or {})
        sup = report_plots.superscript(layer)
        what = "δ" if quantity == "delta" else "∂C/∂w"
        title = (
            f"{what}{sup} per channel: |reference − {rec.oracle}| / allowed "
            f"(max {fmt_ratio(rec.ratio)} × allowed)"
        )
        label = "o" if quantity == "nabla_w" else "c"
        svg = report_plots.channel_maps(entry, title, label, f"a{index}c{n}")
        not_shown = int(entry.get("not_shown", 0))
        if quantity == "nabla_w":
            kernel = entry.get("kernel", ["k", "k"])
            tiles = entry.get("tiles", [1, 1])
            caption = (
                f"∂C/∂w{sup}, one panel per output map o, its {kernel[0]}×{kernel[1]} kernels "
                f"of input map c tiled row by row ({tiles[0]}×{tiles[1]} tiles)"
            )
        else:
            caption = f"δ{sup}, one panel per map c of positions (i, j), the largest over samples"
        shown = f"{not_shown} channels not shown" if not_shown else "every channel shown"
        arch.channel_figures.append(
            {"svg": svg, "caption": f"{caption}; {shown}", "layer": str(layer)}
        )


def oracle_rows(groups: Mapping[tuple[str, str], Tally]) -> list[dict[str, Any]]:
    """Per (dtype, oracle): the worst ratio per quantity, comparisons, failures, errors and
    exclusions (suite.results.tally)."""
    rows = []
    for (dtype, oracle), t in sorted(groups.items()):
        worst = [t.worst_by_quantity.get(q) for q in QUANTITIES]
        rows.append(
            {
                "oracle": oracle_label(dtype, oracle, (d for d, _ in groups)),
                "worst": [(fmt_ratio(w), band(w)) for w in worst],
                "comparisons": t.comparisons,
                "failed": t.failed,
                "errors": t.errors,
                "not_applicable": t.declined,
                "excluded": t.excluded,
                "ties": t.ties,
                "near_ties": t.near_ties,
            }
        )
    return rows


def truth_rows(records: Iterable[Record]) -> list[dict[str, Any]]:
    """Per judge ("exact": the reference; "torch~exact": an oracle) and quantity, the comparison
    against the ground truth with the worst element: where, its value, the truth, the error in
    ulps and error/allowed, and the known upstream bug it fails by (if any)."""
    worst: dict[tuple[str, str, str], Record] = {}
    for rec in records:
        if rec.kind != "comparison" or rec.worst is None:
            continue
        key = rec.dtype, rec.oracle, rec.quantity
        if key not in worst or rec.ratio > worst[key].ratio:
            worst[key] = rec
    rows = []
    for (dtype, judge, quantity), rec in sorted(worst.items()):
        w = rec.worst or {}
        bug = rec.known_bug or {}
        rows.append(
            {
                "judge": judge,
                "dtype": dtype,
                "quantity": QUANTITY_HTML.get(quantity, quantity),
                "where": f"{rec.arch_id}, layer {rec.layer}, {tuple(w.get('index', ()))}",
                "value": f"{w.get('value', math.nan):.6g}",
                "truth": f"{w.get('truth', math.nan):.6g}",
                "ulps": fmt_num(w.get("ulps")),
                "ratio": (fmt_ratio(rec.ratio), band(rec.ratio)),
                "bug": bug.get("id", ""),
                "url": bug.get("url") or "",
            }
        )
    return rows
