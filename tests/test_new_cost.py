"""The README's recipe for a new cost, applied: log-cosh, added to a copy of the project in the
three places it names (its class, error facts and record in reference/costs.py, its oracles' C_x
and the truth's δ^L in oracles/costs.py, curated lines in suite/architectures.py) and nowhere
else, is picked up by every table, every oracle, the error model and the ground truth; its nets
pass them all, in the gate too, and the checker, which has no network2.py class for it, skips it.

C_x = Σ_j ln cosh(a_j − y_j) (a smooth Huber loss: ½g² near 0, |g| − ln 2 far out), so with
g = a − y, ∇_a C_x = tanh g and BP1 gives δ^L = tanh(g) ⊙ σ'(z^L). As a function of z_j,
f = ln cosh(σ(z) − y): f' = tσ', f'' = sσ'² + tσ'', f''' = −2stσ'³ + 3sσ'σ'' + tσ''' with
t = tanh g, s = sech² g = 1 − t² ≤ 1, and |t| ≤ min(1, |g|).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import project_copy
from tests.project_copy import add_curated, append_record, copy_project, insert

#: reference/costs.py: the cost's class and its error facts (before CostInfo), then its record.
REFERENCE_CODE = '''@dataclass(frozen=True)
class LogCosh:
    """C_x = Σ_j ln cosh(a_j − y_j), so ∇_a C_x = tanh(a − y)."""

    name: str = "log_cosh"
    requires_output: str | None = None
    one_hot: bool = False

    def fn(self, z: Array, a: Array, y: Array) -> Array:
        r = np.abs(a - y)  # ln cosh r = r + ln(1 + e^{−2r}) − ln 2: no overflow
        return np.sum(r + np.log1p(np.exp(-2.0 * r)) - np.log(2.0), axis=-2)

    def delta(self, z: Array, a: Array, y: Array, sigma: Activation) -> Array:
        """BP1, δ^L = tanh(a − y) ⊙ σ'(z^L), on an elementwise output."""
        if sigma.name in OUTPUT_ONLY:
            raise TypeError(f"log_cosh takes no {sigma.name!r} output")
        return output_error(np.tanh(residual(z, a, y, sigma)), sigma.prime(z, a))


def _log_cosh_delta_rounding(out: OutputModel, zeta: Array, alpha: Array) -> Array:
    """tanh(g) σ'(z): g = a − y errs by α + |g|, tanh g by that (sech² ≤ 1) and 3|tanh g|, σ'
    by κ + |σ''|ζ; then the product."""
    d1, d2, _ = out.errors.derivatives(out.z)
    g = np.abs(out.a - out.y)
    t = np.tanh(g)
    kappa = out.errors.prime_rounding(out.z)
    return (alpha + g + 4 * t) * np.abs(d1) + t * (kappa + np.abs(d2) * zeta)


def _log_cosh_z_derivatives(out: OutputModel, radius: Array) -> tuple[Array, Array, Array]:
    d1, d2, d3 = out.errors.bounds(out.z, radius)
    t = np.minimum(1.0, np.abs(out.a - out.y) + d1 * radius)  # |tanh(σ(u) − y)|
    return t * d1, d1 * d1 + t * d2, 2 * t * d1**3 + 3 * d1 * d2 + t * d3


def _log_cosh_cost_rounding(out: OutputModel, sigma_ulps: float) -> Array:
    """|g| + ln(1 + e^{−2|g|}) − ln 2 (or ln(e^g + e^{−g}) − ln 2): terms within |g| + 2 ln 2,
    a few roundings each and the sum's n_L + 2; g's own error (a's rounding, the subtraction)
    times the slope tanh |g|."""
    g = np.abs(out.a - out.y)
    terms = (out.a.shape[0] + 5 + sigma_ulps) * (g + 2 * np.log(2.0))
    return np.sum(terms + np.tanh(g) * (sigma_ulps * np.abs(out.a) + g), axis=0)


'''
REFERENCE_RECORD = """        CostInfo(
            LogCosh(),
            3,
            CostErrorFacts(
                _log_cosh_delta_rounding, _log_cosh_z_derivatives, _log_cosh_cost_rounding
            ),
        ),
"""
#: oracles/costs.py: the complex step's and the truth's formulas (before the records), its record.
ORACLE_CODE = '''def _log_cosh_complex(z: Z, a: Z, y: Z) -> Z:
    """Σ_j ln cosh r_j, r = a − y, as ±r + ln(1 + e^{∓2r}) − ln 2 by the sign of Re r."""
    r = a - y
    s = np.where(np.real(r) >= 0, 1.0, -1.0)
    return np.sum(s * r + np.log1p(np.exp(-2.0 * s * r)) - np.log(2.0), axis=-2)


def _log_cosh_exact(arb: Any, n: BallNeuron) -> tuple[Any, float]:
    """δ_j = tanh(a_j − y_j) σ'(z_j); T(tanh u) = |tanh u| + sech²(u) T(u), times T(σ')."""
    t = n.residual.tanh()
    slope = float(n.residual.sech() ** 2)
    return t * n.prime, (abs(float(t)) + slope * n.t_residual) * n.t_prime


'''
ORACLE_RECORD = """        OracleCosts(
            "log_cosh",
            torch=lambda torch, z, a, y: (torch.logaddexp(a - y, y - a) - np.log(2.0)).sum(dim=0),
            jax=lambda jax, z, a, y: jax.numpy.logaddexp(a - y, y - a) - np.log(2.0),
            complex_step=_log_cosh_complex,
            exact=_log_cosh_exact,
        ),
"""
CURATED_LINE = """    A((4, 5, 3), ("tanh", "sigmoid"), "log_cosh", batch=4),  # the new one
    A((3, 4, 2), ("softplus", "identity"), "log_cosh", batch=3, weight_scale=3.0),
"""

#: Run in the copy: every table names log_cosh; every oracle and the truth agree on its nets; the
#: checker's cost hint skips it.
CHECK = r"""
import dataclasses, json
import numpy as np
from checker.conventions import cost_hint, matching_cost
from errormodel.tables import COST_ERRORS
from harness.cases import build_case, compare_all, compare_to_exact, oracle_output
from oracles import ORACLES, complex_step, exact, jax_grad, torch_autograd
from reference import Architecture, forward_backward, make_case
from reference.costs import COSTS
from reference.vocabulary import COST_NAMES
from suite.architectures import CURATED, random_architectures

tables = {
    "vocabulary": COST_NAMES, "reference": COSTS, "torch": torch_autograd.COSTS,
    "jax": jax_grad.COSTS, "complex_step": complex_step.COSTS, "exact": exact.COSTS,
    "error model": COST_ERRORS,
}
out = {"tables": sorted(k for k, t in tables.items() if "log_cosh" in t), "failed": [], "n": 0}
for arch in [a for a in CURATED if a.cost == "log_cosh"]:
    case = build_case(arch)
    for oracle in ORACLES:
        output = oracle_output(arch, oracle)
        for c in compare_all(case, output, oracle):
            out["n"] += 1
            if not c.passed:
                out["failed"].append(c.message())
        for q, layer, _ in case.reference.items():  # the oracle judged by the truth
            c = compare_to_exact(case, output.gradients, oracle, q, layer, output.mask(q, layer))
            out["n"] += 1
            if not c.passed:
                out["failed"].append(c.message())
    for q, layer, _ in case.reference.items():  # the reference judged by the truth
        c = compare_to_exact(case, None, None, q, layer)
        out["n"] += 1
        if not c.passed:
            out["failed"].append(c.message())
out["last"] = COST_NAMES[-1]
drawn = [a for a in random_architectures(60, 0) if a.cost == "log_cosh"]
out["random"] = len(drawn)
out["random_malformed"] = [a.id for a in drawn if a.problems()]

# the checker: a learner's δ^L of log-cosh while it assumed the quadratic cost, and the reverse
one = Architecture((3, 4, 2), "sigmoid", "quadratic", batch=1)
params, batch = make_case(one)
hints = []
for assumed, learner in (("quadratic", "log_cosh"), ("log_cosh", "quadratic")):
    a = dataclasses.replace(one, cost=assumed)
    grads = forward_backward(dataclasses.replace(one, cost=learner), params, batch.x, batch.y)[1]
    match = matching_cost(a, params, batch.x, batch.y, grads.nabla_b, grads.nabla_w, np.float64)
    hints.append(None if match is None else [*match, cost_hint(assumed, *match, takes_cost=False)])
out["hints"] = hints
print(json.dumps(out))
"""


def copy_with_log_cosh(root: Path, *, oracle_record: str = ORACLE_RECORD) -> Path:
    """The project's packages and tests copied to ``root``, log-cosh added by the recipe's edits."""
    copy_project(root)
    costs = root / "reference/costs.py"
    insert(costs, "@dataclass(frozen=True)\nclass CostInfo:", REFERENCE_CODE)
    insert(costs, "    )\n}\n#: The cost names in the records'", REFERENCE_RECORD)
    oracles = root / "oracles/costs.py"
    insert(oracles, "#: One record per cost (the set of", ORACLE_CODE)
    append_record(oracles, oracle_record)
    add_curated(root, CURATED_LINE)
    return root


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_with_log_cosh(tmp_path_factory.mktemp("log_cosh"))


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return project_copy.run(root, *args, timeout=900)


def test_every_oracle_and_the_truth_pick_up_a_new_cost(copy):
    done = run(copy, "-c", CHECK)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    every = ["complex_step", "error model", "exact", "jax", "reference", "torch", "vocabulary"]
    assert out["tables"] == every
    assert out["last"] == "log_cosh"  # appended: every earlier draw keeps its meaning
    assert out["failed"] == []
    # 2 nets × 2 layers × 3 quantities, by the 5 oracles against the reference and the truth, and
    # the reference by the truth
    assert out["n"] == 2 * 2 * 3 * (5 * 2 + 1)
    # the seeded random draw picks it, never with a softmax output (not defined there)
    assert out["random"] > 0 and out["random_malformed"] == []
    # the checker has no network2.py class for it: never the hint, and named as it is when assumed
    no_hint, hint = out["hints"]
    assert no_hint is None
    assert hint[:2] == ["quadratic", True] and "not the log_cosh one" in hint[2]


def test_the_vocabulary_tests_pass_with_it(copy):
    done = run(copy, "-m", "pytest", "tests/test_vocabulary.py", "-q", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-3000:]


def test_its_nets_pass_in_the_gate(copy):
    """The gate's own test on every net of the copy with the new cost: the curated lines and the
    random nets that drew it, judged by every oracle (and the truth, where it judges)."""
    done = run(
        copy,
        "-m",
        "pytest",
        "tests/test_gate.py",
        "-k",
        "log_cosh",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:logging",
    )
    assert done.returncode == 0, done.stdout[-3000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary, summary


def test_the_vocabulary_test_names_a_missing_oracle_entry(tmp_path):
    """The recipe broken: the copy without the cost's oracle record fails the vocabulary test,
    which names each oracle that lacks it."""
    root = copy_with_log_cosh(tmp_path, oracle_record="")
    test = "tests/test_vocabulary.py::test_every_oracle_has_its_own_cost_of_every_cost"
    done = run(root, "-m", "pytest", test, "-vv", "-p", "no:cacheprovider")
    assert done.returncode != 0
    for line in (
        "torch has no C_x for 'log_cosh'",
        "complex step has no C_x for 'log_cosh'",
        "exact has no δ^L for 'log_cosh'",
    ):
        assert line in done.stdout, done.stdout[-3000:]
