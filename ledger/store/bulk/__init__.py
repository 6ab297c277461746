"""Helpers for loading many rows at once (the import pipeline's write phase)."""
