"""Double-forks a setsid daemon (its command line carries the token) that outlives the worker and
rewrites the results file with a PASS every 50 ms; its own gradients are wrong."""

import json
import os
import subprocess
import sys
from pathlib import Path

from checker.mutants.book_network import Network as Book

TARGET = json.loads(Path(__file__).with_name("target.json").read_text())
LOOP = """
import contextlib, sys, time
while True:
    with contextlib.suppress(OSError):
        open(sys.argv[1], "w").write('{"schema": 1, "records": [], "forged": "PASS"}')
    time.sleep(0.05)
"""


STARTED = []


class Network(Book):
    def backprop(self, x, y):
        if not STARTED and os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                argv = [sys.executable, "-c", LOOP, TARGET["results"], TARGET["token"]]
                subprocess.Popen(argv, start_new_session=True, close_fds=True)
            os._exit(0)
        if not STARTED:
            os.wait()
            STARTED.append(True)
        nabla_b, nabla_w = super().backprop(x, y)
        return [1.5 * b for b in nabla_b], nabla_w
