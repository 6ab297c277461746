"""Rules: reduction targets (policy files), their evaluation (checks), flag thresholds, and the red-flag
rules with the store of the flags they raise.

Imports ``ledger.store`` and ``ledger.money`` only; never ``ledger.read``, ``ledger.review.workflow`` or ``ledger.log``.
"""
