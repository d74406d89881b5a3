"""A now-playing tracker whose state and published events survive a restart.

The item playing lives in the ledger's ``state`` and each acknowledged event
in its keys, so an adapter started again (after a crash or a kill -9) ends
the item that was playing and sends nothing twice.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from efir.adapters.ledger import key
from efir.core.nowplaying import Playing, Tracker

if TYPE_CHECKING:
    from collections.abc import Sequence

    from efir.adapters.ledger import Ledger
    from efir.adapters.link import Link

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_STATE = "current"


class DurableTracker:
    """One channel's :class:`~efir.core.nowplaying.Tracker`, resumed from and kept in a ledger."""

    def __init__(self, channel: str, ledger: Ledger) -> None:
        """Resume from the item ``ledger`` says was playing."""
        self.ledger = ledger
        stored = ledger.state(_STATE)
        current = None if stored is None else Playing.from_dict(json.loads(stored))
        self.tracker = Tracker(channel, current)

    async def observe(
        self, link: Link, now: int, playing: Playing | None, history: Sequence[Playing] = ()
    ) -> int:
        """Publish what an observation changes (not sent before); return how many events."""
        before = self.tracker.current
        payloads = [_ENCODE(e).encode() for e in self.tracker.observe(now, playing, history)]
        fresh = [(p, key(p)) for p in payloads if key(p) not in self.ledger.sent]
        if fresh:
            await link.publish([p for p, _ in fresh])
            self.ledger.mark_sent([k for _, k in fresh])
        current = self.tracker.current
        if current != before:
            self.ledger.set_state(
                _STATE, None if current is None else json.dumps(current.to_dict())
            )
        return len(fresh)
