"""Readers: what playout systems write, turned into canonical ``efir.asrun/1`` events.

One interface (:class:`efir.readers.base.Reader`) for every format; the
registry (:mod:`efir.readers.registry`) picks one by name or detects it from
the content. Used by ``efir audit`` and ``efir convert``. docs/formats.md
describes each format, its options and how to check the result.
"""
