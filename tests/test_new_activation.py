"""The README's recipe for a new dense activation, applied: arctan, added to a copy of the project
in the three places it names (its record in reference/activations.py, its oracles' σ in
oracles/activations.py, a curated line in suite/architectures.py) and nowhere else, is picked up
by every table, every oracle, the error model and the ground truth, and its net passes them all.

σ(z) = arctan z, σ' = 1/(1 + z²) = d, σ'' = −2z d², σ''' = (6z² − 2) d³ = d²(6 − 8d) (no
overflow); |σ''| peaks at ±1/√3, |σ'''| at 0 and ±1.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import project_copy
from tests.project_copy import add_curated, append_record, copy_project, insert

#: reference/activations.py: the σ class and its error facts (before the records), its record.
REFERENCE_CODE = '''
@dataclass(frozen=True)
class Arctan:
    """σ(z) = arctan z, σ'(z) = 1/(1 + z²)."""

    name: str = "arctan"

    def fn(self, z: Array) -> Array:
        return np.arctan(z)

    def prime(self, z: Array, a: Array | None = None) -> Array:
        return 1.0 / (1.0 + z * z)


def _arctan_derivatives(z: Array) -> tuple[Array, Array, Array]:
    d = 1.0 / (1.0 + z * z)
    return d, -2.0 * z * d * d, d * d * (6.0 - 8.0 * d)


def _arctan_prime_rounding(z: Array, sigma_ulps: float) -> Array:
    return (sigma_ulps + 3.0) / (1.0 + z * z)  # z², 1 + z², the division


'''
REFERENCE_RECORD = """        ActivationInfo(
            Arctan(),
            7,
            ErrorFacts(
                _arctan_derivatives,
                ((0.0,), (-(3.0**-0.5), 3.0**-0.5), (-1.0, 0.0, 1.0)),
                _arctan_prime_rounding,
            ),
        ),
"""
#: oracles/activations.py: each oracle's own σ of it.
ORACLE_RECORD = """        OracleSigmas(
            "arctan",
            torch=lambda torch, z: torch.atan(z),
            jax=lambda jax, z: jax.numpy.arctan(z),
            complex_step=np.arctan,
            exact=lambda arb, z: (z.atan(), 1 / (1 + z * z), abs(float(2 * z / (1 + z * z) ** 2))),
        ),
"""
CURATED_LINE = """    A((4, 5, 3), ("arctan", "sigmoid"), "quadratic", batch=4),  # the new one
    A((3, 4, 2), "arctan", "quadratic", batch=3, weight_scale=3.0),
"""

#: Run in the copy: every table names arctan; every oracle and the truth agree on its nets.
CHECK = r"""
import json
from errormodel.tables import ACTIVATION_ERRORS
from harness.cases import build_case, compare_all, compare_to_exact, oracle_output
from oracles import ORACLES, complex_step, exact, finite_diff, jax_grad, torch_autograd
from reference.vocabulary import ACTIVATION_NAMES
from suite.architectures import CURATED

tables = {
    "vocabulary": ACTIVATION_NAMES, "torch": torch_autograd.ACTIVATIONS,
    "jax": jax_grad.ACTIVATIONS, "complex_step": complex_step.ACTIVATIONS,
    "exact": exact.ELEMENTWISE, "fd kinks": finite_diff.KINKS, "error model": ACTIVATION_ERRORS,
}
out = {"tables": sorted(k for k, t in tables.items() if "arctan" in t), "failed": [], "n": 0}
for arch in [a for a in CURATED if "arctan" in a.activations]:
    case = build_case(arch)
    for oracle in ORACLES:
        for c in compare_all(case, oracle_output(arch, oracle), oracle):
            out["n"] += 1
            if not c.passed:
                out["failed"].append(c.message())
    for q, layer, _ in case.reference.items():
        c = compare_to_exact(case, None, None, q, layer)
        out["n"] += 1
        if not c.passed:
            out["failed"].append(c.message())
out["last"] = ACTIVATION_NAMES[-1]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def copy_with_arctan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's packages and tests copied, arctan added by the recipe's three edits."""
    root = copy_project(tmp_path_factory.mktemp("arctan"))
    insert(root / "reference/activations.py", "# --- the error model's facts", REFERENCE_CODE)
    insert(root / "reference/activations.py", "    )\n}\n#: The activation names", REFERENCE_RECORD)
    append_record(root / "oracles/activations.py", ORACLE_RECORD)
    add_curated(root, CURATED_LINE)
    return root


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return project_copy.run(root, *args, timeout=600)


def test_every_oracle_and_the_truth_pick_up_a_new_activation(copy_with_arctan):
    done = run(copy_with_arctan, "-c", CHECK)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    every = ["complex_step", "error model", "exact", "fd kinks", "jax", "torch", "vocabulary"]
    assert out["tables"] == every
    assert out["last"] == "arctan"  # appended: every earlier draw keeps its meaning
    assert out["failed"] == []
    # 2 nets × 2 layers × 3 quantities, each judged by the 5 oracles and by the truth
    assert out["n"] == 2 * 2 * 3 * (5 + 1)


def test_the_vocabulary_tests_pass_with_it(copy_with_arctan):
    done = run(
        copy_with_arctan, "-m", "pytest", "tests/test_vocabulary.py", "-q", "-p", "no:cacheprovider"
    )
    assert done.returncode == 0, done.stdout[-3000:]
