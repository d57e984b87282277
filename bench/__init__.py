"""Benchmarks of hava-cabinet (`make bench`)."""
