"""Sunshine Ledger: the domain and the store.

This package must not import ``importers``, ``api``, ``charts``, ``cli``, litestar or matplotlib.
"""

__version__ = "0.1.0"
