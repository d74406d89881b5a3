"""``efir adapter rivendell``: Rivendell's PAD feed (PyPAD's JSON over TCP) as start and end events.

The adapter connects to ``rdpadd`` (port 34289), reads each update of the
chosen log machine (``--machine``, 1 = the main log) and hands its ``now``
item to a :class:`~efir.core.nowplaying.Tracker`: a new item is a ``start``,
the one it replaced an ``end`` at its start. The item playing and the
acknowledged events are kept in the ledger, so a restart or a kill -9 ends
the item that was playing and sends nothing twice.

An update that cannot be read is reported with the reason and skipped; a
field the adapter does not use is named once (``skipped fields``); when the
feed drops, the adapter connects again with a growing pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from efir.adapters.link import Link, connected
from efir.adapters.poll import wall_us
from efir.adapters.tracking import DurableTracker
from efir.readers.pypad import MAX_UPDATE_BYTES, PadError, decode, playing

if TYPE_CHECKING:
    from collections.abc import Callable
    from zoneinfo import ZoneInfo

    from efir.adapters.ledger import Ledger
    from efir.config.settings import MqttTarget

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PadOptions:
    """Where the feed is and what to take from it."""

    host: str
    port: int
    channel: str
    tz: ZoneInfo
    machine: int = 1
    kind: str = "music"


@dataclass(slots=True)
class PadStats:
    """What the adapter did since it started."""

    updates: int = 0
    published: int = 0
    refused: int = 0
    skipped_fields: set[str] = field(default_factory=set)


class PadReader:
    """Turns the feed's updates into published events through a :class:`Link`."""

    def __init__(self, options: PadOptions, ledger: Ledger, now_us: Callable[[], int]) -> None:
        """Resume from the item ``ledger`` says was playing."""
        self.options = options
        self.ledger = ledger
        self.now_us = now_us
        self.tracked = DurableTracker(options.channel, ledger)
        self.stats = PadStats()

    async def update(self, message: bytes, link: Link) -> int:
        """One update (its bytes, without the blank line): publish what it changes."""
        try:
            pad = decode(message)
            if pad.get("machine", 1) != self.options.machine:
                return 0
            item, unused = playing(pad, self.options.tz, kind=self.options.kind)
        except PadError as exc:
            self.stats.refused += 1
            log.warning("refused a PAD update: %s", exc)
            return 0
        self.stats.updates += 1
        new = unused - self.stats.skipped_fields
        if new:
            self.stats.skipped_fields |= new
            log.info("PAD fields not used (kept out of the events): %s", ", ".join(sorted(new)))
        published = await self.tracked.observe(link, self.now_us(), item)
        self.stats.published += published
        return published

    async def read(self, reader: asyncio.StreamReader, link: Link) -> None:
        """Updates until the feed closes: lines up to an empty one make one update."""
        lines: list[bytes] = []
        size = 0
        while True:
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                return  # the feed closed
            except asyncio.LimitOverrunError:
                self.stats.refused += 1
                log.warning("refused a PAD update: a line over %d bytes", MAX_UPDATE_BYTES)
                return  # resynchronise on a new connection
            if line.strip():
                lines.append(line)
                size += len(line)
                if size > MAX_UPDATE_BYTES:
                    self.stats.refused += 1
                    log.warning("refused a PAD update: over %d bytes", MAX_UPDATE_BYTES)
                    lines, size = [], 0
                continue
            if lines:
                await self.update(b"".join(lines), link)
            lines, size = [], 0

    async def run(self, link: Link, stop: asyncio.Event | None = None) -> None:
        """Connect to the feed and read it until ``stop``, connecting again when it drops."""
        o = self.options
        backoff = 0.5
        while stop is None or not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    o.host, o.port, limit=MAX_UPDATE_BYTES
                )
            except OSError as exc:
                log.warning("Rivendell PAD feed %s:%d: %s", o.host, o.port, exc)
            else:
                backoff = 0.5
                try:
                    reading: asyncio.Task[object] = asyncio.create_task(self.read(reader, link))
                    waits: set[asyncio.Task[object]] = {reading}
                    if stop is not None:
                        waits.add(asyncio.create_task(stop.wait()))
                    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    for task in pending:
                        task.cancel()
                    if reading in done:
                        reading.result()
                finally:
                    writer.close()
                    with contextlib.suppress(OSError):
                        await writer.wait_closed()
                if stop is not None and stop.is_set():
                    return
                log.warning("Rivendell PAD feed %s:%d closed; connecting again", o.host, o.port)
            with contextlib.suppress(TimeoutError):
                if stop is None:
                    await asyncio.sleep(backoff)
                else:
                    await asyncio.wait_for(stop.wait(), backoff)
            backoff = min(backoff * 2, 30.0)


async def rivendell(
    target: MqttTarget,
    options: PadOptions,
    ledger: Ledger,
    *,
    prefix: str = "asrun",
    heartbeat_s: float = 30.0,
    stop: asyncio.Event | None = None,
    now_us: Callable[[], int] = wall_us,
) -> PadStats:
    """Read the PAD feed to the broker until ``stop``, reconnecting when the broker goes away."""
    pad = PadReader(options, ledger, now_us)
    await connected(
        target,
        prefix=prefix,
        channel=options.channel,
        adapter="rivendell",
        heartbeat_s=heartbeat_s,
        work=lambda link: pad.run(link, stop),
        stop=stop,
    )
    return pad.stats
