"""Helpers of the benchmarks and tests, kept out of the ``plenexp`` package.

Benchmark scripts import them as ``from _support import bench`` (Python puts
``benchmarks/`` first on the path when it runs a script there); the tests put
``benchmarks/`` on the path in ``tests/conftest.py``.
"""
