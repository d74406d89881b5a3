"""Now-playing pushed to the daemon (AzuraCast webhooks, any JSON): start and end events.

Each channel has one :class:`~efir.core.nowplaying.Tracker`; a pushed
document is read through the preset or the channel's ``nowplaying:`` mapping
(docs/integration.md) and the events it gives go through ingest like
``POST /api/v1/events``. A document that cannot be read is a dead letter
with the reason. After a restart the tracker starts from the channel's open
item (a ``start`` without its ``end``), so the next push still ends it.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from efir.core.nowplaying import Playing, Tracker
from efir.core.timebase import US_PER_S
from efir.daemon.ingest import Inbound
from efir.readers.nowplaying import PRESETS, MappingError, NowPlayingMap

if TYPE_CHECKING:
    from efir.daemon.ingest import Ingest, Outcome
    from efir.daemon.monitor import Monitor

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: The largest now-playing document taken (they are a few KiB).
MAX_DOCUMENT_BYTES = 1024 * 1024


class NowPlayingIntake:
    """The channels' now-playing trackers and the way into ingest."""

    def __init__(
        self, monitor: Monitor, ingest: Ingest, maps: dict[str, NowPlayingMap] | None = None
    ) -> None:
        """``maps``: each channel's mapping for ``format=json`` (by channel id)."""
        self.monitor = monitor
        self.ingest = ingest
        self.maps = dict(maps or {})
        self._trackers: dict[str, Tracker] = {}
        self._lock = asyncio.Lock()

    def mapping(self, channel: str, fmt: str) -> NowPlayingMap:
        """The mapping of ``fmt`` for ``channel``.

        Raises:
            MappingError: ``json`` without a ``nowplaying:`` mapping for the channel.
        """
        if fmt == "json":
            found = self.maps.get(channel)
            if found is None:
                msg = (
                    f"format=json needs the channel's nowplaying: mapping in the configuration "
                    f"(docs/integration.md); {channel} has none"
                )
                raise MappingError(msg)
            return found
        return PRESETS[fmt]

    def _tracker(self, channel: str, now: int) -> Tracker:
        found = self._trackers.get(channel)
        if found is None:
            current = None
            ch = self.monitor.get(channel)
            item = ch.engine.on_air(now) if ch is not None else None
            if item is not None and item.end is None:
                planned = None
                if item.planned_end is not None:
                    planned = (item.planned_end - item.start) / US_PER_S
                current = Playing(item.event_id, item.start, planned)
            found = self._trackers[channel] = Tracker(channel, current)
        return found

    async def receive(self, channel: str, fmt: str, body: bytes, now: int) -> list[Outcome]:
        """Read a pushed document and ingest its events (a dead letter if it cannot be read)."""
        async with self._lock:  # one document at a time: the tracker's order is the push order
            try:
                doc = json.loads(body)
                mapping = self.mapping(channel, fmt)
                playing, history = mapping.read(doc, now, self.monitor.channels[channel].engine.tz)
            except (ValueError, RecursionError) as exc:
                reason = (
                    str(exc)
                    if isinstance(exc, MappingError)
                    else f"a now-playing document must be JSON ({type(exc).__name__})"
                )
                letter = Inbound(
                    body, "http", now, channel=channel, refusal=("unreadable_nowplaying", reason)
                )
                return await self.ingest.submit_all([letter])
            tracker = self._tracker(channel, now)
            events = tracker.observe(now, playing, history)
            return await self.ingest.submit_all(
                [Inbound(_ENCODE(e).encode(), "http", now, channel=channel) for e in events]
            )
