"""Results as data: each comparison the gate makes, recorded once by the test that makes it.

A test hands its records to the gate's plugin, which appends them to its process's JSON Lines
file as each test ends (harness.parts) and, when the run ends, writes one JSON file from them,
sorted by test id so the same seed gives the same bytes whatever the worker count or order.
Readers need only ``json`` (:func:`read`: the file, or a killed run's parts, marked incomplete).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from errormodel.compare import Comparison
from harness import diffmap, parts
from harness.records import SCHEMA
from reference import Architecture
from reference.types import Array

PROPERTY = "crossval"


def arch_record(arch: Architecture) -> dict[str, Any]:
    """The architecture as plain data, with its id and the one-line entry that rebuilds it."""
    extra = {} if arch.targets == "uniform" else {"targets": arch.targets}
    return extra | {
        "id": arch.id,
        "sizes": list(arch.sizes) if not isinstance(arch.sizes, (str, bytes)) else arch.sizes,
        "activations": arch.activations
        if isinstance(arch.activations, str)
        else list(arch.activations),
        "cost": arch.cost,
        "batch": arch.batch,
        "seed": arch.seed,
        "init": arch.init,
        "weight_scale": arch.weight_scale,
        "input_scale": arch.input_scale,
        "entry": repr(arch),
    }


def comparison_record(
    arch: Architecture,
    comparison: Comparison,
    dtype: str,
    arrays: tuple[Array, Array] | None = None,
) -> dict[str, Any]:
    """One comparison; given the (reference, oracle) arrays it also keeps what the report draws:
    the reference's Frobenius norm and, for ∂C/∂w, the pooled difference map (harness.diffmap).
    """
    rec = {"kind": "comparison", "arch": arch_record(arch), "dtype": dtype, **comparison.as_dict()}
    if arrays is not None:
        ours, theirs = arrays
        rec["reference_norm"] = float(np.linalg.norm(ours))
        if comparison.quantity == "nabla_w" and not comparison.problem:
            rec["diff_map"] = diffmap.encode(ours, theirs)
    return rec


def error_record(
    arch: Architecture, oracle: str, message: str, dtype: str = "float64"
) -> dict[str, Any]:
    """A case that could not be compared: a malformed entry or a crashed oracle (in the gate's
    ``dtype``, so that errors are counted per (dtype, oracle) like comparisons)."""
    return {
        "kind": "error",
        "arch": arch_record(arch),
        "oracle": oracle,
        "dtype": dtype,
        "message": message,
    }


def not_applicable_record(
    arch: Architecture, oracle: str, quantity: str, layer: int, message: str, dtype: str
) -> dict[str, Any]:
    """A comparison the oracle cannot make on this net (the complex step on a relu net): its own
    status, counted and shown, never a pass."""
    return {
        "kind": "not_applicable",
        "arch": arch_record(arch),
        "oracle": oracle,
        "quantity": quantity,
        "layer": layer,
        "message": message,
        "dtype": dtype,
    }


def verdict_record(
    impl: str, verdict: dict[str, Any], arch: Architecture | None = None
) -> dict[str, Any]:
    """An implementation under test's verdict (checker/): on one case, or overall (no arch).

    ``verdict`` holds ``label`` (PASS; BP1…BP4, SGD, COST: the first equation that breaks; or
    what is wrong with the implementation's form: SHAPE, NONFINITE, CRASH, HANG, INTERFACE, LOAD),
    ``layer`` (book numbering), ``message``, ``line`` (the verdict line printed), ``passed``
    and, overall, ``expected``/``as_expected`` (a mutant must get its intended label).
    """
    return {
        "kind": "verdict",
        "impl": impl,
        "arch": arch_record(arch) if arch is not None else None,
        **verdict,
    }


def environment(seed: int, random_count: int) -> dict[str, Any]:
    """Versions, BLAS, seed and commit: what a reader needs to trust or rerun the numbers."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "random_seed": seed,
        "random_count": random_count,
    }
    for name in ("torch", "jax"):
        try:
            env[name] = __import__(name).__version__
        except ImportError:
            env[name] = None
    try:
        from threadpoolctl import threadpool_info

        env["blas"] = ", ".join(
            f"{i.get('internal_api')} {i.get('version')}"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        )
    except ImportError:
        env["blas"] = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name")
    try:
        env["git_commit"] = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        env["git_commit"] = None
    return env


def write(path: Path, records: list[tuple[str, dict[str, Any]]], env: dict[str, Any]) -> None:
    """Write the results file: records sorted by test id, keys sorted, so output is stable; written
    to a temporary name and renamed into place, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "schema": SCHEMA,
        "environment": env,
        "records": [{"test": nodeid, **rec} for nodeid, rec in sorted(records, key=lambda r: r[0])],
    }
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n")
    os.replace(partial, path)


def read(path: Path) -> dict[str, Any]:
    """The results file, or the parts of a run that never wrote it (:func:`harness.parts.load`)."""
    return parts.load(Path(path))
