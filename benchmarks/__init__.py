"""Benchmarks: speed claims measured as ratios in one run."""
