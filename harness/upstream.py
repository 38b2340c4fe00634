"""Known framework bugs, reproduced on the installed torch and jax: ``python -m harness.upstream``
(``nox -s upstream``).

Every entry of oracles/known_upstream.toml has a reproduction here, keyed by its id: a minimal
standalone snippet (plain torch or jax calls, no project code, so it can be pasted into an
upstream issue) that prints the framework's values as one list, and the exact values as
chain-rule terms in mpmath. Each snippet runs in a fresh interpreter (``python -I``, in an empty
folder); each element is judged against the truth t with its term scale S = Σ|terms| by
errormodel.tolerances.truth_allowed: wrong when |v − t| > 8·(ε·max(|t|, S) + η).

The terms are those of the chain rule with exact local derivatives: σ'(z) is one term, σ(z)σ(−z)
(not σ(1 − σ), whose subtraction is the bug); the BCE-with-logits gradient −y·σ(−z) + (1 − y)·σ(z);
a softmax VJP Σ_j g_j s_j(δ_ij − s_i), one term per cotangent element. A framework that cancels
where the mathematics does not is judged by the size of the result, as issue 21 asks.

Reproductions without an entry are probes: bugs of the same kind looked for on every run, printed
apart; one that reproduces is a new bug (add an entry, with its upstream issue once filed).
Prints one line per bug and per probe and writes reports/upstream.json (``--out``). Exits 0
whether bugs reproduce or not; 2 when it cannot run (a malformed known-bugs file, an entry with
no reproduction, a snippet that does not run or prints no values).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import mpmath
import numpy as np

from errormodel.tolerances import TRUTH_UNITS, truth_allowed
from oracles import known_upstream
from oracles.known_upstream import KnownBug, KnownBugsError
from suite.results import UPSTREAM_SCHEMA

SCHEMA = UPSTREAM_SCHEMA
OUT = Path("reports/upstream.json")
#: Decimal digits of the truth: far more than the 17 a float64 needs, with the inputs exact.
DIGITS = 60
#: Seconds one snippet may take (an interpreter start and a torch or jax import).
TIMEOUT = 120.0

Terms = list[list[Any]]  # per output element, its chain-rule terms (mpmath numbers)


@dataclass(frozen=True)
class Reproduction:
    """One bug's standalone reproduction and its exact values."""

    id: str
    framework: str
    #: what is computed, e.g. "BCEWithLogits grad"
    what: str
    #: per output element, where: "at logit 37.43, target 1"
    inputs: tuple[str, ...]
    #: the snippet: plain framework calls, printing the values as one list (``.tolist()``)
    snippet: str
    #: builds the chain-rule terms of each printed element (mpmath; see ``terms``)
    build_terms: Callable[[], Terms]
    #: the distributions whose versions the line names
    packages: tuple[str, ...] = ()
    #: the bug ends the process (a signal, an abort in the compiler), not a wrong value: an
    #: abort is the bug reproduced, printed values right are it fixed
    aborts: bool = False

    def terms(self) -> Terms:
        """The chain-rule terms, built at DIGITS digits whatever mpmath's global precision is
        (another module may have lowered or raised ``mpmath.mp.dps``; at 5 digits the truth of
        σ'(40) was 2e-7 relative off and a right value read as a bug 1.2e9 ulps away)."""
        with mpmath.workdps(DIGITS):
            return self.build_terms()

    def versions(self) -> dict[str, str | None]:
        names = self.packages or (self.framework,)
        return {name: _version(name) for name in names}


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


# --- the exact values --------------------------------------------------------------------------


def _mp(x: float) -> Any:
    return mpmath.mpf(x)  # a float64 input is an exact binary number


def sigmoid(x: Any) -> Any:
    """σ(x) = 1/(1 + e^−x); σ(−x) = 1 − σ(x) without the subtraction."""
    return 1 / (1 + mpmath.exp(-x))


def sigmoid_grad(xs: Sequence[float]) -> Terms:
    """σ'(x) = σ(x)·σ(−x), one term."""
    return [[sigmoid(_mp(x)) * sigmoid(-_mp(x))] for x in xs]


def tanh_grad(xs: Sequence[float]) -> Terms:
    """tanh'(x) = sech²(x), one term."""
    return [[mpmath.sech(_mp(x)) ** 2] for x in xs]


def bce_logits_grad(zs: Sequence[float], ys: Sequence[float]) -> Terms:
    """∂/∂z_i of the mean over i of −[y ln σ(z) + (1 − y) ln σ(−z)]:
    (−y_i·σ(−z_i) + (1 − y_i)·σ(z_i))/n, two terms."""
    n = len(zs)
    return [
        [-_mp(y) * sigmoid(-_mp(z)) / n, (1 - _mp(y)) * sigmoid(_mp(z)) / n]
        for z, y in zip(zs, ys, strict=True)
    ]


def softmax(xs: Sequence[float]) -> list[Any]:
    """s_i = e^{x_i − LSE(x)}."""
    lse = mpmath.log(mpmath.fsum(mpmath.exp(_mp(x)) for x in xs))
    return [mpmath.exp(_mp(x) - lse) for x in xs]


def _one_minus(s: Sequence[Any], i: int) -> Any:
    """1 − s_i as Σ_{k≠i} s_k: no cancellation where s_i ≈ 1."""
    return mpmath.fsum(s[k] for k in range(len(s)) if k != i)


def log_softmax_jacobian(xs: Sequence[float]) -> list[list[Any]]:
    """J_ji = ∂(log softmax x)_j/∂x_i = δ_ji − s_i."""
    s = softmax(xs)
    n = len(xs)
    return [[_one_minus(s, i) if j == i else -s[i] for i in range(n)] for j in range(n)]


def softmax_jacobian(xs: Sequence[float]) -> list[list[Any]]:
    """J_ji = ∂s_j/∂x_i = s_j·(δ_ji − s_i)."""
    s = softmax(xs)
    return [[s[j] * v for v in row] for j, row in enumerate(log_softmax_jacobian(xs))]


def vjp(jacobian: list[list[Any]], g: Sequence[float]) -> Terms:
    """(Jᵀg)_i = Σ_j g_j·J_ji, one term per j."""
    n = len(jacobian)
    return [[_mp(g[j]) * jacobian[j][i] for j in range(n)] for i in range(n)]


def jvp(jacobian: list[list[Any]], t: Sequence[float]) -> Terms:
    """(J t)_j = Σ_i J_ji·t_i, one term per i."""
    return [[row[i] * _mp(t[i]) for i in range(len(row))] for row in jacobian]


# --- the reproductions -------------------------------------------------------------------------

TORCH = "import torch\n\n"
JAX = 'import jax\nimport jax.numpy as jnp\n{}\njax.config.update("jax_enable_x64", True)\n\n'
SAT = [40.0, 0.0, -40.0]  # a saturated softmax: s ≈ [1 − 4.2e-18, 4.2e-18, 1.8e-35]
E0 = [1.0, 0.0, 0.0]
SAT_IN = tuple(f"at x = [40, 0, -40], g = [1, 0, 0], element {i}" for i in range(3))
SAT_T = tuple(f"at x = [40, 0, -40], t = [1, 0, 0], element {i}" for i in range(3))


def _torch_backward(call: str, x: Sequence[float], extra: str = "") -> str:
    """x as a float64 leaf, ``extra`` lines, ``call`` (a backward), then x.grad printed."""
    lines = [
        f"x = torch.tensor({list(x)}, dtype=torch.float64, requires_grad=True)",
        *([extra] if extra else []),
        call,
        "print(x.grad.tolist())",
    ]
    return TORCH + "\n".join(lines) + "\n"


def _bce(call: str) -> str:
    return TORCH + textwrap.dedent(
        f"""\
        z = torch.tensor([37.43], dtype=torch.float64, requires_grad=True)
        y = torch.tensor([1.0], dtype=torch.float64)
        {call}
        print(z.grad.tolist())
        """
    )


def _torch_vjp(fn: str) -> str:
    return _torch_backward(
        f"{fn}(x, dim=0).backward(g)",
        SAT,
        f"g = torch.tensor({E0}, dtype=torch.float64)",
    )


def _torch_jvp(fn: str, x: Sequence[float], t: Sequence[float]) -> str:
    return TORCH + textwrap.dedent(
        f"""\
        x = torch.tensor({list(x)}, dtype=torch.float64)
        t = torch.tensor({list(t)}, dtype=torch.float64)
        _, tangent = torch.func.jvp({fn}, (x,), (t,))
        print(tangent.tolist())
        """
    )


def _jax_vjp(fn: str) -> str:
    return JAX.format("") + textwrap.dedent(
        f"""\
        x = jnp.array({SAT})
        _, pullback = jax.vjp({fn}, x)
        (grad,) = pullback(jnp.array({E0}))
        print(grad.tolist())
        """
    )


def _jax_grad(fn: str, xs: Sequence[float], imports: str = "") -> str:
    return JAX.format(imports) + textwrap.dedent(
        f"""\
        x = jnp.array({list(xs)})
        print(jax.vmap(jax.grad({fn}))(x).tolist())
        """
    )


#: jax-ml/jax#39103: the examples printed (the last three of 16,385) and the program.
VMAP_ROWS = (16382, 16383, 16384)
_JAX_VMAP_MATVEC = JAX.format("") + textwrap.dedent(
    """\
    i = jnp.arange(16385, dtype=jnp.float64)
    x = jnp.stack((i, jnp.zeros_like(i), jnp.zeros_like(i)), axis=1)  # row i = [i, 0, 0]
    m = jnp.eye(3)
    f = jax.jit(jax.vmap(lambda row: jnp.sum((m @ row) ** 2)))  # |m row|^2 = i^2
    print(f(x)[-3:].tolist())
    """
)


#: The input gradient of a padded, strided convolution with a 2 × 4 kernel on a 6 × 4 map, all
#: ones: XLA CPU's algebraic simplifier fails a check compiling it and aborts the process.
CONV_GRAD: dict[str, Any] = {"x": (1, 1, 6, 4), "w": (1, 1, 2, 4), "stride": 2, "padding": 1}
_JAX_CONV_GRAD = JAX.format("") + textwrap.dedent(
    f"""\
    x, w = jnp.ones({CONV_GRAD["x"]}), jnp.ones({CONV_GRAD["w"]})
    s, p = {CONV_GRAD["stride"]}, {CONV_GRAD["padding"]}
    f = lambda x: jax.lax.conv_general_dilated(x, w, (s, s), [(p, p), (p, p)]).sum()
    print(jax.grad(f)(x).ravel().tolist())
    """
)


def _conv_grad_terms() -> Terms:
    """∂(Σ z)/∂x_{ij} with x, w ones: one term 1 per (window, kernel element) that reads x_ij."""
    _, _, h, w = CONV_GRAD["x"]
    _, _, k_h, k_w = CONV_GRAD["w"]
    s, p = CONV_GRAD["stride"], CONV_GRAD["padding"]
    rows = [
        sum(1 for i in range(0, h + 2 * p - k_h + 1, s) if i <= r + p < i + k_h) for r in range(h)
    ]
    cols = [
        sum(1 for j in range(0, w + 2 * p - k_w + 1, s) if j <= c + p < j + k_w) for c in range(w)
    ]
    return [[_mp(1)] * (n * k) for n in rows for k in cols]


def _repros() -> tuple[Reproduction, ...]:
    bce_in = ("at logit 37.43, target 1",)
    return (
        Reproduction(
            "pytorch#195677",
            "torch",
            "BCEWithLogits grad",
            bce_in,
            _bce("torch.nn.functional.binary_cross_entropy_with_logits(z, y).backward()"),
            lambda: bce_logits_grad([37.43], [1.0]),
        ),
        Reproduction(
            "pytorch#195529",
            "torch",
            "BCEWithLogitsLoss grad",
            bce_in,
            _bce("torch.nn.BCEWithLogitsLoss()(z, y).backward()"),
            lambda: bce_logits_grad([37.43], [1.0]),
        ),
        Reproduction(
            "jax-ml/jax#40385",
            "jax",
            "grad of jax.nn.sigmoid",
            ("at 37.43",),
            _jax_grad("jax.nn.sigmoid", [37.43]),
            lambda: sigmoid_grad([37.43]),
        ),
        Reproduction(
            "jax-ml/jax#40342",
            "jax",
            "grad of jax.nn.sigmoid",
            ("at 40",),
            _jax_grad("jax.nn.sigmoid", [40.0]),
            lambda: sigmoid_grad([40.0]),
        ),
        Reproduction(
            "pytorch#195680",
            "torch",
            "log_softmax VJP",
            SAT_IN,
            _torch_vjp("torch.log_softmax"),
            lambda: vjp(log_softmax_jacobian(SAT), E0),
        ),
        Reproduction(
            "pytorch#195684",
            "torch",
            "softmax VJP",
            SAT_IN,
            _torch_vjp("torch.softmax"),
            lambda: vjp(softmax_jacobian(SAT), E0),
        ),
        Reproduction(
            "jax-ml/jax#40384",
            "jax",
            "log_softmax VJP",
            SAT_IN,
            _jax_vjp("jax.nn.log_softmax"),
            lambda: vjp(log_softmax_jacobian(SAT), E0),
        ),
        # --- bugs of the same kind, looked for on every run (entries once they reproduce) ---
        Reproduction(
            "torch:sigmoid-backward-37.43",
            "torch",
            "torch.sigmoid backward",
            ("at 30", "at 37.43"),
            _torch_backward("torch.sigmoid(x).sum().backward()", [30.0, 37.43]),
            lambda: sigmoid_grad([30.0, 37.43]),
        ),
        Reproduction(
            "torch:tanh-backward-20",
            "torch",
            "torch.tanh backward",
            ("at 19.4", "at 20", "at 9.99", "at -4.46"),
            _torch_backward(
                "torch.tanh(x).sum().backward()",
                [19.4, 20.0, 9.991769167990666, -4.4616026854095745],
            ),
            lambda: tanh_grad([19.4, 20.0, 9.991769167990666, -4.4616026854095745]),
        ),
        Reproduction(
            "jax:tanh-grad-19.4",
            "jax",
            "grad of jnp.tanh",
            ("at 19.4", "at 20"),
            _jax_grad("jnp.tanh", [19.4, 20.0]),
            lambda: tanh_grad([19.4, 20.0]),
        ),
        Reproduction(
            "jax:tanh-grad-ulps",
            "jax",
            "grad of jnp.tanh",
            ("at -1.4990606625769507", "at -3.314711821673966", "at 9.99", "at 4.16"),
            _jax_grad(
                "jnp.tanh",
                [-1.4990606625769507, -3.314711821673966, 9.991769167990666, 4.163689791447895],
            ),
            lambda: tanh_grad(
                [-1.4990606625769507, -3.314711821673966, 9.991769167990666, 4.163689791447895]
            ),
        ),
        Reproduction(
            "jax:softmax-vjp-40",
            "jax",
            "softmax VJP",
            SAT_IN,
            _jax_vjp("jax.nn.softmax"),
            lambda: vjp(softmax_jacobian(SAT), E0),
        ),
        Reproduction(
            "torch:sigmoid-jvp-37.43",
            "torch",
            "torch.func.jvp of torch.sigmoid",
            ("at 30", "at 37.43"),
            _torch_jvp("torch.sigmoid", [30.0, 37.43], [1.0, 1.0]),
            lambda: sigmoid_grad([30.0, 37.43]),
        ),
        Reproduction(
            "torch:tanh-jvp-20",
            "torch",
            "torch.func.jvp of torch.tanh",
            ("at 19.4", "at 20", "at 9.99"),
            _torch_jvp("torch.tanh", [19.4, 20.0, 9.991769167990666], [1.0, 1.0, 1.0]),
            lambda: tanh_grad([19.4, 20.0, 9.991769167990666]),
        ),
        Reproduction(
            "torch:log_softmax-jvp-40",
            "torch",
            "torch.func.jvp of log_softmax",
            SAT_T,
            _torch_jvp("lambda v: torch.log_softmax(v, dim=0)", SAT, E0),
            lambda: jvp(log_softmax_jacobian(SAT), E0),
        ),
        Reproduction(
            "torch:softmax-jvp-40",
            "torch",
            "torch.func.jvp of softmax",
            SAT_T,
            _torch_jvp("lambda v: torch.softmax(v, dim=0)", SAT, E0),
            lambda: jvp(softmax_jacobian(SAT), E0),
        ),
        Reproduction(
            "torch:bce-logits-jvp-37.43",
            "torch",
            "torch.func.jvp of binary_cross_entropy_with_logits",
            bce_in,
            TORCH
            + textwrap.dedent(
                """\
                z = torch.tensor([37.43], dtype=torch.float64)
                y = torch.tensor([1.0], dtype=torch.float64)
                loss = lambda v: torch.nn.functional.binary_cross_entropy_with_logits(v, y)
                _, tangent = torch.func.jvp(loss, (z,), (torch.ones(1, dtype=torch.float64),))
                print([tangent.item()])
                """
            ),
            lambda: bce_logits_grad([37.43], [1.0]),
        ),
        Reproduction(
            "torch:bce-logits-jvp-tangent",
            "torch",
            "torch.func.jvp of binary_cross_entropy_with_logits",
            ("at logit -40, target 0.003, tangent 10",),
            TORCH
            + textwrap.dedent(
                """\
                z = torch.tensor([-40.0], dtype=torch.float64)
                y = torch.tensor([0.003], dtype=torch.float64)
                loss = lambda v: torch.nn.functional.binary_cross_entropy_with_logits(
                    v, y, reduction="sum"
                )
                t = torch.tensor([10.0], dtype=torch.float64)
                _, tangent = torch.func.jvp(loss, (z,), (t,))
                print([tangent.item()])
                """
            ),
            lambda: [[10 * t for t in terms] for terms in bce_logits_grad([-40.0], [0.003])],
        ),
        Reproduction(
            "jax:optax-sigmoid-bce-grad-37.43",
            "jax",
            "grad of optax.sigmoid_binary_cross_entropy",
            ("at logit 37.43, target 1",),
            _jax_grad(
                "lambda z: optax.sigmoid_binary_cross_entropy(z, 1.0)", [37.43], "import optax\n"
            ),
            lambda: bce_logits_grad([37.43], [1.0]),
            packages=("jax", "optax"),
        ),
        Reproduction(
            "torch:logaddexp-backward",
            "torch",
            "torch.logaddexp(x, 0) backward (softplus)",
            tuple(f"at {x:g}" for x in (-745.0, -40.0, 40.0, 745.0)),
            _torch_backward(
                "torch.logaddexp(x, torch.zeros_like(x)).sum().backward()",
                [-745.0, -40.0, 40.0, 745.0],
            ),
            lambda: [[sigmoid(_mp(x))] for x in (-745.0, -40.0, 40.0, 745.0)],
        ),
        Reproduction(
            "jax:logaddexp-grad",
            "jax",
            "grad of jnp.logaddexp(x, 0) (softplus)",
            tuple(f"at {x:g}" for x in (-745.0, -40.0, 40.0, 745.0)),
            _jax_grad("lambda v: jnp.logaddexp(v, 0.0)", [-745.0, -40.0, 40.0, 745.0]),
            lambda: [[sigmoid(_mp(x))] for x in (-745.0, -40.0, 40.0, 745.0)],
        ),
        Reproduction(  # a forward value: no gradient program of the harness fuses it (measured)
            "jax-ml/jax#39103",
            "jax",
            "jit(vmap(sum((M @ row)^2))) over 16,385 rows of 3",
            tuple(f"at row {i} = [{i}, 0, 0]" for i in VMAP_ROWS),
            _JAX_VMAP_MATVEC,
            lambda: [[_mp(i) ** 2] for i in VMAP_ROWS],
            ("jax", "jaxlib"),
        ),
        Reproduction(  # found by the random feature-map nets of the gate (issue 25)
            "jax:conv-grad-abort",
            "jax",
            "grad of a padded strided conv (kernel 2×4, stride 2, padding 1, a 6×4 map)",
            tuple(f"at x[{i}, {j}]" for i in range(6) for j in range(4)),
            _JAX_CONV_GRAD,
            _conv_grad_terms,
            ("jax", "jaxlib"),
            aborts=True,
        ),
        Reproduction(  # found by the gate's ground truth on the tails family
            "jax:exp-subnormal-flush",
            "jax",
            "grad of jnp.exp (a subnormal result)",
            ("at -715",),
            _jax_grad("jnp.exp", [-715.0]),
            lambda: [[mpmath.exp(_mp(-715.0))]],
        ),
    )


#: Every reproduction by id: the known bugs' and the probes'.
REPRODUCTIONS: dict[str, Reproduction] = {r.id: r for r in _repros()}


# --- running and judging -----------------------------------------------------------------------


class CannotRun(Exception):
    """A snippet did not run or printed no values; the message says why, in one line."""


class Aborted(CannotRun):
    """A snippet's process ended by a signal (SIGABRT from a failed check, SIGSEGV)."""


def run_snippet(snippet: str, timeout: float = TIMEOUT) -> list[float]:
    """The values a snippet prints on its last line, from a fresh ``python -I`` in an empty
    folder (no project code on its path)."""
    with tempfile.TemporaryDirectory(prefix="upstream-") as folder:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-c", snippet],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CannotRun(f"no values within {timeout:g} s") from None
    if done.returncode < 0:
        failed = [line for line in done.stderr.splitlines() if "Check failed" in line]
        last = (failed or done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise Aborted(f"ended by {signal.Signals(-done.returncode).name}: {last.strip()[:200]}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise CannotRun(f"exit status {done.returncode}: {last}")
    lines = done.stdout.strip().splitlines()
    try:
        printed = ast.literal_eval(lines[-1]) if lines else None
    except (ValueError, SyntaxError):
        printed = None
    if isinstance(printed, float):
        printed = [printed]
    if not isinstance(printed, list) or not all(isinstance(v, float) for v in printed):
        raise CannotRun(f"its last line is not a list of floats: {lines[-1] if lines else ''!r}")
    return printed


def ulps(error: float, truth: float) -> float:
    """|v − t| in units of the spacing of float64 at t (at 0: the smallest subnormal)."""
    return error / float(np.spacing(abs(truth)))


@dataclass(frozen=True)
class Element:
    """One element of a reproduction judged against the truth."""

    index: int
    input: str
    value: float
    truth: float
    scale: float
    error: float
    allowed: float
    ulps: float

    @property
    def wrong(self) -> bool:
        return self.error > self.allowed


def judge(values: Sequence[float], terms: Terms, inputs: Sequence[str]) -> list[Element]:
    """Each printed value against its exact terms: truth Σ terms, scale Σ|terms|, both rounded
    once to float64 (the error is exact: |v − t| at DIGITS digits, then rounded)."""
    if len(values) != len(terms):
        raise CannotRun(f"printed {len(values)} values, the truth has {len(terms)}")
    out = []
    with mpmath.workdps(DIGITS):
        for i, (value, element_terms) in enumerate(zip(values, terms, strict=True)):
            exact = mpmath.fsum(element_terms)
            truth = float(exact)
            scale = float(mpmath.fsum(abs(t) for t in element_terms))
            error = float(abs(_mp(value) - exact))
            out.append(
                Element(
                    i,
                    inputs[i],
                    value,
                    truth,
                    scale,
                    error,
                    truth_allowed(truth, scale),
                    ulps(error, truth),
                )
            )
    return out


@dataclass
class Outcome:
    """One reproduction's run: its status, its elements, and the line printed for it."""

    repro: Reproduction
    bug: KnownBug | None
    status: str  # "reproduced", "not reproduced" or "error"
    elements: list[Element] = field(default_factory=list)
    problem: str | None = None

    @property
    def worst(self) -> Element | None:
        """The wrong element furthest off, else the element closest to its allowed error."""
        if not self.elements:
            return None
        return max(self.elements, key=lambda e: (e.wrong, e.error / e.allowed))

    @property
    def versions(self) -> dict[str, str | None]:
        return self.repro.versions()

    def on(self) -> str:
        """ "torch 2.13.0" (the public version: the local "+cpu" dropped)."""
        return ", ".join(
            f"{name} {(v or 'not installed').split('+')[0]}" for name, v in self.versions.items()
        )

    def line(self) -> str:
        head = self.repro.id if self.bug else f"probe {self.repro.id}"
        if self.status == "error":
            return f"{head} could not run on {self.on()}: {self.problem}"
        if self.status == "reproduced" and not self.elements:  # it aborts
            tail = "" if self.bug else " — a new bug: add it to oracles/known_upstream.toml"
            what = self.repro.what
            return f"{head} reproduced on {self.on()}: {what}: the process {self.problem}{tail}"
        worst = self.worst
        assert worst is not None
        where = f"{self.repro.what} {worst.input}"
        numbers = (
            f"{where} = {fmt(worst.value)}, true {fmt(worst.truth)} ({fmt_ulps(worst.ulps)} ulps)"
        )
        if self.status == "reproduced":
            tail = "" if self.bug else " — a new bug: add it to oracles/known_upstream.toml"
            return f"{head} reproduced on {self.on()}: {numbers}{tail}"
        fixed = " (fixed?)" if self.bug and self.bug.fixed_in is None else ""
        return f"{head} not reproduced on {self.on()}{fixed}: {numbers}"

    def record(self) -> dict[str, Any]:
        bug = self.bug
        worst = self.worst
        return {
            "id": self.repro.id,
            "known": bug is not None,
            "url": bug.url if bug else None,
            "framework": self.repro.framework,
            "op": bug.op if bug else self.repro.what,
            "what": self.repro.what,
            "summary": bug.summary if bug else None,
            "reported_versions": list(bug.versions) if bug else [],
            "fixed_in": bug.fixed_in if bug else None,
            "versions": self.versions,
            "status": self.status,
            "problem": self.problem,
            "line": self.line(),
            "snippet": self.repro.snippet,
            "worst": element_record(worst) if worst else None,
            "elements": [element_record(e) for e in self.elements],
        }


def element_record(e: Element) -> dict[str, Any]:
    return {
        "index": e.index,
        "input": e.input,
        "value": e.value,
        "truth": e.truth,
        "scale": e.scale,
        "error": e.error,
        "allowed": e.allowed,
        "ulps": e.ulps,
        "wrong": e.wrong,
    }


def fmt(x: float) -> str:
    return repr(x) if x == 0 else f"{x:.3g}"


def fmt_ulps(u: float) -> str:
    """9.0e15 for large counts, 0.5 for small ones."""
    if u < 1000:
        return f"{u:.1f}"
    mantissa, exponent = f"{u:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def reproduce(repro: Reproduction, bug: KnownBug | None, timeout: float = TIMEOUT) -> Outcome:
    """Run one reproduction and judge it; a snippet that cannot run is an "error" outcome."""
    try:
        values = run_snippet(repro.snippet, timeout)
        elements = judge(values, repro.terms(), repro.inputs)
    except Aborted as exc:
        return Outcome(repro, bug, "reproduced" if repro.aborts else "error", problem=str(exc))
    except CannotRun as exc:
        return Outcome(repro, bug, "error", problem=str(exc))
    wrong = any(e.wrong for e in elements)
    return Outcome(repro, bug, "reproduced" if wrong else "not reproduced", elements)


def run_all(
    bugs: Sequence[KnownBug],
    reproductions: dict[str, Reproduction] | None = None,
    probes: bool = True,
    workers: int = 2,
    timeout: float = TIMEOUT,
) -> tuple[list[Outcome], list[Outcome], list[str]]:
    """The known bugs' outcomes, the probes' outcomes, and the entries with no reproduction."""
    repros = REPRODUCTIONS if reproductions is None else reproductions
    missing = [b.id for b in bugs if b.id not in repros]
    known = {b.id for b in bugs}
    jobs: list[tuple[Reproduction, KnownBug | None]] = [
        (repros[b.id], b) for b in bugs if b.id in repros
    ]
    if probes:
        jobs += [(r, None) for r in repros.values() if r.id not in known]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(lambda job: reproduce(job[0], job[1], timeout), jobs))
    return (
        [o for o in outcomes if o.bug is not None],
        [o for o in outcomes if o.bug is None],
        missing,
    )


def document(bugs: list[Outcome], probes: list[Outcome], missing: Sequence[str]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "criterion": (
            f"|value - truth| > {TRUTH_UNITS:g} * (eps * max(|truth|, sum |terms|) + 2^-1074), "
            f"truth in mpmath {mpmath.__version__} at {DIGITS} digits"
        ),
        "environment": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            **{name: _version(name) for name in ("torch", "jax", "jaxlib", "optax", "mpmath")},
        },
        "bugs": [o.record() for o in bugs],
        "probes": [o.record() for o in probes],
        "missing_reproductions": list(missing),
    }


def write_json(data: dict[str, Any], path: Path) -> None:
    """Written to a temporary name, then renamed: a run that dies leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.upstream",
        description="Reproduce the known torch and jax bugs on the installed versions.",
    )
    parser.add_argument("--known", type=Path, default=known_upstream.DEFAULT_PATH)
    parser.add_argument("--out", type=Path, default=OUT, help=f"the JSON file (default {OUT})")
    parser.add_argument("--no-probes", action="store_true", help="only the known bugs")
    parser.add_argument("--workers", type=int, default=2, help="snippets run at once")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per snippet")
    args = parser.parse_args(argv)
    try:
        bugs = known_upstream.load(args.known)
    except KnownBugsError as exc:
        print(f"harness.upstream: {exc}", file=sys.stderr)
        return 2
    known, probes, missing = run_all(
        bugs, probes=not args.no_probes, workers=args.workers, timeout=args.timeout
    )
    for outcome in known:
        print(outcome.line())
    for name in missing:
        print(f"{name} has no reproduction in harness/upstream.py (add one)")
    if probes:
        print("probes (bugs of the same kind, no entry yet):")
        for outcome in probes:
            print(f"  {outcome.line()}")
    write_json(document(known, probes, missing), args.out)
    reproduced = sum(o.status == "reproduced" for o in known)
    print(f"{reproduced} of {len(known)} known bugs reproduced; wrote {args.out}")
    failed = missing or any(o.status == "error" for o in known + probes)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
