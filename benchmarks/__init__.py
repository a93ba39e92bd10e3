"""Benchmark commands (run with `uv run python -m benchmarks.<name>`); not part of the test suite."""
