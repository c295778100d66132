"""asv benchmarks for fastdiff (see docs/dev/benchmarks.md)."""
