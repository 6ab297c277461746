"""The store: engines and transactions, the schema, migrations, the bulk write path and what is kept
beside it at publish (rollups, flag bases), backups and the append-only audit log.

Imports nothing from ``ledger.log``, ``ledger.rules``, ``ledger.review.workflow`` or ``ledger.read``.
"""
