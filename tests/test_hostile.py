"""The checker holds against a hostile learner (issue 22): the kernel's isolation, and its refusal.

Each file of tests/data/hostile/ attacks one way and returns wrong gradients unless its attack
worked; run as a user would (``python -m checker``) it must FAIL, leave no process behind (its
token in no command line), no project file changed (checker/ hashed before and after) and the
checker's own results file standing. Where the kernel refuses the jail, the checker says so and
``--require-isolation`` is an error (simulated with a bwrap that exits 1).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from checker.isolation import BWRAP_ENV, NAMESPACES, RLIMITS, level
from checker.mutants import CORRECT
from tests.test_pytest_impl import pytest_run

ROOT = Path(__file__).parent.parent
HOSTILE = Path(__file__).parent / "data" / "hostile"
BOOK_NETWORK = next(m.spec for m in CORRECT if m.spec.endswith("book_network.py:Network"))
BOUND_S = 60.0
#: Seconds a daemon that survived would need to show itself (it rewrites the results every 50 ms).
LINGER_S = 1.0
QUIET = ["--require-isolation", "-q", "-p", "no:cacheprovider"]

jailed = pytest.mark.skipif(
    level().name != NAMESPACES, reason=f"no kernel isolation here: {level().detail}"
)


def project_hash() -> str:
    """A digest of checker/'s source files (names and contents)."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "checker").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def processes_with(token: str) -> list[int]:
    """Every process on the machine whose command line holds ``token`` (a /proc scan)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and token.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def run_checker(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "checker", *args],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **(env or {})),
        capture_output=True,
        text=True,
        timeout=BOUND_S,
        check=False,
    )


@jailed
@pytest.mark.parametrize("name", sorted(p.stem for p in HOSTILE.glob("*.py")))
def test_a_hostile_learner_fails_and_leaves_nothing_behind(name, tmp_path):
    token = f"hostile-{uuid.uuid4().hex}"
    secret = "BACKPROP_TEST_SECRET"
    folder, out = tmp_path / "learner", tmp_path / "out"
    folder.mkdir()
    out.mkdir()
    results = out / "check.json"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        target = {
            "token": token,
            "results": str(results),
            "caller": os.getpid(),
            "port": listener.getsockname()[1],
            "secret_name": secret,
            "project": str(ROOT),
        }
        (folder / "target.json").write_text(json.dumps(target))
        shutil.copy(HOSTILE / f"{name}.py", folder / "learner.py")
        before = project_hash()
        run = run_checker(
            [str(folder / "learner.py"), "--random-count", "0", "--results", str(results)],
            env={secret: token},
        )
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected
    lines = run.stdout.splitlines()
    # a gradient's verdict: the file loaded and ran, its attack failed (not a LOAD or a CRASH)
    assert run.returncode == 1 and lines and lines[0].startswith("FAIL BP"), run.stdout[-2000:]
    assert not any(line.startswith("PASS") for line in lines), run.stdout[-2000:]
    assert token not in run.stdout + run.stderr  # the secret was not there to print
    assert not processes_with(token)  # gone when the checker returned
    written = results.read_bytes()
    time.sleep(LINGER_S)
    assert results.read_bytes() == written and "forged" not in written.decode()
    data = json.loads(written)
    overall = [r for r in data["records"] if r.get("arch") is None]
    assert [r["label"] for r in overall] != ["PASS"] and data["environment"]["isolation"] == (
        NAMESPACES
    )
    assert project_hash() == before


@jailed
def test_the_jailed_worker_sees_no_project_and_writes_nowhere_but_its_tmp(tmp_path):
    probe, inside = tmp_path / "probe.py", str(ROOT / "checker" / "x.py")
    probe.write_text(
        "import os, json, sys\n"
        "from checker.mutants.book_network import Network\n"
        "seen = {p: os.path.exists(p) for p in sys.argv[1:]}\n"
        "def w(p):\n"
        "    try:\n"
        "        open(p, 'a').close(); return True\n"
        "    except OSError:\n"
        "        return False\n"
        f"print(json.dumps({{'seen': seen, 'tmp': w('/tmp/x'), 'checker': w({inside!r})}}))\n"
    )
    hidden = [str(ROOT / d / "__init__.py") for d in ("reference", "harness", "oracles")]
    hidden += [str(ROOT / "tests"), str(ROOT / ".git"), str(ROOT / "pyproject.toml")]
    from checker.isolation import Jail

    jail = Jail("auto", (ROOT / "checker", tmp_path))
    argv = jail.command([sys.executable, "-P", str(probe), *hidden])
    env = jail.env([str(ROOT)], tmp_path)
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, pass_fds=jail.fds())
    jail.started(proc)
    stdout, _ = proc.communicate(timeout=BOUND_S)
    jail.end(proc)
    got = json.loads(stdout)
    assert got == {"seen": dict.fromkeys(hidden, False), "tmp": True, "checker": False}


def test_where_the_kernel_refuses_the_checker_says_so_and_require_isolation_is_an_error(
    tmp_path,
):
    refuse = {BWRAP_ENV: "/bin/false"}
    required = run_checker([BOOK_NETWORK, "--random-count", "0", "--require-isolation"], refuse)
    assert required.returncode == 2 and not required.stdout, required.stdout
    assert required.stderr.startswith(f"isolation: {RLIMITS}, the kernel refused"), required.stderr
    assert len(required.stderr.splitlines()) == 1
    results = tmp_path / "check.json"
    ran = run_checker([BOOK_NETWORK, "--random-count", "0", "--results", str(results)], refuse)
    assert ran.returncode == 0 and ran.stdout.startswith("PASS "), ran.stdout
    assert ran.stderr.startswith(f"isolation: {RLIMITS}"), ran.stderr
    assert json.loads(results.read_text())["environment"]["isolation"] == RLIMITS
    impl = pytest_run(
        "--impl", BOOK_NETWORK, "--random-count", "0", *QUIET, timeout=BOUND_S, **refuse
    )
    # pytest's own usage error (tests/test_pytest_impl.py checks its line)
    assert impl.returncode == pytest.ExitCode.USAGE_ERROR, impl.stdout[-2000:]


def test_isolation_none_is_rlimits_only_and_said():
    assert level("none").name == RLIMITS and "--isolation none" in level("none").line()
    run = run_checker([BOOK_NETWORK, "--random-count", "0", "--isolation", "none"])
    assert run.returncode == 0 and run.stderr.startswith(f"isolation: {RLIMITS}"), run.stderr
