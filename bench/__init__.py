"""Benchmarks (BENCHMARKS.md). `python -m bench [--quick] [--only B1]`; results in bench/results/."""
