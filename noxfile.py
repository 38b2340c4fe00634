"""The sessions people run: ``nox -s report`` (the main job), ``nox -s tests`` (the gate), ...

Every session installs from pyproject.toml (the project with its oracles, torch pinned to
2.13.0, and a dependency group), so a fresh machine needs only Python and nox.
"""

from __future__ import annotations

import time
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
# pytest's logging plugin attaches a handler to every non-propagating logger (torch makes dozens)
# around each test phase: a third of the gate's pytest time. No test here reads logs.
TRAINING_JSON = "reports/training.json"
GATE = ["-n", "auto", "--dist", "loadgroup", "-p", "no:logging"]


def install(session: nox.Session, *groups: str) -> None:
    """The project with its oracles, plus the named dependency groups of pyproject.toml."""
    session.install("-e", ".[oracles]")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, gate included, on all cores (pytest options pass through)."""
    install(session, "test", "report")
    session.run("pytest", *GATE, *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Run the cross-validation gate; write reports/results.json, junit.xml and index.html (also
    when the gate fails); print the per-oracle table; fail if any comparison failed."""
    install(session, "test", "report")
    session.run(
        "pytest",
        *GATE,
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "--results",
        "reports/results.json",
        "--junitxml",
        "reports/junit.xml",
        *session.posargs,
        success_codes=[0, 1],  # 1: some comparison failed; render the report, then fail below
    )
    # training curves (nox -s training) join the page when they have been written
    training = ["--training", TRAINING_JSON] if Path(TRAINING_JSON).exists() else []
    session.run(
        "python", "-m", "harness.report", "reports/results.json", "reports/index.html", *training
    )
    session.run("python", "-m", "harness.summary", "reports/results.json")


@nox.session(default=False)
def check(session: nox.Session) -> None:
    """Check FILE.py:CLASS (network.py/network2.py style) equation by equation; with no argument,
    run the mutant catalogue and print its verdict table. Writes reports/check.{json,html}."""
    session.install("-e", ".")
    install(session, "report")
    session.run(
        "python",
        "-m",
        "checker",
        "--results",
        "reports/check.json",
        *session.posargs,
        success_codes=[0, 1],
    )
    # the verdicts as a page too (reports/check.html); the session still fails on a violation
    session.run("python", "-m", "harness.report", "reports/check.json", "reports/check.html")
    session.run("python", "-m", "harness.summary", "reports/check.json")


@nox.session(default=False)
def soak(session: nox.Session) -> None:
    """10,000 random architectures through the gate and 2,000 generated ones (hypothesis's
    "soak" profile) against every oracle: zero false alarms required. Prints the time and each
    oracle's margin (largest error/allowed). Options after -- go to the gate's pytest."""
    install(session, "test")
    start = time.perf_counter()
    session.run(
        "pytest",
        *GATE,
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "--random-count",
        "10000",
        "--random-seed",
        "1",
        "--results",
        "reports/soak.json",
        *session.posargs,
        success_codes=[0, 1],
    )
    seconds = time.perf_counter() - start
    session.run("python", "-m", "harness.margins", "reports/soak.json", "--seconds", f"{seconds}")
    session.run(
        "pytest",
        "tests/test_properties.py",
        "-q",
        "--no-header",
        "--hypothesis-profile",
        "soak",
        "--hypothesis-show-statistics",
    )
    session.log(f"soak took {time.perf_counter() - start:.0f} s")


@nox.session(default=False)
def float32(session: nox.Session) -> None:
    """The gate with a float32 reference against the float64 oracles; prints the distribution of
    error/allowed (reports/float32.json). Options after -- go to pytest."""
    install(session, "test")
    session.run(
        "pytest",
        *GATE,
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "--dtype",
        "float32",
        "--results",
        "reports/float32.json",
        *session.posargs,
        success_codes=[0, 1],
    )
    session.run("python", "-m", "harness.margins", "reports/float32.json")


@nox.session(default=False)
def browser(session: nox.Session) -> None:
    """Headless Chromium (Debian's /usr/bin/chromium) opens a generated report: needs chromium."""
    install(session, "test", "report", "browser")
    session.run("pytest", "-m", "browser", "--require-browser", *session.posargs)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Speed figures side by side, each with its target (issue 6): python -m benchmarks.bench."""
    install(session, "test")
    session.run("python", "-m", "benchmarks.bench", *session.posargs)


@nox.session(default=False)
def training(session: nox.Session) -> None:
    """Whole training runs on the digits: the tests, long runs included, then the curves as
    data (reports/training.json) and a plot (reports/training.png). ``-- --long`` for 30 epochs."""
    install(session, "test", "training")
    session.run("pytest", "tests/test_training.py", "--long-training", "-q", "--no-header")
    session.run(
        "python", "-m", "harness.training", "--out", "reports/training.json", *session.posargs
    )
    session.run(
        "python", "-m", "harness.training_plot", "reports/training.json", "reports/training.png"
    )
    if Path("reports/results.json").exists():  # add the curves to the gate's HTML report
        session.run(
            "python",
            "-m",
            "harness.report",
            "reports/results.json",
            "reports/index.html",
            "--training",
            TRAINING_JSON,
        )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and import order."""
    install(session, "lint")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on every package: the reference, the oracles, the harness, the checker and
    the benchmarks (with their libraries installed, so their types are checked too)."""
    install(session, "typecheck", "test", "report")
    packages = ("reference", "oracles", "harness", "checker", "benchmarks")
    session.run("mypy", *packages, *session.posargs)


@nox.session(default=False)
def mutation(session: nox.Session) -> None:
    """mutmut (pinned) over reference/: each mutant against the reference's own tests and the fast
    gate (tests/test_mutation.py); prints mutants, killed, survived, timed out and the kill rate
    over non-equivalent mutants (tests/mutation_equivalents.txt); fails if the target is missed.
    Options after -- go to ``mutmut run`` (e.g. --max-children 2, or mutant names)."""
    install(session, "test", "mutation")
    session.run("mutmut", "run", *session.posargs, env={"OMP_NUM_THREADS": "1"})
    session.run("python", "-m", "harness.mutation")
