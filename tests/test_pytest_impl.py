"""``pytest --impl`` as a user runs it: the CLI's limits and isolation, the same usage errors.

Each run is a pytest in a subprocess. The limit options are ``python -m checker``'s under an
``--impl-`` name, parsed by the same code (:data:`checker.usage.OPTIONS`): every usage error of
tests/test_hostile_replies.py's table, renamed, is pytest's usage error (exit 4, one line, no
traceback, no verdict), and a valid limit reaches the worker. The isolation level is in the header
and in every verdict record. The plugin costs nothing until used (no NumPy, no reference at load),
and with ``--impl`` it collects the package's tests and nothing of the repository around.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checker.cost_classes import COST_CLASSES
from checker.isolation import BWRAP_ENV, RLIMITS, level
from checker.usage import OPTIONS
from reference.costs import COSTS
from tests.test_hostile_replies import BOOK, USAGE
from tests.test_isolation import check_cases, learner

ROOT = Path(__file__).parent.parent
BOUND_S = 90.0
QUIET = ["--random-count", "0", "-p", "no:cacheprovider"]
#: python -m checker's name of each limit option → pytest --impl's.
RENAMED = {option.cli: option.pytest for option in OPTIONS}


def renamed(text: str) -> str:
    """``text`` with each ``python -m checker`` option named as under ``pytest --impl``."""
    pattern = "|".join(re.escape(cli) for cli in RENAMED)
    return re.sub(rf"(?<![\w-])({pattern})(?![\w-])", lambda m: RENAMED[m[1]], text)


def pytest_run(
    *args: str, cwd: Path = ROOT, timeout: float = BOUND_S, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``cwd`` with the project importable and ``env`` added."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


PYTEST_USAGE = {
    **{key: ([renamed(a) for a in args], renamed(says)) for key, (args, says) in USAGE.items()},
    "isolation-word": (["--impl-isolation", "some"], "argument --impl-isolation: invalid choice"),
}


@pytest.mark.parametrize(("args", "says"), PYTEST_USAGE.values(), ids=PYTEST_USAGE.keys())
def test_an_invalid_limit_is_a_pytest_usage_error(args, says):
    run = pytest_run("--impl", BOOK, *QUIET, "-q", *args)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if says in line]
    assert len(errors) == 1, run.stderr
    assert "Traceback" not in run.stdout + run.stderr and "CRASH" not in run.stdout + run.stderr
    assert not re.search(r"\d+ (passed|failed)", run.stdout), run.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--impl-timeout", "1"], "backprop(x, y) did not return within 1 s (the per-call limit)"),
        (
            ["--impl-timeout", "100", "--impl-total-timeout", "2"],
            "the total limit of 2 s for this implementation ran out",
        ),
    ],
    ids=["per-call", "total"],
)
def test_a_limit_given_to_pytest_reaches_the_worker(args, says):
    run = pytest_run("--impl", learner("refuses_to_stop"), *QUIET, "-q", *args)
    cases = len(check_cases(0))
    assert run.returncode == 1, run.stdout[-2000:]
    assert f"1 failed, {cases - 1} skipped" in run.stdout, run.stdout[-2000:]
    assert "FAIL HANG: " in run.stdout and says in run.stdout, run.stdout[-2000:]


@pytest.mark.parametrize("refused", [False, True], ids=["as-here", "kernel-refuses"])
def test_the_header_and_every_verdict_record_name_the_isolation(tmp_path, refused):
    env = {BWRAP_ENV: "/bin/false"} if refused else {}
    path = tmp_path / "results.json"
    run = pytest_run("--impl", BOOK, *QUIET, "--results", str(path), **env)
    assert run.returncode == 0, run.stdout[-2000:]
    header = [line for line in run.stdout.splitlines() if line.startswith("checker isolation: ")]
    assert len(header) == 1, run.stdout[:2000]
    name = RLIMITS if refused else level().name
    assert header[0].startswith(f"checker isolation: {name}"), header
    if refused:
        assert "the kernel refused" in header[0] and run.stderr.startswith(f"isolation: {RLIMITS}")
    assert "checker limits: 10 s per call, 300 s per implementation, 2048 MiB" in run.stdout
    verdicts = [r for r in json.loads(path.read_text())["records"] if r["kind"] == "verdict"]
    assert len(verdicts) == len(check_cases(0))
    assert {(r["isolation"], r["isolation_detail"] in header[0]) for r in verdicts} == {
        (name, True)
    }


def test_require_isolation_where_the_kernel_refuses_is_a_usage_error():
    run = pytest_run("--impl", BOOK, *QUIET, "--require-isolation", **{BWRAP_ENV: "/bin/false"})
    assert run.returncode == pytest.ExitCode.USAGE_ERROR, run.stdout + run.stderr
    assert run.stderr.startswith(f"ERROR: isolation: {RLIMITS}, the kernel refused"), run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "collected" not in run.stdout, run.stdout


HEAVY = ("numpy", "reference", "harness", "checker.pytest_cases", "checker.adapter")


def test_loading_the_plugin_imports_nothing_heavy(tmp_path):
    check = f"import checker.impl_plugin, sys; print([m for m in {HEAVY!r} if m in sys.modules])"
    run = subprocess.run(
        [sys.executable, "-c", check],
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0 and run.stdout.strip() == "[]", run.stdout + run.stderr
    # a whole pytest run elsewhere, the plugin loaded, --impl not given: still no NumPy
    (tmp_path / "test_light.py").write_text(
        "import sys\n\ndef test_light():\n    assert 'numpy' not in sys.modules\n"
    )
    light = pytest_run(
        "-p",
        "checker.impl_plugin",
        "-p",
        "no:cacheprovider",
        cwd=tmp_path,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert light.returncode == 0 and "1 passed" in light.stdout, light.stdout + light.stderr


def test_impl_collects_only_the_package_tests_and_imports_nothing_around(tmp_path):
    shutil.copy(ROOT / "checker" / "mutants" / "book_network.py", tmp_path / "network.py")
    (tmp_path / "test_theirs.py").write_text("raise ImportError('the learner\\'s own test')\n")
    run = pytest_run(
        "-p",
        "checker.impl_plugin",
        "--impl",
        "network.py:Network",
        *QUIET,
        "-rA",
        cwd=tmp_path,
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    cases = len(check_cases(0))
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{cases} passed" in run.stdout and "error" not in run.stdout.lower(), run.stdout
    # the package's module, named alike wherever it is installed
    passed = [line for line in run.stdout.splitlines() if line.startswith("PASSED ")]
    ids = "PASSED checker/pytest_cases.py::test_implementation_agrees_with_reference[network.py:"
    assert len(passed) == cases and all(line.startswith(ids) for line in passed), passed


def test_impl_cost_offers_network2s_costs_of_the_reference():
    # --impl-cost's choices come from the class names, so that loading the plugin needs no NumPy;
    # a cost of the reference's with no network2.py class (a new one) is not offered
    assert set(COST_CLASSES) <= set(COSTS)
    assert set(COST_CLASSES) == {"quadratic", "cross_entropy", "log_likelihood"}
