"""``python -m checker [path/to/file.py:ClassName …]``: see :mod:`checker.cli`."""

import sys

from checker.cli import main

sys.exit(main())
