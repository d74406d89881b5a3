"""The pure core of Efir: event model, windows, rules, evaluation.

Everything here is standard library only, free of I/O and asyncio, and takes
time as a parameter. The live daemon and the offline ``efir audit`` share this
code, so a live status and an audit of the same events agree to the second.
An import-linter contract (``pyproject.toml``) and ``tests/unit/test_layers.py``
keep it that way.
"""
