"""Durable storage (SQLAlchemy 2, async): PostgreSQL in production, SQLite embedded."""

from efir.store.database import Store, StoreDataError, StoreError, StoreUnavailableError

__all__ = ["Store", "StoreDataError", "StoreError", "StoreUnavailableError"]
