"""The implementation under test runs in a process of its own, and every verdict is honest.

Each learner file in tests/data/learners/ misbehaves one way (its docstring says how); each test
runs the checker on it as a user would (``python -m checker``, ``pytest --impl``, the ``nox -s
check`` session's steps) and asserts the named verdict, the exit status and a time bound.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from checker.adapter import Implementation
from checker.mutants import CORRECT
from checker.protocol import MAX_HEADER_BYTES, ProtocolError, Reader, encode
from checker.run import Options, check_case, check_spec
from checker.usage import Limits
from reference import Architecture

ROOT = Path(__file__).parent.parent
LEARNERS = Path(__file__).parent / "data" / "learners"
#: Random architectures added to the curated ones: enough cases to count, few to wait for.
FEW = ["--random-count", "2"]
BOOK_NETWORK = next(m.spec for m in CORRECT if m.spec.endswith("book_network.py:Network"))
#: Seconds a run on a learner may take here: generous for a loaded machine, far below "forever".
BOUND_S = 60.0


def learner(name: str) -> str:
    return str(LEARNERS / f"{name}.py")


def checker(*args: str, timeout: float = BOUND_S) -> tuple[subprocess.CompletedProcess[str], float]:
    """``python -m checker ARGS`` from the repository root: the run and its wall-clock seconds."""
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "checker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return run, time.monotonic() - start


def test_a_numpy_patch_made_at_import_does_not_reach_the_reference():
    run, _ = checker(learner("patches_numpy"), *FEW)
    assert run.returncode == 1, run.stdout
    assert run.stdout.startswith("FAIL BP1 at layer 3: "), run.stdout


def test_a_learner_that_ignores_signals_and_catches_everything_is_stopped():
    run, seconds = checker(learner("refuses_to_stop"), "--timeout", "1", *FEW)
    assert run.returncode == 1 and seconds < BOUND_S, run.stdout
    line = run.stdout.splitlines()[0]
    assert line.startswith("FAIL HANG: "), line
    assert "backprop(x, y) did not return within 1 s (the per-call limit)" in line, line
    cases = len(check_cases(2))
    assert f"1 of {cases} cases fail (HANG ×1); {cases - 1} not run" in line, line


def test_the_total_limit_stops_a_run_that_each_call_limit_would_not():
    run, seconds = checker(
        learner("refuses_to_stop"), "--timeout", "100", "--total-timeout", "2", *FEW
    )
    assert run.returncode == 1 and seconds < BOUND_S, run.stdout
    assert run.stdout.startswith("FAIL HANG: "), run.stdout
    assert "the total limit of 2 s for this implementation ran out" in run.stdout, run.stdout


def test_exiting_with_status_0_in_the_middle_of_a_call_is_a_crash():
    run, _ = checker(learner("exits_midcall"), *FEW)
    assert run.returncode == 1, run.stdout
    assert run.stdout.startswith("FAIL CRASH: "), run.stdout
    assert "during backprop(x, y), the process exited with status 0" in run.stdout


def test_memory_past_the_limit_is_memory():
    run, _ = checker(learner("eats_memory"), "--memory", "512", *FEW)
    assert run.returncode == 1, run.stdout
    assert run.stdout.startswith("FAIL MEMORY: "), run.stdout
    assert "backprop(x, y) ran out of memory" in run.stdout


def test_printing_100_mb_does_not_bury_the_verdict_and_the_tail_shown_is_short():
    run, _ = checker(learner("prints_a_lot"), *FEW)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert lines[0].startswith("FAIL BP1 at layer "), run.stdout[:300]
    assert len(run.stdout) < 5000  # of 100 MB and more, a bounded tail is shown
    assert lines[-1].startswith("    | ") and "computing the output error" in lines[-1]


def test_two_specs_in_one_run_cannot_see_each_other():
    # the first patches NumPy; the next two each `import network` from their own folder
    specs = [
        learner("patches_numpy"),
        learner("own_folder_a/learner"),
        learner("own_folder_b/learner"),
    ]
    run, _ = checker(*specs, *FEW)
    lines = [line for line in run.stdout.splitlines() if not line.startswith("    ")]
    assert run.returncode == 1 and len(lines) == 3, run.stdout
    assert lines[0].startswith("FAIL BP1 at layer "), lines[0]
    assert lines[1].startswith(f"PASS {specs[1]}: "), lines[1]
    assert lines[2].startswith("FAIL BP1 at layer "), lines[2]


def test_a_swapped_pair_is_interface_saying_so():
    run, _ = checker(learner("swapped_pair"), *FEW)
    assert run.returncode == 1 and run.stdout.startswith("FAIL INTERFACE: "), run.stdout
    assert "returned the pair swapped, (nabla_w, nabla_b)" in run.stdout


def test_a_float32_backprop_is_judged_at_float32_precision():
    run, _ = checker(learner("float32_network"), *FEW)
    assert run.returncode == 0, run.stdout
    assert run.stdout.startswith("PASS ") and "at float32 precision" in run.stdout, run.stdout
    wrong, _ = checker(learner("float32_wrong"), *FEW)
    assert wrong.returncode == 1 and wrong.stdout.startswith("FAIL BP1 at layer "), wrong.stdout


def test_a_matrix_form_update_is_not_checked_and_backprop_still_passes_unless_strict():
    run, _ = checker(learner("matrix_update"), *FEW)
    assert run.returncode == 0 and run.stdout.startswith("PASS "), run.stdout
    assert "update_mini_batch(X, Y, eta) is not the book's" in run.stdout
    assert "backprop agree with the reference" in run.stdout
    strict, _ = checker(learner("matrix_update"), "--strict", *FEW)
    assert strict.returncode == 1 and strict.stdout.startswith("FAIL INTERFACE: "), strict.stdout


def test_no_learner_code_is_imported_into_the_checkers_process():
    before = set(sys.modules)
    exp = np.exp
    specs = ["patches_numpy", "own_folder_a/learner", "own_folder_b/learner", "swapped_pair"]
    for spec in specs:
        check_spec(learner(spec), 0, 0)
    loaded = [
        name
        for name, module in sys.modules.items()
        if name not in before
        and LEARNERS.resolve() in Path(getattr(module, "__file__", None) or "/").resolve().parents
    ]
    assert not loaded
    assert not {"network", "learner", "float32_network"} & set(sys.modules)
    assert np.exp is exp and isinstance(np.exp, np.ufunc) and np.exp(0.0) == 1.0


def test_a_call_is_timed_from_its_own_start_not_an_earlier_one():
    # pytest --impl loads at collection and calls much later: the import's recorded start must
    # not count against the first call (it once read as "importing ... did not return")
    impl = Implementation.open(BOOK_NETWORK, Limits(call_s=0.5))
    try:
        time.sleep(1.0)
        verdict = check_case(impl, Architecture((3, 4, 2), "sigmoid", "quadratic", batch=2))
    finally:
        impl.close()
    assert verdict.passed, verdict.line()


def _worker_children() -> set[str]:
    """This process's children that are checker workers (pid and command line)."""
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", str(os.getpid())],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return {line.strip() for line in out.splitlines() if "checker.worker" in line}


def test_every_worker_is_gone_after_a_check():
    # workers this process had before (pytest --impl's, kept open for its cases) are not ours
    before = _worker_children()
    verdict = check_spec(learner("refuses_to_stop"), 0, 0, Options(Limits(call_s=0.5)))
    assert verdict.label == "HANG"
    left = _worker_children() - before
    assert not left, left


# --- no stale verdicts -------------------------------------------------------------------------


def test_a_results_file_is_written_afresh(tmp_path):
    path = tmp_path / "check.json"
    path.write_text('{"schema": 1, "stale": true}')
    run, _ = checker(learner("exits_midcall"), *FEW, "--results", str(path))
    assert run.returncode == 1
    data = json.loads(path.read_text())
    assert "stale" not in data
    labels = {r["label"] for r in data["records"] if r.get("arch") is None}
    assert labels == {"CRASH"}
    assert not list(tmp_path.glob(".*partial"))


def test_a_checker_killed_mid_run_leaves_no_results_file_and_no_worker(tmp_path):
    path = tmp_path / "check.json"
    path.write_text('{"schema": 1, "stale": true}')
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checker",
            learner("refuses_to_stop"),
            "--timeout",
            "100",
            "--results",
            str(path),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + BOUND_S
    workers: list[str] = []
    while not workers and time.monotonic() < deadline:  # the worker is started
        time.sleep(0.2)
        workers = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
    time.sleep(1.0)  # the worker is in the endless backprop now; the stale file is gone
    assert not path.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert workers and not path.exists()
    deadline = time.monotonic() + 5.0
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [
        pid
        for pid in workers
        if Path(f"/proc/{pid}/cmdline").exists()
        and b"checker.worker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    assert not alive  # the worker died with the checker (PR_SET_PDEATHSIG)


class FakeSession:
    """Enough of nox.Session to run noxfile's ``check`` steps here: ``run`` honours success_codes
    as nox does; ``checker`` replaces the checker's command line when given."""

    def __init__(self, posargs: list[str], checker: list[str] | None = None) -> None:
        self.posargs = posargs
        self.checker = checker
        self.ran: list[list[str]] = []

    def install(self, *args: str) -> None:
        pass

    def run(self, *args: str, success_codes: list[int] | None = None) -> None:
        command = [sys.executable if a == "python" else a for a in args]
        if self.checker is not None and args[:3] == ("python", "-m", "checker"):
            command = self.checker
        self.ran.append(list(args))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        code = subprocess.run(command, env=env, timeout=BOUND_S, check=False).returncode
        if code not in (success_codes or [0]):
            raise RuntimeError(f"{args[:3]} exited {code}")

    def error(self, message: str) -> None:
        raise RuntimeError(message)


def nox_check() -> types.FunctionType:
    """noxfile.check, the function under its nox decorator."""
    sys.path.insert(0, str(ROOT))
    try:
        with contextlib.chdir(ROOT):  # it reads pyproject.toml when imported
            import noxfile
    finally:
        sys.path.remove(str(ROOT))
    return getattr(noxfile.check, "func", noxfile.check)


@pytest.mark.parametrize(
    "dies",
    [
        [sys.executable, "-c", "raise SystemExit(1)"],  # exit 1, as a verdict would, unwritten
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
    ],
    ids=["exit-1-without-results", "killed"],
)
def test_nox_check_fails_when_the_checker_did_not_finish(tmp_path, monkeypatch, dies):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    stale = tmp_path / "reports" / "check.json"
    stale.write_text('{"schema": 1, "environment": {}, "records": []}')
    session = FakeSession([learner("swapped_pair")], checker=dies)
    with pytest.raises(RuntimeError):
        nox_check()(session)
    assert not (tmp_path / "reports" / "check.html").exists()
    assert all(args[:3] == ("python", "-m", "checker") for args in map(tuple, session.ran))


def test_nox_check_renders_the_verdicts_and_fails_on_a_failing_implementation(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    session = FakeSession([learner("exits_midcall"), *FEW])
    with pytest.raises(RuntimeError, match=r"harness\.summary"):
        nox_check()(session)
    page = (tmp_path / "reports" / "check.html").read_text()
    title = page[page.index("<title>") : page.index("</title>")]
    assert "FAILED" in title and "1 of 1 implementations fail" in title, title
    assert "CRASH ×1" in page and "comparisons of 0 architectures" not in page


# --- pytest --impl -----------------------------------------------------------------------------


def check_cases(random_count: int) -> list[object]:
    from checker.architectures import sigmoid_architectures

    return list(sigmoid_architectures(random_count, 0))


def test_pytest_impl_stops_a_crash_and_skips_the_cases_not_run():
    start = time.monotonic()
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--impl",
            learner("exits_midcall"),
            "--impl",
            learner("swapped_pair"),
            "--random-count",
            "0",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=BOUND_S * 2,
        check=False,
    )
    assert time.monotonic() - start < BOUND_S * 2
    cases = len(check_cases(0))
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"{1 + cases} failed" in run.stdout and f"{cases - 1} skipped" in run.stdout, run.stdout[
        -2000:
    ]
    assert "exited with status 0" in run.stdout and "returned the pair swapped" in run.stdout


# --- the reply channel: nothing received is unpickled or trusted ---------------------------------


def test_messages_round_trip_with_their_arrays():
    arrays = [np.arange(6.0).reshape(2, 3), np.ones((3, 1), np.float32), np.array([True])]
    data = encode({"reply": {"x": 1}}, arrays)
    reader = Reader()
    got = [m for i in range(len(data)) for m in reader.feed(data[i : i + 1])]  # byte by byte
    assert len(got) == 1 and got[0][0] == {"reply": {"x": 1}}
    for sent, received in zip(arrays, got[0][1], strict=True):
        assert received.dtype == sent.dtype and np.array_equal(received, sent)


@pytest.mark.parametrize(
    "spec",
    [
        ["|O", [1]],
        ["|V8", [1]],
        ["<c16", [1]],
        ["<U4", [1]],
        ["<f8", [1 << 40]],
        ["<f8", [-1]],
        ["<f8", [True]],
        "<f8",
        ["<f8", [2], 3],
    ],
    ids=["object", "void", "complex", "string", "huge", "negative", "bool-dim", "bare", "extra"],
)
def test_the_reader_refuses_anything_but_a_plain_numeric_array(spec):
    head = json.dumps({"reply": {}, "arrays": [spec]}).encode()
    with pytest.raises(ProtocolError):
        list(Reader().feed(struct.pack(">I", len(head)) + head + b"\0" * 64))


def test_the_reader_refuses_a_pickle_and_an_oversized_header():
    pickled = pickle.dumps(np.arange(3.0))  # what np.save(allow_pickle=True) could carry
    with pytest.raises(ProtocolError):
        list(Reader().feed(struct.pack(">I", len(pickled)) + pickled))
    with pytest.raises(ProtocolError):
        list(Reader().feed(struct.pack(">I", MAX_HEADER_BYTES + 1)))
