"""A learner that attacks the checker's replies, limits and lines is judged right (issue 22).

Each entry of :data:`HOSTILE` is a learner file (it subclasses the book's network, so it holds
only its attack) and the verdict it must get from ``python -m checker`` as a user runs it: the
label, a phrase of the line, exit 1, and no line of the checker's output that the learner wrote
(every line of its own output is quoted, ``    | ``, so none starts with PASS or FAIL). Classes:
1 (a short or forged reply), 6 (float16, complex, integer, bool, object, string arrays), 7 (a
thread that refreshes the progress record, a worker that stops itself), 5 (newlines and ANSI
escapes in what the checker echoes), 10 (usage errors: exit 2, one line).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_isolation import FakeSession, nox_check
from tests.test_isolation import checker as run_checker

ROOT = Path(__file__).parent.parent
#: Seconds one run may take here (a loaded machine), far below "forever".
BOUND_S = 90.0

HEAD = """import os, signal, struct, sys, threading, time
import numpy as np
from checker.mutants.book_network import Network as Book
WORKER = sys.modules["__main__"]  # the worker runs as python -m checker.worker
"""


def returns(expression: str) -> str:
    """A learner whose backprop returns the book's pair, ``expression`` applied to each array."""
    return HEAD + (
        "class Network(Book):\n"
        "    def backprop(self, x, y):\n"
        "        b, w = super().backprop(x, y)\n"
        f"        return [{expression} for a in b], [{expression} for a in w]\n"
    )


def patches_worker(body: str) -> str:
    """A learner that patches the worker it runs in at import (``body`` at module level)."""
    return HEAD + "class Network(Book):\n    pass\n" + body


ACCEPTED = "accepted: float32 or float64 arrays"
HOSTILE = {
    # 1: fewer answers than calls, from a patched worker
    "zero-results": (
        patches_worker(
            "honest = WORKER.Worker.backprop\n"
            "def forged(self, *args, **kwargs):\n"
            "    return {**honest(self, *args, **kwargs), 'results': []}\n"
            "WORKER.Worker.backprop = forged\n"
        ),
        [],
        "CRASH",
        "answered 0 of the",
    ),
    "own-reply-no-results": (
        patches_worker("WORKER.Worker.backprop = lambda self, *args, **kwargs: {'results': []}\n"),
        [],
        "CRASH",
        "answered 0 of the",
    ),
    "one-result-short": (
        patches_worker(
            "honest = WORKER.Worker.backprop\n"
            "def forged(self, *args, **kwargs):\n"
            "    reply = honest(self, *args, **kwargs)\n"
            "    return {**reply, 'results': reply['results'][:-1]}\n"
            "WORKER.Worker.backprop = forged\n"
        ),
        [],
        "CRASH",
        "calls asked for; accepted: one answer per call",
    ),
    # 6: arrays that are not real float32 or float64
    "float16": (returns("a.astype(np.float16)"), [], "INTERFACE", "float16 array of shape"),
    "complex": (returns("a + 0j"), [], "INTERFACE", "complex128 array of shape"),
    "integer": (returns("(a * 1e6).astype(np.int64)"), [], "INTERFACE", "int64 array"),
    "bool": (returns("a > 0"), [], "INTERFACE", "bool array"),
    "object": (returns("a.astype(object)"), [], "INTERFACE", "object array"),
    "string": (returns("a.astype(str)"), [], "INTERFACE", "<U32 array"),
    "float16-sent-raw": (
        returns("a") + "def raw(value, out):\n"
        "    out.append(np.asarray(value, dtype=np.float16))\n"
        "    return {'array': len(out) - 1}\n"
        "WORKER._element = raw\n",
        [],
        "INTERFACE",
        "float16 array",
    ),
    # 7: limits the learner cannot move
    "refreshes-progress": (
        HEAD + "def refresh():\n"
        "    for n in range(10**9):\n"
        "        name = b'backprop\\n\\x1b[2KPASS forged'\n"
        "        record = struct.pack('>dIH', time.monotonic(), 10**6 + n, len(name)) + name\n"
        "        os.pwrite(int(sys.argv[3]), record, 0)\n"
        "        time.sleep(0.05)\n"
        "class Network(Book):\n"
        "    def backprop(self, x, y):\n"
        "        threading.Thread(target=refresh, daemon=True).start()\n"
        "        time.sleep(10**6)\n",
        ["--timeout", "1"],
        "HANG",
        "did not return within",
    ),
    "stops-itself": (
        HEAD + "class Network(Book):\n"
        "    def backprop(self, x, y):\n"
        "        os.kill(os.getpid(), signal.SIGSTOP)\n",
        ["--timeout", "1"],
        "HANG",
        "backprop(x, y) did not return within 1 s (the per-call limit)",
    ),
    # 5: what the checker echoes from the learner, on one line, escaped
    "newline-in-exception": (
        HEAD + "class Network(Book):\n"
        "    def backprop(self, x, y):\n"
        "        raise ValueError('x', '\\nPASS forged\\r\\x1b[2KPASS')\n",
        [],
        "CRASH",
        "\\nPASS forged\\r\\x1b[2KPASS",
    ),
    "forged-output": (
        HEAD + "class Network(Book):\n"
        "    def backprop(self, x, y):\n"
        "        print('PASS forged\\n\\rPASS forged\\x1b[1A\\x1b[2K\\nFAIL nothing', flush=True)\n"
        "        raise ValueError('no')\n",
        [],
        "CRASH",
        "raised ValueError: no",
    ),
    "newline-in-class-name": (
        HEAD + "def init(self, sizes):\n"
        "    raise RuntimeError('no')\n"
        "Network = type('Net\\nPASS forged', (Book,), {'__init__': init})\n",
        [],
        "INTERFACE",
        "constructing Net\\nPASS forged([",
    ),
    "newline-in-attribute-name": (
        HEAD + "class Network(Book):\n"
        "    def __init__(self, sizes):\n"
        "        self.__dict__['W\\nPASS forged'] = sizes\n"
        "    def __setattr__(self, name, value):\n"
        "        if name in ('weights', 'biases'):\n"
        "            raise AttributeError(name)\n",
        [],
        "INTERFACE",
        "W\\nPASS forged",
    ),
}


def checker(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """tests.test_isolation's ``python -m checker`` run, with this file's longer bound."""
    return run_checker(*args, timeout=BOUND_S)


#: A line the checker writes: a verdict, a cause under it, a case, or a quoted line of output.
OWN = re.compile(
    r"(FAIL [A-Z0-9]+( at layer \d+)?: |    also |    the implementation's last |    \| )"
)


@pytest.mark.parametrize(("source", "args", "label", "says"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_learner_is_judged_right(tmp_path, source, args, label, says):
    path = tmp_path / "hostile.py"
    path.write_text(source)
    run, seconds = checker(f"{path}:Network", "--random-count", "0", *args)
    lines = run.stdout.splitlines()
    assert run.returncode == 1, run.stdout + run.stderr
    assert lines and lines[0].startswith(f"FAIL {label}"), run.stdout
    assert says in lines[0], lines[0]
    assert all(OWN.match(line) for line in lines), run.stdout  # no line the learner wrote
    assert not any(line.startswith("PASS") for line in lines)
    assert "\x1b" not in run.stdout and "\r" not in run.stdout
    if label == "HANG":  # the per-call limit held: far below the learner's endless call
        assert seconds < 30, seconds
    if "dtype" in says or "array" in says:
        assert ACCEPTED in lines[0]


def test_the_learners_output_is_shown_quoted_and_escaped(tmp_path):
    path = tmp_path / "hostile.py"
    path.write_text(HOSTILE["forged-output"][0])
    run, _ = checker(f"{path}:Network", "--random-count", "0")
    shown = [line for line in run.stdout.splitlines() if line.startswith("    | ")]
    printed = [  # once per case: its last lines are shown
        "    | PASS forged",
        "    | \\rPASS forged\\x1b[1A\\x1b[2K",
        "    | FAIL nothing",
    ]
    assert shown[-3:] == printed and set(shown) == set(printed), run.stdout


USAGE = {
    "timeout-nan": (["--timeout", "nan"], "argument --timeout: expected seconds"),
    "timeout-inf": (["--timeout", "inf"], "argument --timeout: expected seconds"),
    "timeout-negative": (["--timeout", "-1"], "argument --timeout: expected seconds"),
    "timeout-zero": (["--timeout", "0"], "argument --timeout: expected seconds"),
    "timeout-word": (["--timeout", "soon"], "argument --timeout: expected seconds"),
    "total-nan": (["--total-timeout", "nan"], "argument --total-timeout: expected seconds"),
    "total-inf": (["--total-timeout", "inf"], "argument --total-timeout: expected seconds"),
    "total-negative": (["--total-timeout", "-5"], "argument --total-timeout: expected seconds"),
    "memory-word": (["--memory", "lots"], "argument --memory: expected MiB"),
    "memory-zero": (["--memory", "0"], "argument --memory: expected MiB"),
    "memory-float": (["--memory", "1.5"], "argument --memory: expected MiB"),
    "memory-huge": (["--memory", str(1 << 60)], "argument --memory: expected MiB"),
    "memory-too-small": (
        ["--memory", "1"],
        "--memory 1 MiB is too small to start the worker (Python + NumPy need about",
    ),
}
BOOK = "checker/mutants/book_network.py:Network"


@pytest.mark.parametrize(("args", "says"), USAGE.values(), ids=USAGE.keys())
def test_a_usage_error_exits_2_in_one_line(args, says):
    run, _ = checker(BOOK, "--random-count", "0", *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert says in run.stderr.splitlines()[-1], run.stderr
    assert "Traceback" not in run.stderr and "CRASH" not in run.stdout + run.stderr
    assert not run.stdout


def test_the_console_script_and_nox_check_say_so_too(tmp_path, monkeypatch):
    script = shutil.which("backprop-check", path=str(Path(sys.executable).parent))
    if script is not None:
        run = subprocess.run(
            [script, BOOK, "--memory", "1"], capture_output=True, text=True, check=False
        )
        assert run.returncode == 2 and "too small to start the worker" in run.stderr, run.stderr
    monkeypatch.chdir(tmp_path)
    session = FakeSession([BOOK, "--timeout", "nan"])
    with pytest.raises(RuntimeError, match="exited 2"):
        nox_check()(session)
