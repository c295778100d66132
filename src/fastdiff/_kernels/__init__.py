"""Compiled kernels of fastdiff (private)."""
