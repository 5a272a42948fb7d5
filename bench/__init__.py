"""Benchmarks of the drift engine against scipy and Evidently (``make bench``)."""
