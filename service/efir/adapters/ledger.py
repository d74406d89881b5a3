"""What an adapter has published, on disk: resume after a restart with no gap and no duplicate.

Each event is known by the SHA-256 of its payload (the first 16 bytes): an
event already acknowledged by the broker is never sent again, whatever file
it is read from (a rotated or copied log, a whole document re-read after a
change), and a correction (the same ``event_id`` with other fields) is new.
Keys are recorded after the broker's acknowledgement, in one SQLite
transaction per batch, so a kill -9 between the two re-sends at most that
batch, which the daemon stores once (it keeps one row per event and digest).
Refused records are recorded too, so each is reported once; ``state``
holds what else an adapter must remember (the item now playing).

Keys older than ``keep_days`` are forgotten: a file that old that changes
again is re-read as new (the daemon still stores its events once).
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sent (key BLOB PRIMARY KEY, at_s INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS refused (key BLOB PRIMARY KEY, at_s INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def key(payload: bytes) -> bytes:
    """An event's key: the first 16 bytes of the SHA-256 of its payload."""
    return hashlib.sha256(payload).digest()[:16]


class Ledger:
    """The adapter's published and refused keys (a SQLite file, WAL, synchronous=FULL)."""

    def __init__(self, path: Path, keep_days: float = 60.0) -> None:
        """Open (or create) the ledger at ``path`` and forget keys older than ``keep_days``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        cutoff = int(time.time() - keep_days * 86_400)
        self._db.execute("DELETE FROM sent WHERE at_s < ?", (cutoff,))
        self._db.execute("DELETE FROM refused WHERE at_s < ?", (cutoff,))
        self.sent = {bytes(k) for (k,) in self._db.execute("SELECT key FROM sent")}
        self.refused = {bytes(k) for (k,) in self._db.execute("SELECT key FROM refused")}

    def mark_sent(self, keys: Iterable[bytes]) -> None:
        """Record keys the broker acknowledged (one transaction)."""
        self._mark("sent", self.sent, keys)

    def mark_refused(self, keys: Iterable[bytes]) -> None:
        """Record refused records already reported."""
        self._mark("refused", self.refused, keys)

    def _mark(self, table: str, known: set[bytes], keys: Iterable[bytes]) -> None:
        now = int(time.time())
        rows = [(k, now) for k in keys if k not in known]
        if not rows:
            return
        self._db.execute("BEGIN")
        self._db.executemany(f"INSERT OR IGNORE INTO {table} VALUES (?, ?)", rows)  # noqa: S608 - a fixed table name
        self._db.execute("COMMIT")
        known.update(k for k, _ in rows)

    def state(self, name: str) -> str | None:
        """A value the adapter stored under ``name`` (the item now playing, ...)."""
        row = self._db.execute("SELECT value FROM state WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, name: str, value: str | None) -> None:
        """Store (``None``: forget) a value under ``name``."""
        if value is None:
            self._db.execute("DELETE FROM state WHERE name = ?", (name,))
        else:
            self._db.execute("INSERT OR REPLACE INTO state VALUES (?, ?)", (name, value))

    def close(self) -> None:
        """Close the file."""
        self._db.close()
