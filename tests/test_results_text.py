"""The results file joined from the records' text (suite.results.write_lines, the gate's path)
reads as the same file written from the records as dicts (suite.results.write)."""

from __future__ import annotations

import json

from harness import parts
from suite import results
from suite.recording import record_line_json

RECORDS = [
    ("t::b[2]", {"kind": "comparison", "oracle": "torch", "worst": 1.5e-17, "nested": {"z": 1}}),
    ("t::a[1]", {"kind": "not_applicable", "message": 'a "quoted" reason, é'}),
]


def test_joined_lines_read_as_the_dumped_records(tmp_path):
    env = {"random_seed": 3, "torch": "2.13.0"}
    dumped, joined = tmp_path / "dumped.json", tmp_path / "joined.json"
    results.write(dumped, RECORDS, env)
    folder = parts.start(joined, env)
    part = parts.Part(folder / "main.jsonl")
    part.plan(["t::x"], selected=2)
    part.done("t::x", [(test, record_line_json(rec)) for test, rec in RECORDS])
    part.close()
    data, lines = parts.assemble_with_text(folder)
    assert [json.loads(text) for _, text in lines] == data["records"]
    assert data["environment"].pop("counts") == {"selected": 2}  # the plugin pops it too
    results.write_lines(joined, lines, data["environment"])
    a, b = json.loads(dumped.read_text()), json.loads(joined.read_text())
    assert b["records"] == a["records"]
    assert [r["test"] for r in b["records"]] == ["t::a[1]", "t::b[2]"]  # sorted by test id
    assert b["schema"] == a["schema"] == results.SCHEMA
    assert dumped.read_text() == joined.read_text()  # one format, byte for byte


def test_the_plugins_unparsed_assembly_keeps_what_the_parsed_one_keeps(tmp_path):
    """parts.assemble_text (the plugin's: record lines not parsed) against assemble_with_text:
    the same (test id, text) pairs and environment, for ids with commas and quotes, and for a
    part cut short by a kill (a finished test, then one whose records were half written)."""
    tricky = [('t::c[2-2-1_identity,sigmoid_m1-"q"]', {"kind": "error", "message": "x,y"})]
    folder = parts.start(tmp_path / "results.json", {"random_seed": 3})
    part = parts.Part(folder / "gw0.jsonl")
    part.plan(["t::x", "t::y", "t::z"], selected=3)
    part.done("t::x", [(test, record_line_json(rec)) for test, rec in RECORDS + tricky])
    part.write(f'{parts.RECORD_START}"t::y[1]","kind":"comparison","ora')  # killed mid-record
    part.close()
    data, parsed = parts.assemble_with_text(folder)
    env, unparsed = parts.assemble_text(folder)
    assert unparsed == parsed
    assert [test for test, _ in unparsed] == ["t::b[2]", "t::a[1]", tricky[0][0]]
    assert env == data["environment"]
    assert env["incomplete"]["not_reached"] == 2
