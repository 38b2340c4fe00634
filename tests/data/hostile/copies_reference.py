"""Imports the project's reference (through sys.path, or from the checkout the checker runs
from) to copy its gradients: right gradients if it imports, wrong ones if it does not."""

import json
import sys
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())
sys.path.append(TARGET["project"])
try:
    import reference  # noqa: F401  (what a copier would call for the true gradients)

    FOUND = True
except ImportError:
    FOUND = any(
        (Path(p) / "reference" / "__init__.py").exists() for p in [*sys.path, TARGET["project"]]
    )


class Network(Book):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return (nabla_b if FOUND else [1.5 * b for b in nabla_b]), nabla_w
