"""Benchmarks: speed, memory and solution quality, printed as tables (``--json`` for JSON lines)."""
