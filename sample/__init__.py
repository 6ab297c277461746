"""A deterministic fictional city (units, spending, budgets, procurement) for the demo and the tests.

It sits beside ``importers`` and ``charts``: it may import ``ledger`` only, never the importers,
so the files it writes are what a finance bureau would hand over, not what our code expects.
"""
