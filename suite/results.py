"""The results records: written by the gate and the checker, read as one type, counted one way.

A results file holds ``{"schema": SCHEMA, "environment": …, "records": […]}``; each record is a
comparison, an error (a case that could not be compared), a comparison the oracle cannot make
(not applicable) or an implementation's verdict (checker/). The writers (:func:`comparison_record`,
:func:`error_record`, :func:`not_applicable_record`, :func:`verdict_record`, then :func:`write`
for the file) build them; :class:`Record` reads one (``from_dict``) and writes it back unchanged
(``to_dict``); :func:`tally` aggregates any of them by a key, and :func:`by_dtype_and_oracle` is
the key the summary table, the margins and the report all use. A killed run's file is read
through :func:`harness.parts.load`, which assembles its parts.

Importing this module loads no pytest, oracle or reference (NumPy only): the report reads through
it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import platform
import subprocess
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from suite import diffmap
from suite.recording import record_line_json

if TYPE_CHECKING:
    from errormodel.compare import Comparison
    from reference import Architecture
    from reference.types import Array, Mask

K = TypeVar("K", bound=Hashable)

#: The results-file version: raise it when a record's meaning changes.
SCHEMA = 1
#: The version of reports/upstream.json (harness.upstream, the known framework bugs reproduced).
UPSTREAM_SCHEMA = "upstream/1"

#: The fields every comparison record has (errormodel.compare.Comparison).
_COMPARISON = ("quantity", "layer", "passed", "ratio", "max_abs", "max_rel", "allowed")


@dataclass(frozen=True)
class Record:
    """One record of a results file. ``kind`` is "comparison", "error", "not_applicable" (a
    comparison the oracle cannot make on this net: oracle, quantity, layer, message) or
    "verdict"; a verdict's own fields (label, layer, message, …) stay in ``verdict``, a
    comparison's optional drawings (``reference_norm``, ``diff_map``) are None when the gate did
    not keep them."""

    test: str
    kind: str
    arch: Mapping[str, Any] | None
    oracle: str = ""
    dtype: str = "float64"
    quantity: str = ""
    layer: int = 0
    passed: bool = False
    ratio: float = math.nan
    max_abs: float = math.nan
    max_rel: float = math.nan
    allowed: float = math.nan
    scale: float = math.nan
    resolution: float = math.nan
    excluded: int = 0
    #: Elements judged when the oracle judged a seeded sample only; 0: all of ``shape`` were.
    judged: int = 0
    shape: tuple[int, ...] = ()
    worst_index: tuple[int, ...] | None = None
    problem: str = ""
    message: str = ""
    reference_norm: float | None = None
    diff_map: Mapping[str, Any] | None = None
    #: A map quantity's per-channel |reference − oracle| / allowed (suite.diffmap.encode_channels).
    channel_maps: Mapping[str, Any] | None = None
    #: On a max-pool's δ^l: its windows whose maximum is held more than once, and those within
    #: the error model's rounding of a tie (errormodel.pool_ties); None on every other record.
    ties: int | None = None
    near_ties: int | None = None
    verdict: Mapping[str, Any] = field(default_factory=dict)
    #: Judged by the ground truth: the worst element (index, value, truth, ulps, allowed).
    worst: Mapping[str, Any] | None = None
    #: A known upstream bug (oracles/known_upstream.toml: id, url) the comparison is expected to
    #: fail by: a strict xfail, so it counts as failed only if it passes (fixed upstream).
    known_bug: Mapping[str, Any] | None = None
    #: Where the file's stored ``passed`` disagrees with its numbers (which decide).
    note: str = ""

    @property
    def arch_id(self) -> str:
        return str((self.arch or {}).get("id", ""))

    @property
    def elements(self) -> int:
        """How many elements the comparison covered (a sample's, where it judged one)."""
        return self.judged or math.prod(self.shape)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        """A record as read from a results file (``test`` included)."""
        kind = str(data["kind"])
        common: dict[str, Any] = {"test": str(data.get("test", "")), "kind": kind}
        common["arch"] = data.get("arch")
        if kind == "verdict":
            rest = {k: v for k, v in data.items() if k not in ("test", "kind", "arch")}
            rest, note = _judge_verdict(rest, overall=common["arch"] is None)
            return cls(**common, verdict=rest, note=note)
        if kind == "error":
            return cls(
                **common,
                oracle=str(data["oracle"]),
                dtype=str(data.get("dtype", "float64")),
                message=str(data["message"]),
            )
        if kind == "not_applicable":  # a comparison the oracle cannot make on this net
            return cls(
                **common,
                oracle=str(data["oracle"]),
                dtype=str(data.get("dtype", "float64")),
                quantity=str(data["quantity"]),
                layer=int(data["layer"]),
                message=str(data["message"]),
                ties=_count(data, "ties"),
                near_ties=_count(data, "near_ties"),
            )
        if kind != "comparison":
            raise ValueError(f"unknown record kind {kind!r} in {common['test']!r}")
        index = data.get("worst_index")
        numbers = _numbers(data, common["test"])
        problem = str(data.get("problem", ""))
        # The numbers decide, never the stored flag: passed iff max_abs <= allowed (the worst
        # element's, for a truth comparison) and nothing went wrong (errormodel.compare).
        passed = not problem and numbers["max_abs"] <= numbers["allowed"]
        note = ""
        if data["passed"] is not passed:
            stored = "passed" if data["passed"] else "failed"
            note = f"results file says {stored}, but error {numbers['ratio']:.3g} × allowed" + (
                f" ({problem})" if problem else ""
            )
        return cls(
            **common,
            oracle=str(data["oracle"]),
            dtype=str(data.get("dtype", "float64")),
            quantity=str(data["quantity"]),
            layer=int(data["layer"]),
            passed=passed,
            note=note,
            ratio=numbers["ratio"],
            max_abs=numbers["max_abs"],
            max_rel=numbers["max_rel"],
            allowed=numbers["allowed"],
            scale=data.get("scale", math.nan),
            resolution=data.get("resolution", math.nan),
            excluded=int(data.get("excluded", 0)),
            judged=int(data.get("judged", 0)),
            shape=tuple(data.get("shape", ())),
            worst_index=None if index is None else tuple(index),
            problem=problem,
            reference_norm=data.get("reference_norm"),
            diff_map=data.get("diff_map"),
            channel_maps=data.get("channel_maps"),
            worst=data.get("worst"),
            known_bug=data.get("known_bug"),
            ties=_count(data, "ties"),
            near_ties=_count(data, "near_ties"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The record as the results file holds it (``test`` included when set)."""
        out: dict[str, Any] = {"test": self.test} if self.test else {}
        out |= {"kind": self.kind, "arch": self.arch}
        if self.kind == "verdict":
            return out | dict(self.verdict)
        out |= {"oracle": self.oracle, "dtype": self.dtype}
        if self.kind == "error":
            return out | {"message": self.message}
        if self.kind == "not_applicable":
            out |= {"quantity": self.quantity, "layer": self.layer, "message": self.message}
            return out | self._pool_ties()
        out |= {name: getattr(self, name) for name in _COMPARISON}
        out |= {
            "scale": self.scale,
            "resolution": self.resolution,
            "excluded": self.excluded,
            **({"judged": self.judged} if self.judged else {}),
            "shape": list(self.shape),
            "worst_index": None if self.worst_index is None else list(self.worst_index),
            "problem": self.problem,
        }
        for name in ("reference_norm", "diff_map", "channel_maps", "worst", "known_bug"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out | self._pool_ties()

    def _pool_ties(self) -> dict[str, int]:
        """``ties`` and ``near_ties`` as the file holds them: on a pool's δ^l records only."""
        return {} if self.ties is None else {"ties": self.ties, "near_ties": self.near_ties or 0}

    def failed(self) -> bool:
        """A crashed case, a failed comparison, or a checker verdict other than the one expected
        (``as_expected`` None: a mutant's single case, judged only in the mutant's overall
        record)."""
        if self.kind == "verdict":
            return self.verdict.get("as_expected", self.verdict.get("passed")) is False
        if self.kind == "not_applicable":  # counted and shown as such (n/a), never a pass
            return False
        if self.kind == "comparison" and self.known_bug is not None:
            return self.passed  # a strict xfail that passes: the bug is fixed upstream
        return self.kind == "error" or not self.passed


def _judge_verdict(verdict: dict[str, Any], overall: bool) -> tuple[dict[str, Any], str]:
    """A checker verdict's ``passed`` and ``as_expected`` from its label (the finding: PASS when
    no equation broke) and ``expected``, never as stored; a note where the stored ones differ."""
    if "label" not in verdict:
        return verdict, ""
    label = str(verdict["label"])
    derived: dict[str, Any] = {"passed": label == "PASS"}
    if "expected" in verdict:
        want = str(verdict["expected"])
        if overall:
            derived["as_expected"] = label == want
        else:  # one case: judged only against PASS (a mutant is judged overall)
            derived["as_expected"] = (label == "PASS") if want == "PASS" else None
    notes = [
        f"results file says {name}={verdict.get(name)!r}, but label {label} gives {value!r}"
        for name, value in derived.items()
        if name in verdict and verdict[name] is not value
    ]
    return verdict | derived, "; ".join(notes)


def _count(data: Mapping[str, Any], name: str) -> int | None:
    """A pool δ^l record's ``ties`` or ``near_ties`` (a count ≥ 0); None where the record has
    none (every other record)."""
    if "ties" not in data:
        return None
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"record {data.get('test', '')!r}: {name} is {value!r}, not a count")
    return value


def _numbers(data: Mapping[str, Any], test: str) -> dict[str, float]:
    """A comparison's ratio, max_abs, max_rel and allowed: numbers, not NaN (ValueError)."""
    out: dict[str, float] = {}
    for name in ("ratio", "max_abs", "max_rel", "allowed"):
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise ValueError(f"record {test!r}: {name} is {value!r}, not a number")
        out[name] = float(value)
    if not isinstance(data["passed"], bool):
        raise ValueError(f"record {test!r}: passed is {data['passed']!r}, not true/false")
    return out


def read_records(records: Iterable[Mapping[str, Any]]) -> list[Record]:
    """Every record of a results file's ``records`` list."""
    return [Record.from_dict(r) for r in records]


@dataclass
class Tally:
    """The comparisons and errors of one group: counts, each ratio, the worst of each quantity."""

    comparisons: int = 0
    failed: int = 0
    errors: int = 0
    declined: int = 0  # comparisons the oracle cannot make on a net (not applicable)
    declined_archs: set[str] = field(default_factory=set)  # the nets it declined
    excluded: int = 0  # elements left out (an FD step across a relu kink)
    elements: int = 0  # elements compared in all
    comparisons_excluding: int = 0  # comparisons that left any element out
    known: int = 0  # comparisons failing by a known upstream bug, as expected (strict xfail)
    ties: int = 0  # pool windows whose maximum is tied, over the pool δ records (kinks of max)
    near_ties: int = 0  # pool windows within rounding of a tie (errormodel.pool_ties)
    ratios: list[float] = field(default_factory=list)
    resolutions: list[float] = field(default_factory=list)
    worst_by_quantity: dict[str, float] = field(default_factory=dict)
    worst: Record | None = None  # the comparison closest to (or furthest past) its allowed

    def add(self, rec: Record) -> None:
        if rec.kind == "error":
            self.errors += 1
            return
        self.ties += rec.ties or 0
        self.near_ties += rec.near_ties or 0
        if rec.kind == "not_applicable":
            self.declined += 1
            self.declined_archs.add(rec.arch_id)
            return
        self.comparisons += 1
        self.failed += rec.failed()
        self.known += rec.known_bug is not None and not rec.passed
        self.excluded += rec.excluded
        self.elements += rec.elements
        self.comparisons_excluding += rec.excluded > 0
        self.ratios.append(rec.ratio)
        self.resolutions.append(rec.resolution)
        top = self.worst_by_quantity.get(rec.quantity, 0.0)
        self.worst_by_quantity[rec.quantity] = max(top, rec.ratio)
        if self.worst is None or rec.ratio >= self.worst.ratio:
            self.worst = rec

    @property
    def ratio(self) -> float | None:
        """The worst error/allowed of the group, None without comparisons."""
        return self.worst.ratio if self.worst is not None else None


def by_dtype_and_oracle(rec: Record) -> tuple[str, str]:
    return rec.dtype, rec.oracle


def tally(records: Iterable[Record], key: Callable[[Record], K]) -> dict[K, Tally]:
    """The comparison, error and not-applicable records (not verdicts) counted per ``key`` (e.g.
    :func:`by_dtype_and_oracle`), in the order the keys first appear."""
    groups: dict[K, Tally] = {}
    for rec in records:
        if rec.kind in ("comparison", "error", "not_applicable"):
            groups.setdefault(key(rec), Tally()).add(rec)
    return groups


def oracle_label(dtype: str, oracle: str, dtypes: Iterable[str]) -> str:
    """The oracle's name, with the dtype when a file holds more than one."""
    return oracle if len(set(dtypes)) <= 1 else f"{oracle} ({dtype})"


# --- Writing: records as the results file holds them --------------------------------------------


def arch_record(arch: Architecture) -> dict[str, Any]:
    """The architecture as plain data, with its id and the one-line entry that rebuilds it (a
    copy of what :func:`_arch_data` keeps for the architecture's tens of records)."""
    return dict(_arch_data(arch))


@functools.lru_cache(maxsize=256)
def _arch_data(arch: Architecture) -> dict[str, Any]:
    extra = {} if arch.targets == "uniform" else {"targets": arch.targets}
    return extra | {
        "id": arch.id,
        "sizes": [_size_data(n) for n in arch.sizes]
        if not isinstance(arch.sizes, (str, bytes))
        else arch.sizes,
        "activations": arch.activations
        if isinstance(arch.activations, str)
        else list(arch.activations),
        "cost": arch.cost,
        "batch": arch.batch,
        "seed": arch.seed,
        "init": arch.init,
        "weight_scale": arch.weight_scale,
        "input_scale": arch.input_scale,
        "entry": repr(arch),
    }


def _size_data(entry: Any) -> Any:
    """An entry of an architecture's sizes as JSON: a width, an input shape [C, H, W], or a
    layer spec as its line writes it (``"Conv(20, 5)"``)."""
    if isinstance(entry, tuple):
        return list(entry)
    if isinstance(entry, (int, float, str)) or entry is None:
        return entry
    return repr(entry)


def comparison_record(
    arch: Architecture,
    comparison: Comparison,
    dtype: str,
    arrays: tuple[Array, Array] | None = None,
    left_out: Mask | None = None,
) -> dict[str, Any]:
    """One comparison; given the (reference, oracle) arrays it also keeps what the report draws:
    the reference's Frobenius norm, for ∂C/∂w the pooled difference map, and for a map layer's
    δ^l or ∂C/∂w^l (4-d) its per-channel maps (suite.diffmap; ``left_out``: the elements the
    oracle could not judge, drawn as no difference).
    """
    rec = {"kind": "comparison", "arch": arch_record(arch), "dtype": dtype, **comparison.as_dict()}
    if arrays is not None:
        ours, theirs = arrays
        rec["reference_norm"] = float(np.linalg.norm(ours))
        # a sample's map would draw the elements not judged (NaN) as if compared: none is kept
        whole = not comparison.problem and not comparison.judged
        if comparison.quantity == "nabla_w" and whole:
            rec["diff_map"] = diffmap.encode(ours, theirs)
        judgeable = whole and 0 < comparison.allowed < math.inf  # a ratio to draw
        if np.ndim(ours) == 4 and comparison.quantity in ("delta", "nabla_w") and judgeable:
            rec["channel_maps"] = diffmap.encode_channels(
                ours, theirs, comparison.allowed, comparison.quantity == "nabla_w", left_out
            )
    return rec


def error_record(
    arch: Architecture, oracle: str, message: str, dtype: str = "float64"
) -> dict[str, Any]:
    """A case that could not be compared: a malformed entry or a crashed oracle (in the gate's
    ``dtype``, so that errors are counted per (dtype, oracle) like comparisons)."""
    return {
        "kind": "error",
        "arch": arch_record(arch),
        "oracle": oracle,
        "dtype": dtype,
        "message": message,
    }


def not_applicable_record(
    arch: Architecture, oracle: str, quantity: str, layer: int, message: str, dtype: str
) -> dict[str, Any]:
    """A comparison the oracle cannot make on this net (the complex step on a relu net): its own
    status, counted and shown, never a pass."""
    return {
        "kind": "not_applicable",
        "arch": arch_record(arch),
        "oracle": oracle,
        "quantity": quantity,
        "layer": layer,
        "message": message,
        "dtype": dtype,
    }


def verdict_record(
    impl: str, verdict: dict[str, Any], arch: Architecture | None = None
) -> dict[str, Any]:
    """An implementation under test's verdict (checker/): on one case, or overall (no arch).

    ``verdict`` holds ``label`` (PASS; BP1…BP4, SGD, COST: the first equation that breaks; or
    what is wrong with the implementation's form: SHAPE, NONFINITE, CRASH, HANG, INTERFACE, LOAD),
    ``layer`` (book numbering), ``message``, ``line`` (the verdict line printed), ``passed``
    and, overall, ``expected``/``as_expected`` (a mutant must get its intended label).
    """
    return {
        "kind": "verdict",
        "impl": impl,
        "arch": arch_record(arch) if arch is not None else None,
        **verdict,
    }


def run_environment(seed: int, random_count: int) -> dict[str, Any]:
    """Versions, BLAS, seed and commit: what a reader needs to trust or rerun the numbers."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "random_seed": seed,
        "random_count": random_count,
    }
    for name in ("torch", "jax"):  # from the installed metadata: importing them costs seconds
        try:
            env[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            env[name] = None
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = ", ".join(
            f"{i.get('internal_api')} {i.get('version')}"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        env["blas"] = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name")
    try:
        env["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        env["git_commit"] = None
    return env


def record_line(test: str, rec_json: str) -> str:
    """A record under its test id, from its suite.recording.record_line_json text: ``test``
    first, then the record's keys, sorted (text joined, not parsed and dumped again; the parts'
    lines, harness.parts.Part.done, read the same)."""
    return f'{{"test":{json.dumps(test)},{rec_json[1:]}'


def write(path: Path, records: list[tuple[str, dict[str, Any]]], env: dict[str, Any]) -> None:
    """Write the results file from records (test id, record): :func:`write_lines`."""
    write_lines(
        path, [(test, record_line(test, record_line_json(rec))) for test, rec in records], env
    )


def write_lines(path: Path, lines: list[tuple[str, str]], env: dict[str, Any]) -> None:
    """Write the results file from (test id, :func:`record_line` text): records sorted by test
    id, each record's keys in one order, so output is stable; written to a temporary name and
    renamed into place, so a reader never sees half a file. Text is joined, not dumped: the
    soak's 536 MB took 13.4 s to dump from dicts, its lines are joined in about a second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = json.dumps(env, sort_keys=True, separators=(",", ":"))
    body = ",".join(line for _, line in sorted(lines, key=lambda pair: pair[0]))
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    with partial.open("w", encoding="utf-8") as out:
        out.write(f'{{"environment":{head},"records":[')
        out.write(body)
        out.write(f'],"schema":{SCHEMA}}}\n')
    os.replace(partial, path)
