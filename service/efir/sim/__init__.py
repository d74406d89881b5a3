"""Simulated playout feeds (for the demo, tests and benchmarks)."""
