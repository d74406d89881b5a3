"""Efir's configuration: the YAML file and ``EFIR_*`` variables, checked strictly.

:mod:`efir.config.settings` holds the process settings and the channels,
:mod:`efir.config.alerts` the ``alerts:`` section (receivers, routes, inhibit
rules, delivery); both build on :class:`efir.config.base.Strict`.
"""
