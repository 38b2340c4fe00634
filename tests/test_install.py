"""The built wheel, installed alone in a fresh venv, used from a folder outside the checkout.

``nox -s wheel`` (or ``pytest tests/test_install.py --wheel``) builds the wheel, installs it
with the base dependencies only (NumPy; pytest for the plugin), and runs ``backprop-check`` and
``pytest --impl`` on the book's network.py and on a copy with BP1 broken, with no pyproject,
conftest or checkout on the path. Those tests need the package index (marked install, skipped
without --wheel); one needs nothing and always runs: the checker with torch, jax and optax
unimportable.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "checker" / "mutants" / "book_network.py"
#: BP1 without σ'(z^L): the copy the checker must fail.
BP1_LINE = "return self.cost_derivative(a[self.L], y) * sigmoid_prime(z[self.L])"

#: Run first in a child interpreter: torch, jax, optax (and hypothesis) cannot be imported.
BLOCKED = (
    "import sys\nfor m in ('torch', 'jax', 'optax', 'hypothesis'):\n    sys.modules[m] = None\n"
)


def run(args: list[str | Path], cwd: Path, **env_vars: str) -> subprocess.CompletedProcess[str]:
    """``args`` in ``cwd`` with nothing of the checkout on the path (unless ``env_vars`` say)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(env_vars)
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the fresh venv's bin folder, the wheel): built from this checkout, installed base only."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp / "dist", ROOT], tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("*.whl")
    made = run([sys.executable, "-m", "venv", tmp / "venv"], tmp)
    assert made.returncode == 0, made.stderr
    bin_dir = tmp / "venv" / ("Scripts" if os.name == "nt" else "bin")
    pip = run([bin_dir / "python", "-m", "pip", "install", "-q", wheel, "pytest"], tmp)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return bin_dir, wheel


@pytest.fixture
def learner(tmp_path: Path) -> Path:
    """A learner's folder: the book's network.py and a copy with BP1's σ'(z^L) left out."""
    source = BOOK.read_text()
    assert BP1_LINE in source
    (tmp_path / "network.py").write_text(source)
    (tmp_path / "broken.py").write_text(
        source.replace(BP1_LINE, "return self.cost_derivative(a[self.L], y)")
    )
    assert ROOT not in tmp_path.parents  # outside the checkout
    return tmp_path


@pytest.mark.parametrize(
    "entry",
    [
        "from checker.cli import main\nsys.exit(main(['network.py', '--random-count', '1']))",
        "import pytest\nsys.exit(pytest.main(['-p', 'checker.impl_plugin', '-q', "
        "'-p', 'no:cacheprovider', '--impl', 'network.py', '--random-count', '1']))",
    ],
    ids=["backprop-check", "pytest-impl"],
)
def test_the_checker_needs_no_torch_jax_or_optax(learner, entry):
    """The base install's promise, checked without building anything: with torch, jax and optax
    unimportable, both entry points check the book's network.py (and fail the broken copy)."""
    good = run(
        [sys.executable, "-c", BLOCKED + entry],
        learner,
        PYTHONPATH=str(ROOT),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert good.returncode == 0, good.stdout + good.stderr
    broken = entry.replace("network.py", "broken.py")
    bad = run(
        [sys.executable, "-c", BLOCKED + broken],
        learner,
        PYTHONPATH=str(ROOT),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "BP1" in bad.stdout


@pytest.mark.install
def test_the_wheel_holds_every_package_and_the_report_templates(installed):
    _, wheel = installed
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in (
        "reference",
        "errormodel",
        "oracles",
        "suite",
        "harness",
        "checker",
        "checker/mutants",
    ):
        assert f"{package}/__init__.py" in names
    assert {"harness/templates/report.html.j2", "harness/templates/report.css"} <= names
    assert "checker/pytest_cases.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "backprop-check = checker.cli:main" in text
    assert "checker.impl_plugin = checker.impl_plugin" in text


@pytest.mark.install
def test_the_base_install_has_no_torch_jax_or_optax(installed, learner):
    bin_dir, _ = installed
    probe = "import importlib.util as u; "
    probe += "print([m for m in ('torch', 'jax', 'optax') if u.find_spec(m)])"
    assert run([bin_dir / "python", "-c", probe], learner).stdout.strip() == "[]"


@pytest.mark.install
def test_backprop_check_passes_the_book_and_fails_a_broken_bp1(installed, learner):
    bin_dir, _ = installed
    good = run([bin_dir / "backprop-check", "network.py:Network", "--random-count", "2"], learner)
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.startswith("PASS network.py:Network")
    bad = run([bin_dir / "backprop-check", "broken.py", "--random-count", "2"], learner)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert bad.stdout.startswith("FAIL BP1 at layer")


@pytest.mark.install
@pytest.mark.parametrize("also_named", [[], ["-p", "checker.impl_plugin"]], ids=["entry", "twice"])
def test_pytest_impl_runs_one_test_per_case_in_a_foreign_folder(installed, learner, also_named):
    """The plugin comes from the entry point; named with -p too (as pyproject does), it loads
    once. The learner's own tests are not collected."""
    bin_dir, _ = installed
    (learner / "test_mine.py").write_text("def test_learners_own():\n    assert False\n")
    common = [*also_named, "-q", "-p", "no:cacheprovider", "--random-count", "2"]
    good = run([bin_dir / "pytest", "--impl", "network.py:Network", *common], learner)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "passed" in good.stdout and "failed" not in good.stdout
    bad = run([bin_dir / "pytest", "--impl", "broken.py:Network", *common], learner)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "BP1" in bad.stdout and " passed" not in bad.stdout
