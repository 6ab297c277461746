"""The transparency log: canonical forms, the RFC 6962 Merkle tree, signed checkpoints, the publish
hooks that append to it, and ``verify``, which recomputes it from the stored rows.

Imports nothing above ``ledger.store`` (no rules, review or read).
"""
