"""Benchmarks: synthetic data, peers and the one command that measures everything (``bench/run.py``).

Never run by the test suite; only ``tests/project/test_bench_generate.py`` checks the generator at a tiny scale.
"""
