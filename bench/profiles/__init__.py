"""Profilers and query plans (import, API, EXPLAIN) behind the figures in docs/benchmarks.md."""
