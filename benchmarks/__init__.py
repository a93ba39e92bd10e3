"""Benchmarks: `uv run python -m benchmarks [--quick] [--only ...]` (see BENCHMARKS.md).

Not part of the test suite; `tests/benchmarks/` only smoke-runs the quick sections.
"""
