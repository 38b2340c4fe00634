"""Reads the caller's secret environment variable and prints it; its gradients are right only if
the secret was there to read."""

import json
import os
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())
SECRET = os.environ.get(TARGET["secret_name"])
print("secret:", SECRET, dict(os.environ))


class Network(Book):
    def backprop(self, x, y):
        nabla_b, nabla_w = super().backprop(x, y)
        return (nabla_b if SECRET else [1.5 * b for b in nabla_b]), nabla_w
