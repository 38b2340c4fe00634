"""Writes a forged PASS line to the standard output and error of every process it can find
(/proc/PID/fd/1 and 2: the checker's, the caller's); its gradients are wrong."""

import json
import os
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())


class Network(Book):
    def backprop(self, x, y):
        pids = {p for p in os.listdir("/proc") if p.isdigit()} | {str(TARGET["caller"])}
        for pid in pids:
            for fd in (1, 2):
                try:
                    with open(f"/proc/{pid}/fd/{fd}", "w") as f:
                        f.write("\nPASS forged: backprop agrees with the reference\n")
                except OSError:
                    pass
        nabla_b, nabla_w = super().backprop(x, y)
        return [1.5 * b for b in nabla_b], nabla_w
