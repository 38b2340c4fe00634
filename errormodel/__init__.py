"""The error model: how far a computed gradient may be from another, derived, not chosen.

Below the oracles and the gate, importing only :mod:`reference`:

- :mod:`errormodel.tables`: per activation and cost, the derivatives' peaks and the roundings of
  each formula (the entries the bound and the FD truncation jet need);
- :mod:`errormodel.layer_terms`: per layer type, its terms of the bound, the FD truncation jet
  and the complex step's underflow;
- :mod:`errormodel.rounding`: a case's running rounding bound B (the size of the terms each
  quantity is computed from), the finite-difference oracle's truncation and rounding, the
  complex step's underflow;
- :mod:`errormodel.tolerances`: the gate's policy, the allowed error per oracle kind, per SGD step
  and against the ground truth;
- :mod:`errormodel.compare`: a comparison of two arrays against that allowed error (normwise per
  layer, or element by element against the truth);
- :mod:`errormodel.learner`: the checker's model, a learner's implementation against the
  reference.
"""
