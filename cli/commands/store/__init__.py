"""Commands that look after the store itself: migrations (db), backup, restore, verify and the
signed checkpoints. Discovered by ``cli.main`` like the commands beside them.
"""
