"""The gate's xdist scheduler (harness.scheduling): every test runs once, groups stay whole, and a
worker's assigned work holds only groups in flight (xdist's keeps every finished group too, and
recounts them all after each test: quadratic in the run's length)."""

from __future__ import annotations

from types import SimpleNamespace

from harness.scheduling import GroupScheduling, make_scheduler


class FakeWorker:
    """What the scheduler sees of a worker: an id; it is sent test indices, told to shut down."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.queue: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.queue += indices

    def shutdown(self) -> None:
        self.shutting_down = True


def test_groups_run_whole_once_each_and_finished_ones_are_forgotten(pytester):
    config = pytester.parseconfig("--tx", "2*popen", "--dist", "loadgroup")
    sched = make_scheduler(config, None)
    assert isinstance(sched, GroupScheduling)
    collection = [f"test_g.py::test_{i}[{g}]@arch{g}" for g in range(40) for i in range(3)]
    workers = [FakeWorker("gw0"), FakeWorker("gw1")]
    for worker in workers:
        sched.add_node(worker)
    for worker in workers:
        sched.add_node_collection(worker, collection)
    sched.schedule()
    ran: dict[str, FakeWorker] = {}
    while any(w.queue for w in workers):
        for worker in (w for w in workers if w.queue):
            index = worker.queue.pop(0)
            ran[collection[index]] = worker
            sched.mark_test_complete(worker, index)
            in_flight = sched.assigned_work[worker]
            assert all(not all(unit.values()) for unit in in_flight.values())  # none finished
            assert len(in_flight) <= 2
    assert sorted(ran) == sorted(collection)  # every test ran, once
    for g in range(40):  # each group on one worker
        assert len({ran[n] for n in collection if n.endswith(f"@arch{g}")}) == 1
    assert all(w in ran.values() for w in workers)
    assert sched.tests_finished and not sched.has_pending


def test_other_distribution_modes_keep_xdists_scheduler(pytester):
    assert make_scheduler(pytester.parseconfig("--tx", "2*popen", "--dist", "load"), None) is None


def test_auto_is_a_worker_per_core_and_one_process_on_one_core(pytester, monkeypatch):
    from harness import pytest_plugin

    for cores, workers in ((1, 0), (2, 2), (3, 3), (8, 8)):
        monkeypatch.setattr(pytest_plugin.os, "cpu_count", lambda cores=cores: cores)
        config = pytester.parseconfig("-p", "harness.pytest_plugin", "-n", "auto")
        assert config.hook.pytest_xdist_auto_num_workers(config=config) == workers, cores


def test_the_gate_sends_each_architecture_whole_to_one_worker():
    """A real ``-n 2 --dist loadgroup`` gate run: every comparison of an architecture runs on the
    worker that built its case (on pytest 9.2, xdist's own grouping silently stopped, and both
    workers built every architecture: harness.gate_ids), and the workers' reports come in
    batches."""
    import subprocess
    import sys
    from collections import defaultdict

    from harness.gate_ids import architecture_of

    command = [sys.executable, "-m", "pytest", "tests/test_gate.py", "-v", "-p", "no:cacheprovider"]
    command += ["-n", "2", "--dist", "loadgroup", "--oracle", "torch", "-k", "_m2_ or _m3_"]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    workers = defaultdict(set)
    for line in out.splitlines():  # "[gw0] [ 10%] PASSED tests/test_gate.py::test_…[…]"
        if line.startswith("[gw") and "tests/test_gate.py::" in line:
            nodeid = line.split()[-1]
            workers[architecture_of(nodeid)].add(line.split()[0])
    assert None not in workers, "a gate test id the scheduler cannot read"
    assert len(workers) >= 3, out[-2000:]
    assert all(len(w) == 1 for w in workers.values()), dict(workers)
    assert "xdist workers sent their reports in" in out  # in batches (harness.report_batching)


def test_an_architecture_is_read_back_from_every_gate_test_id():
    from harness.architectures import CURATED
    from harness.gate_ids import architecture_of, comparison_id, malformed_id

    def node(param_id: str) -> str:
        return f"tests/test_gate.py::test_oracle_agrees_with_reference[{param_id}]"

    for arch in CURATED:
        for oracle in ("torch", "forward_mode", "complex_step"):
            assert architecture_of(node(comparison_id(arch.id, oracle, "nabla_w", 12))) == arch.id
            assert architecture_of(node(malformed_id(arch.id, oracle))) == arch.id
    assert architecture_of("tests/test_training.py::test_drift[tiny-sgd]") is None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_worker_sends_its_per_test_messages_in_order_in_batches():
    from harness.report_batching import BATCH, Batcher

    sent: list[tuple[str, dict]] = []
    clock = Clock()
    batcher = Batcher(
        lambda name, **kw: sent.append((name, kw)), max_events=4, max_seconds=1.0, clock=clock
    )
    per_test = [
        "logstart",
        "testreport",
        "testreport",
        "testreport",
        "logfinish",
        "runtest_protocol_complete",
    ]
    for i, name in enumerate(per_test):
        batcher.sendevent(name, i=i)
    assert [name for name, _ in sent] == [BATCH]  # four held, then sent as one message
    assert [e for e, _ in sent[0][1]["events"]] == per_test[:4]
    batcher.sendevent("workerfinished", workeroutput={})  # any other message: the held go first
    assert [name for name, _ in sent] == [BATCH, BATCH, "workerfinished"]
    assert [kw["i"] for _, kw in sent[1][1]["events"]] == [4, 5]
    batcher.sendevent("logstart", i=6, nodeid="t.py::test_6")
    clock.now = 1.0
    batcher.sendevent("logfinish", i=7)  # the oldest held is MAX_SECONDS old: sent
    assert [kw["i"] for _, kw in sent[-1][1]["events"]] == [6, 7]
    assert batcher.batches == 3 and not batcher.events


def test_a_worker_keeps_the_id_of_the_test_it_last_started(tmp_path):
    from harness.report_batching import Batcher, started, started_file

    path = started_file(str(tmp_path), "gw3")
    batcher = Batcher(lambda name, **kw: None, started=path.open("w", encoding="utf-8"))
    node = SimpleNamespace(workerinput={"crossval_batch": str(tmp_path), "workerid": "gw3"})
    batcher.sendevent("logstart", nodeid="t.py::test_long_name[abc]", location=("t.py", 1, "x"))
    batcher.sendevent("logstart", nodeid="t.py::test_b", location=("t.py", 2, "y"))
    assert started(node) == "t.py::test_b"  # the shorter id replaced the longer one whole
    batcher.close()
    assert started(node) == "t.py::test_b" and batcher.started is None
    assert started(SimpleNamespace(workerinput={})) is None


def test_the_controller_unpacks_a_batch_into_xdists_own_events(monkeypatch):
    from xdist.workermanage import WorkerController

    from harness.report_batching import BATCH, install_in_controller

    seen: list[object] = []
    node = SimpleNamespace(workerinput={})
    monkeypatch.setattr(WorkerController, "process_from_remote", lambda _, e: seen.append(e))
    monkeypatch.setattr(WorkerController, "_crossval_unpacks", False, raising=False)
    install_in_controller(node, "spool-folder")
    events = [("logstart", {"nodeid": "a"}), ("logfinish", {"nodeid": "a"})]
    WorkerController.process_from_remote(node, (BATCH, {"events": events}))
    WorkerController.process_from_remote(node, ("workerready", {}))
    assert seen == [*events, ("workerready", {})]
    assert node.workerinput[BATCH] == "spool-folder"


CRASHING_GATE = """
import os
import pytest

@pytest.mark.parametrize("layer", range(40), ids=[f"net-torch-delta-layer{i}" for i in range(40)])
def test_oracle_agrees_with_reference(layer):
    if layer == 30:
        os._exit(3)  # as a segfault would: no report, no flush
"""


def test_a_crashed_worker_is_blamed_for_the_test_it_was_running_not_a_batched_neighbour(pytester):
    """40 comparisons of one architecture (one group, one worker); the 31st kills its worker
    while the 30 before it have their reports held in a batch. xdist would blame the first test
    it has no report of; the gate's scheduler names the one that was running."""
    pytester.makepyfile(test_gate=CRASHING_GATE)
    result = pytester.runpytest_subprocess(
        "-p", "harness.pytest_plugin", "-n", "2", "--dist", "loadgroup", "--max-worker-restart", "0"
    )
    crashes = [line for line in result.outlines if "crashed while running" in line]
    assert crashes, result.stdout.str()[-2000:]
    assert "net-torch-delta-layer30]" in crashes[0], crashes
