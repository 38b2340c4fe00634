"""A gate run killed partway still yields a report: what finished, marked incomplete.

The run is a real ``pytest tests/test_gate.py -n 2 --results …`` in a subprocess of its own
session; once its workers have flushed some architectures to their JSON Lines files
(harness.parts) the whole process group is killed (SIGKILL: nothing of pytest runs after it).
The report and the summary are then built from those files.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import parts, report, summary
from suite.results import read_records

ROOT = Path(__file__).parents[1]


def finished(results: Path) -> int:
    """How many architectures the parts of ``results`` hold as done so far."""
    count = 0
    for path in parts.folder(results).glob("*.jsonl"):
        count += path.read_text(encoding="utf-8").count('{"done": ')
    return count


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_killed_gate_run_reports_what_finished_and_says_incomplete(tmp_path, capsys, sig):
    results = tmp_path / "results.json"
    stale = parts.folder(results) / "gw9.jsonl"  # an earlier run's part: removed at the start
    stale.parent.mkdir()
    stale.write_text('{"plan": {"units": ["old"]}}\n')
    command = [sys.executable, "-m", "pytest", "tests/test_gate.py", "-q", "-p", "no:logging"]
    command += ["-p", "no:cacheprovider", "-n", "2", "--oracle", "torch", "--oracle", "fd"]
    command += ["--random-count", "400", "--results", str(results)]
    run = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while finished(results) < 5 and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run.poll() is None, "the run ended before it could be killed"
        assert finished(results) >= 5
    finally:
        os.killpg(run.pid, sig)
        run.wait(timeout=60)
    assert not results.exists()  # the run never wrote its file
    data = parts.load(results)
    info = data["environment"]["incomplete"]
    assert info["finished"] >= 5 and info["not_reached"] > 0
    assert info["finished"] + info["not_reached"] == info["planned"] > 400
    done = {r["test"] for r in data["records"]}
    # only the oracles asked for, and the ground truth judging the reference and them
    judges = re.compile(r"-(torch|fd|exact|torch~exact|fd~exact)-(delta|nabla_b|nabla_w)-layer")
    assert done and all(judges.search(t) for t in done)
    assert "old" not in json.dumps(data)
    page = tmp_path / "index.html"
    assert report.main([str(results), str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "<title>INCOMPLETE" in html
    assert f"{info['not_reached']} not reached" in html
    assert summary.main([str(results)]) == 1  # incomplete fails, even where all finished passed
    out = capsys.readouterr().out
    assert f"INCOMPLETE run: {info['finished']} of {info['planned']} tests" in out
    assert not any(r.failed() for r in read_records(data["records"]))  # what finished passed
