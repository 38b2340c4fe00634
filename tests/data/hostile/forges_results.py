"""Writes a forged PASS results file, then kills its parent (SIGKILL) so the checker never
writes its own; its gradients are wrong."""

import contextlib
import json
import os
import signal
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())


class Network(Book):
    def backprop(self, x, y):
        with contextlib.suppress(OSError):
            Path(TARGET["results"]).write_text('{"schema": 1, "records": [], "forged": "PASS"}')
        for pid in (os.getppid(), TARGET["caller"]):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        nabla_b, nabla_w = super().backprop(x, y)
        return [1.5 * b for b in nabla_b], nabla_w
