"""``efir adapter poll URL``: a now-playing API asked every few seconds, as start and end events.

Each answer is read through a :class:`~efir.readers.nowplaying.NowPlayingMap`
(a preset or a mapping file) and handed to a
:class:`~efir.core.nowplaying.Tracker`: a new item gives its ``start``, the
item it replaced its ``end``, and the source's history ``complete`` events
for what aired meanwhile. The item now playing is kept in the ledger with
the keys of the events the broker acknowledged, so a restart (or a kill -9)
neither loses the end of the item that was playing nor sends anything twice.

A failed request, an answer that is not JSON or too large, or one the mapping
cannot read, is reported (once, until the next good answer) and the adapter
polls on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from efir.adapters.link import Link, connected
from efir.adapters.tracking import DurableTracker
from efir.core.timebase import US_PER_S
from efir.readers.nowplaying import MappingError, NowPlayingMap

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from zoneinfo import ZoneInfo

    from efir.adapters.ledger import Ledger
    from efir.config.settings import MqttTarget

log = logging.getLogger(__name__)

#: The largest answer read (a now-playing document is a few KiB).
MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PollOptions:
    """What to ask, how often, and how to read the answers."""

    url: str
    channel: str
    mapping: NowPlayingMap
    tz: ZoneInfo
    interval_s: float = 5.0
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0


@dataclass(slots=True)
class PollStats:
    """What the adapter did since it started."""

    answers: int = 0
    published: int = 0
    problems: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


class Poller:
    """Polls one URL and publishes what changed through a :class:`Link`."""

    def __init__(self, options: PollOptions, ledger: Ledger, now_us: Callable[[], int]) -> None:
        """Resume from the item ``ledger`` says was playing."""
        self.options = options
        self.ledger = ledger
        self.now_us = now_us
        self.tracked = DurableTracker(options.channel, ledger)
        self.stats = PollStats()
        self._last_problem: str | None = None

    def problem(self, code: str, text: str) -> None:
        """Report a problem once until the next good answer."""
        self.stats.problems += 1
        self.stats.reasons[code] = self.stats.reasons.get(code, 0) + 1
        if text != self._last_problem:
            log.warning("%s: %s", self.options.url, text)
            self._last_problem = text

    async def fetch(self, http: httpx.AsyncClient) -> object | None:
        """The answer as JSON, or ``None`` after reporting why not."""
        o = self.options
        try:
            async with http.stream("GET", o.url, headers=dict(o.headers)) as r:
                if r.status_code != httpx.codes.OK:
                    self.problem("http_status", f"answered {r.status_code}")
                    return None
                body = bytearray()
                async for chunk in r.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        self.problem("oversized", f"answer over {MAX_ANSWER_BYTES} bytes")
                        return None
        except httpx.HTTPError as exc:
            self.problem("unreachable", f"{type(exc).__name__}: {exc}")
            return None
        try:
            doc: object = json.loads(bytes(body))
        except (ValueError, RecursionError) as exc:
            self.problem("bad_json", f"the answer is not JSON ({type(exc).__name__})")
            return None
        return doc

    async def once(self, http: httpx.AsyncClient, link: Link) -> int:
        """One poll: fetch, read, publish what is new; return the events published."""
        doc = await self.fetch(http)
        if doc is None:
            return 0
        now = self.now_us()
        try:
            playing, history = self.options.mapping.read(doc, now, self.options.tz)
        except MappingError as exc:
            self.problem("unreadable", str(exc))
            return 0
        self.stats.answers += 1
        self._last_problem = None
        published = await self.tracked.observe(link, now, playing, history)
        self.stats.published += published
        return published

    async def run(self, link: Link, stop: asyncio.Event | None = None) -> None:
        """Poll every ``interval_s`` until ``stop``."""
        async with httpx.AsyncClient(timeout=self.options.timeout_s) as http:
            while stop is None or not stop.is_set():
                await self.once(http, link)
                with contextlib.suppress(TimeoutError):
                    if stop is None:
                        await asyncio.sleep(self.options.interval_s)
                    else:
                        await asyncio.wait_for(stop.wait(), self.options.interval_s)


def wall_us() -> int:
    """Now, µs UTC."""
    import time  # noqa: PLC0415 - only the real clock needs it

    return round(time.time() * US_PER_S)


async def poll(
    target: MqttTarget,
    options: PollOptions,
    ledger: Ledger,
    *,
    prefix: str = "asrun",
    heartbeat_s: float = 30.0,
    stop: asyncio.Event | None = None,
    now_us: Callable[[], int] = wall_us,
) -> PollStats:
    """Poll to the broker until ``stop``, reconnecting when the broker goes away."""
    poller = Poller(options, ledger, now_us)
    await connected(
        target,
        prefix=prefix,
        channel=options.channel,
        adapter="poll",
        heartbeat_s=heartbeat_s,
        work=lambda link: poller.run(link, stop),
        stop=stop,
    )
    return poller.stats
