"""The sessions people run: ``nox -s report`` (the main job), ``nox -s tests`` (the gate), ...

Every session installs from pyproject.toml (the project with its oracles, torch pinned to
2.13.0, and a dependency group), so a fresh machine needs only Python and nox.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")
# pytest's logging plugin attaches a handler to every non-propagating logger (torch makes dozens)
# around each test phase: a third of the gate's pytest time. No test here reads logs.
GATE = ["-n", "auto", "--dist", "loadgroup", "-p", "no:logging"]


def install(session: nox.Session, *groups: str) -> None:
    """The project with its oracles, plus the named dependency groups of pyproject.toml."""
    session.install("-e", ".[oracles]")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def tests(session: nox.Session) -> None:
    """The whole test suite, gate included, on all cores (pytest options pass through)."""
    install(session, "test")
    session.run("pytest", *GATE, *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Run the cross-validation gate, write reports/results.json, print the per-oracle table."""
    install(session, "test")
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
        success_codes=[0, 1],
    )
    session.run("python", "-m", "harness.summary", "reports/results.json")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Speed figures side by side, each with its target (issue 6): python -m benchmarks.bench."""
    install(session, "test")
    session.run("python", "-m", "benchmarks.bench", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and import order."""
    install(session, "lint")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on the reference and the oracles."""
    install(session, "typecheck")
    session.run("mypy", "reference", "oracles", *session.posargs)
