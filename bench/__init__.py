"""Benchmarks: each prints a table and fails (exit 1) when a stated budget is not met.

Budgets are ratios against a baseline measured in the same run, never absolute times, so
they mean the same on a laptop and on CI."""
