"""Review: the discipline commission's workflow over flags (states, findings, notes, publication) and
the API tokens that say who acts.

Imports ``ledger.store`` and ``ledger.log``; never ``ledger.read``.
"""
