"""What the gate (harness/) and the checker (checker/) share, below both.

- :mod:`suite.architectures`: the architectures both run (the curated registry, the tails
  family, the seeded random ones);
- :mod:`suite.options`: the pytest options that choose them (``--random-count``,
  ``--random-seed``), offered by both plugins;
- :mod:`suite.results`: the results records, written and read as one type;
  :mod:`suite.diffmap`: the ∂C/∂w difference map a comparison record keeps;
- :mod:`suite.recording`: where a test's record goes.

Imports the reference and the error model only (never harness/, checker/ or an oracle).
"""
