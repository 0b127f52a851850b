"""Benchmarks for ``parallel_nodes``: overhead, the seed scenario, throughput, instrumentation.

Run them all with ``python -m benchmarks [--quick] [--out DIR] [--check]``; each benchmark
module has a ``run(quick=...)`` function that returns a JSON-safe dict.
"""

from __future__ import annotations
