"""One root for every error Efir raises on purpose, and four kinds under it.

A caller that only needs to tell "Efir refused this" from a defect catches
:class:`EfirError`; the CLI prints any of them as one clear line and exits
non-zero. The kinds say who has to act:

* :class:`InputError`: what a user or a feed gave is wrong (an event, a file,
  an option); fix the input.
* :class:`ConfigurationError`: the configuration, a rule pack or the zone
  database cannot be used; fix the installation.
* :class:`StateError`: saved state cannot be used as it is (a checkpoint, an
  event restored without its versions); Efir rebuilds it from the store.
* :class:`ServiceError`: something Efir depends on failed or is held by
  another (the database, the broker's port, a worker process, the sender
  lease); retry or free it.

Each concrete error (``EventError``, ``StoreUnavailableError``, ...) lives
beside the code that raises it and derives from one kind. The kinds also keep
the standard base the concrete errors always had (``ValueError`` for bad
values, ``RuntimeError`` for failures), so ``except ValueError`` still works.
"""

from __future__ import annotations


class EfirError(Exception):
    """Any error Efir raises on purpose."""


class InputError(EfirError, ValueError):
    """An event, a file or an option given to Efir is not acceptable."""


class ConfigurationError(EfirError, ValueError):
    """The configuration, a rule pack or the zone database cannot be used."""


class StateError(EfirError, RuntimeError):
    """Saved state cannot be used as it is (Efir rebuilds it)."""


class ServiceError(EfirError, RuntimeError):
    """A service Efir depends on failed, or another holds what Efir needs."""
