"""Check anyone's backprop: a network.py- or network2.py-style class as the implementation under
test, with an equation-level verdict (BP1, BP2, BP3, BP4, SGD) and a mutation self-test.

    python -m checker path/to/network.py:Network     # one verdict line; exit 1 on any failure
    python -m checker                                # the mutant catalogue's verdict table
"""
