"""The sessions people run: ``nox -s report`` (the main job), ``nox -s tests`` (the gate), ...

Every session installs from pyproject.toml (the project with its oracles, torch pinned to
2.13.0, and a dependency group), so a fresh machine needs only Python and nox.
"""

from __future__ import annotations

import sys
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
CHECK_JSON = "reports/check.json"
UPSTREAM_JSON = "reports/upstream.json"
#: The gate's per-test durations, committed: pytest-split divides the gate into shards by them.
DURATIONS = ".test_durations"
SHARDS = "reports/shards"
#: plain ``-n auto`` (``--dist load``): the gate is one test per architecture, so each runs whole
#: on one worker with no scheduler of ours (tests/test_gate.py)
GATE = ["-n", "auto", "-p", "no:logging"]


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
        *session.posargs,
        success_codes=[0, 1],  # 1: some comparison failed; render the report, then fail below
    )
    # one JUnit case per comparison (pytest's --junitxml folds the subtests into one per net)
    session.run("python", "-m", "harness.junit", "reports/results.json", "reports/junit.xml")
    # training curves (nox -s training) and framework bugs (nox -s upstream) join the page when
    # they have been written
    rerender_report(session)
    session.run("python", "-m", "harness.summary", "reports/results.json")


@nox.session(default=False)
def check(session: nox.Session) -> None:
    """Check FILE.py:CLASS (network.py/network2.py style) equation by equation; with no argument,
    run the mutant catalogue and print its verdict table. Writes reports/check.{json,html}.
    Fails when the checker did not finish (no fresh reports/check.json: an earlier one is removed
    first and never rendered) or when any verdict is not as expected."""
    session.install("-e", ".")
    install(session, "report")
    results_file = Path(CHECK_JSON)
    results_file.unlink(missing_ok=True)
    session.run(
        "python",
        "-m",
        "checker",
        "--results",
        CHECK_JSON,
        *session.posargs,
        success_codes=[0, 1],  # 1: a verdict failed; rendered below, then the session fails
    )
    if not results_file.exists():  # exit 1 without results: the checker itself failed
        session.error(f"the checker did not finish: it wrote no {CHECK_JSON}")
    # the verdicts as a page too (reports/check.html); the session still fails on a violation
    session.run("python", "-m", "harness.report", CHECK_JSON, "reports/check.html")
    session.run("python", "-m", "harness.summary", CHECK_JSON)


@nox.session(default=False)
def upstream(session: nox.Session) -> None:
    """Reproduce every known torch and jax bug of oracles/known_upstream.toml on the installed
    versions (standalone snippets, judged against mpmath) and probe for more of the same kind:
    one line per bug, reports/upstream.json. Exits 0 whether they reproduce or not; fails only
    when it cannot run (python -m harness.upstream)."""
    install(session, "upstream", "report")
    session.run("python", "-m", "harness.upstream", "--out", UPSTREAM_JSON, *session.posargs)
    if Path("reports/results.json").exists():  # add the bugs to the gate's HTML report
        rerender_report(session)


def rerender_report(session: nox.Session) -> None:
    """reports/index.html again from reports/results.json, with the training curves and the
    framework bugs that have been written."""
    training = ["--training", TRAINING_JSON] if Path(TRAINING_JSON).exists() else []
    upstream = ["--upstream", UPSTREAM_JSON] if Path(UPSTREAM_JSON).exists() else []
    session.run(
        "python",
        "-m",
        "harness.report",
        "reports/results.json",
        "reports/index.html",
        *training,
        *upstream,
    )


def _soak_gate(session: nox.Session, results: str, *options: str) -> None:
    """The gate on all cores with the soak's seed and ``options``, every comparison to
    ``results``, each oracle's margin (largest error/allowed) printed, and its time logged."""
    start = time.perf_counter()
    session.run(
        "pytest",
        *GATE,
        *options,
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "--random-seed",
        "1",
        "--results",
        results,
        "--margins",  # from the records in memory: reading the 560 MB file again took 17 s
        *session.posargs,
    )
    session.log(f"{session.name} took {time.perf_counter() - start:.0f} s")


@nox.session(default=False)
def soak(session: nox.Session) -> None:
    """10,000 random architectures through the gate and 2,000 generated ones (hypothesis's
    "soak" profile) against every oracle, in one pytest run (xdist balances the generated
    tests' minute against the gate's), zero false alarms required. Prints the time and each
    oracle's margin. Options after -- go to pytest."""
    install(session, "test")
    _soak_gate(
        session,
        "reports/soak.json",
        "tests/test_properties.py",  # first: its long tests start at once, one per worker
        "--hypothesis-profile",
        "soak",
        "--hypothesis-show-statistics",
        "--random-count",
        "10000",
    )


@nox.session(default=False)
def soak_maps(session: nox.Session) -> None:
    """The soak's feature-map families: 500 seeded random conv/pool nets (--random-maps, the
    soak's seed) and the curated ones, every oracle and the ground truth, zero false alarms
    required. Its own session: a map net costs about 2 s of JAX compiling its shapes, so these
    would take the 10,000-net soak past its 5 minutes. Options after -- go to pytest."""
    install(session, "test")
    _soak_gate(
        session,
        "reports/soak-maps.json",
        "--random-count",
        "0",
        "--random-maps",
        "500",
    )


@nox.session(default=False)
def shard(session: nox.Session) -> None:
    """One shard of the gate, for a CI matrix: ``nox -s shard -- K N [pytest options]`` runs
    group K of N (pytest-split, by the durations in .test_durations) and writes
    reports/shards/results-K.json and junit-K.xml. ``nox -s merge -- N`` joins the shards."""
    if len(session.posargs) < 2:
        session.error("usage: nox -s shard -- K N [pytest options]  (group K of N)")
    group, splits, *rest = session.posargs
    install(session, "test")
    session.run(
        "pytest",
        *GATE,
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "--splits",
        splits,
        "--group",
        group,
        "--durations-path",
        DURATIONS,
        "--results",
        f"{SHARDS}/results-{group}.json",
        *rest,
        success_codes=[0, 1],  # 1: some comparison failed; its JUnit cases say which, below
    )
    results = f"{SHARDS}/results-{group}.json"
    session.run("python", "-m", "harness.junit", results, f"{SHARDS}/junit-{group}.xml")


@nox.session(default=False)
def merge(session: nox.Session) -> None:
    """The shards as one run: ``nox -s merge -- N`` checks that reports/shards holds shards 1…N
    of one run, writes reports/results.json and reports/index.html and prints the summary; fails
    if a shard is missing or any comparison failed (python -m harness.shards)."""
    session.install("-e", ".")
    session.install(*nox.project.dependency_groups(PYPROJECT, "report"))
    expect = ["--expect", session.posargs[0]] if session.posargs else []
    shards = sorted(str(p) for p in Path(SHARDS).glob("results-*.json"))
    session.run(
        "python",
        "-m",
        "harness.shards",
        *shards,
        "--out",
        "reports/results.json",
        "--html",
        "reports/index.html",
        *expect,
    )


@nox.session(default=False)
def durations(session: nox.Session) -> None:
    """Re-measure the gate's per-test durations (.test_durations, committed), which pytest-split
    divides shards by: run it after adding an oracle or architectures, then commit the file.
    torch and jax are imported before pytest starts: every shard pays that once, and charged to
    the first test it would make one shard a few tests long."""
    install(session, "test")
    session.run(
        "python",
        "-c",
        "import sys, jax, torch, pytest; sys.exit(pytest.main(sys.argv[1:]))",
        "tests/test_gate.py",
        "-q",
        "--no-header",
        "-p",
        "no:logging",
        "--store-durations",
        "--clean-durations",
        "--durations-path",
        DURATIONS,
        *session.posargs,
    )


@nox.session(default=False)
def wheel(session: nox.Session) -> None:
    """Build the wheel, install it alone (NumPy, no torch or jax) in a fresh venv, and run
    ``backprop-check`` and ``pytest --impl`` from a folder outside the checkout
    (tests/test_install.py; needs the package index)."""
    install(session, "test", "install")
    session.run("pytest", "tests/test_install.py", "--wheel", "-q", *session.posargs)


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
        "python",
        "-m",
        "harness.training_report",
        "--out",
        "reports/training.json",
        *session.posargs,
    )
    session.run(
        "python", "-m", "harness.training_plot", "reports/training.json", "reports/training.png"
    )
    if Path("reports/results.json").exists():  # add the curves to the gate's HTML report
        rerender_report(session)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint, import order, formatting) and import-linter (pyproject's contracts: the layers
    reference < errormodel < oracles < suite < harness | checker, no circles, no torch or jax in
    the checker or the error model)."""
    install(session, "lint")
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy (strict) on every package: the reference, the oracles, the harness, the checker and
    the benchmarks (with their libraries installed, so their types are checked too)."""
    install(session, "typecheck", "test", "report")
    packages = ("reference", "errormodel", "oracles", "suite", "harness", "checker", "benchmarks")
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


@nox.session(default=False)
def releases(session: nox.Session) -> None:
    """The release matrix (issue 23): for each release (harness.releases.RELEASES, or those named:
    ``nox -s releases -- jax==0.10.1``, ``-- torch``) a virtualenv .nox/release-<name> with that
    release from the package index, where harness.release_run measures the gate's families, SGD,
    the large-shape paths and the known bugs (reports/releases/<name>.json); then the table
    (terminal and reports/releases.html) and the known-bugs entries that disagree."""
    sys.path.insert(0, str(Path(__file__).parent))  # harness.releases: stdlib only at import
    from harness.releases import ReleaseError, select

    try:
        chosen = select(session.posargs)
    except ReleaseError as exc:
        session.error(str(exc))
    groups = [g for name in ("test", "report", "upstream")
              for g in nox.project.dependency_groups(PYPROJECT, name)]  # fmt: skip
    for release in chosen:
        venv = Path(".nox") / f"release-{release.name}"
        python = venv / "bin" / "python"
        stamp = venv / "release-installed"
        start = time.perf_counter()
        if not stamp.exists() or stamp.read_text() != " ".join(release.environment()):
            session.run("python", "-m", "venv", "--clear", str(venv))
            session.run(str(python), "-m", "pip", "install", "-q", "-e", ".", "optax>=0.2",
                        *release.environment(), *groups, external=True)  # fmt: skip
            stamp.write_text(" ".join(release.environment()))
        installed = time.perf_counter() - start
        session.run(str(python), "-m", "harness.release_run", release.framework, external=True)
        session.log(
            f"{release.spec}: install {installed:.0f} s, run "
            f"{time.perf_counter() - start - installed:.0f} s"
        )
    session.install("-e", ".", *nox.project.dependency_groups(PYPROJECT, "report"))
    session.run("python", "-m", "harness.releases")
