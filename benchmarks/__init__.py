"""Thoth's benchmark harness: ``make bench`` (full) and ``make bench-smoke`` (tiny counts).

See benchmarks/README.md for what is measured and how.
"""
