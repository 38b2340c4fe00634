"""A run's results as it goes: one JSON Lines file per process, flushed test by test.

A gate run with ``--results PATH`` keeps, beside PATH, a folder ``PATH.parts`` (emptied when the
run starts, PATH itself removed then, so an old file never stands in for a new verdict):

- ``environment.json``: the versions, seed and commit (written by the controller, or the one
  process, before any test runs);
- ``<worker>.jsonl`` per process that runs tests (``gw0``, ``gw1``, …, or ``main``): a first line
  ``{"plan": {"units": [node ids], "records": n, …}}`` (what this process collected), then, per
  finished test (one architecture of the gate), its records (``{"test": id, …}``) followed by
  ``{"done": node id}``, all in one write, flushed.

When the run ends the plugin assembles the parts into PATH (:func:`assemble_text`, then
suite.results.write_lines, which joins the lines as written) and removes the folder. A run
killed or timed out leaves the folder: :func:`load` reads PATH, or else assembles the parts,
keeping only tests whose ``done`` line was written (a last line cut short by the kill is
dropped with its test), and marks the run incomplete in its environment: ``{"incomplete":
{"planned": N, "not_reached": K, …}}``. The report, the summary and the shard merge all read
through :func:`load`.

Plain Python only (the report reads through this module and imports no NumPy or pytest).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

#: The results-file version (suite.results.SCHEMA, repeated so this module imports nothing).
SCHEMA = 1
ENVIRONMENT = "environment.json"
#: How many of the tests not reached an incomplete run names (all are counted).
NAMED = 5
#: How a record's line starts (:meth:`Part.done`); plan and done lines start otherwise.
RECORD_START = '{"test":'


def folder(results: Path) -> Path:
    """Where the parts of the results file ``results`` are kept while the run goes."""
    return results.with_name(results.name + ".parts")


def start(results: Path, env: dict[str, Any]) -> Path:
    """A fresh run: remove ``results`` and any old parts, write the environment; the folder."""
    results.unlink(missing_ok=True)
    parts = folder(results)
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    partial = parts / f".{ENVIRONMENT}.partial"
    partial.write_text(json.dumps(env, sort_keys=True), encoding="utf-8")
    os.replace(partial, parts / ENVIRONMENT)
    return parts


class Part:
    """One process's JSON Lines file: its plan, then each finished test's records."""

    def __init__(self, path: Path) -> None:
        self.file: IO[str] = path.open("a", encoding="utf-8")

    def plan(self, units: list[str], **counts: int) -> None:
        """What this process collected: the tests (units) and their counts."""
        self.write(json.dumps({"plan": {"units": units, **counts}}) + "\n")

    def done(self, unit: str, records: Iterable[tuple[str, str]]) -> None:
        """Test ``unit`` finished with ``records`` (test id, record as JSON): one write."""
        lines = [f"{RECORD_START}{json.dumps(test)},{line[1:]}" for test, line in records]
        lines.append(json.dumps({"done": unit}))
        self.write("\n".join(lines) + "\n")

    def write(self, text: str) -> None:
        self.file.write(text)
        self.file.flush()  # to the kernel: it outlives a killed process

    def close(self) -> None:
        self.file.close()


def assemble(parts: Path) -> dict[str, Any]:
    """The results file's contents from the parts in ``parts``: the records of every finished
    test, and ``environment["incomplete"]`` when a planned test did not finish."""
    return assemble_with_text(parts)[0]


def assemble_with_text(parts: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """:func:`assemble`, and each record's line as written (test id, text), for
    suite.results.write_lines. The garbage collector is off while the lines are parsed: the
    soak's 510,000 records took 26 s with it on (each of its full collections walks every
    record read so far), 8 s with it off."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        env, finished = _assemble(parts)
    finally:
        if enabled:
            gc.enable()
    data = {"schema": SCHEMA, "environment": env, "records": [rec for rec, _ in finished]}
    return data, [(rec["test"], text) for rec, text in finished]


def assemble_text(parts: Path) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The environment (with ``incomplete`` and the plan's counts) and each finished record's
    line as written (test id, text), no record parsed: what the plugin writes the results file
    from. The soak's 523,000 records parsed to dicts took 4 GB and, read and freed again, about
    40 s of the controller's time after the last test."""
    env, finished = _assemble(parts, parse=False)
    start, read = len(RECORD_START), json.JSONDecoder().raw_decode
    return env, [(read(text, start)[0], text) for text in finished]  # the id, its first value


def _assemble(parts: Path, parse: bool = True) -> tuple[dict[str, Any], list[Any]]:
    """The environment and the finished tests' records, in order: each as a (dict, text) pair
    with ``parse``, else its text alone. Only a plan or done line is always parsed: a record's
    line cut short by a kill is never followed by its test's done line, so it is dropped with
    its test either way."""
    env: dict[str, Any] = json.loads((parts / ENVIRONMENT).read_text(encoding="utf-8"))
    planned: dict[str, None] = {}
    counts: dict[str, Any] = {}
    planning = False  # whether any process wrote its plan (it was killed after collecting)
    done: dict[str, list[Any]] = {}
    for path in sorted(parts.glob("*.jsonl")):
        pending: list[Any] = []
        for text in path.read_text(encoding="utf-8").splitlines():
            if not parse and text.startswith(RECORD_START):
                pending.append(text)
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError:  # cut short by a kill: its test did not finish
                break
            if "plan" in line:
                plan, planning = line["plan"], True
                planned.update(dict.fromkeys(plan.pop("units")))
                counts = counts or plan
            elif "done" in line:
                done[line["done"]], pending = pending, []
            else:
                pending.append((line, text))
    finished = [entry for unit in done for entry in done[unit]]
    missing = [unit for unit in planned if unit not in done]
    if counts:
        env["counts"] = counts
    if missing or not planning:
        env["incomplete"] = {
            "planned": len(planned),
            "finished": len(planned) - len(missing),
            "not_reached": len(missing),
            "first_not_reached": missing[:NAMED],
        }
    return env, finished


def load(results: Path) -> dict[str, Any]:
    """The results file ``results``, or, where the run never wrote it (killed, timed out), its
    parts assembled (marked incomplete). OSError when neither is there; ValueError for another
    schema."""
    parts = folder(results)
    if not results.exists() and (parts / ENVIRONMENT).exists():
        data = assemble(parts)
    else:
        data = json.loads(results.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise ValueError(f"{results}: results schema {schema}, expected {SCHEMA}")
    return data


def incomplete_line(env: dict[str, Any]) -> str | None:
    """One line saying how incomplete the run was, or None for a complete one."""
    info = env.get("incomplete")
    if not info:
        return None
    named = ", ".join(unit[unit.find("[") + 1 :].rstrip("]") for unit in info["first_not_reached"])
    more = info["not_reached"] - len(info["first_not_reached"])
    return (
        f"INCOMPLETE run: {info['finished']} of {info['planned']} tests (architectures) "
        f"finished, {info['not_reached']} not reached"
        + (f" ({named}{f', and {more} more' if more > 0 else ''})" if named else "")
    )
