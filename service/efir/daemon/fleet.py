"""The fleet at run time: this instance's shard and who serves the others.

Every ``every_s`` (2 s) each instance writes its row in ``instances`` (its
shard, address, whether it holds its shard's sender lease) and reads every
row back. From that it answers, for a channel of another shard, which
instance serves it: that shard's leader if one reported in the last
``ALIVE_S`` seconds, else another live instance of it, else none (the shard is
down: said as such). The API and the board use the answer; Prometheus gets
the counts per shard (``efir_fleet_instances``, ``efir_fleet_leaders``).

Each instance also reports a digest of the channel list and shards it runs
with. When a running instance reports another one, the fleet's instances
disagree about who serves what (a channel counted twice, or by nobody): this
instance logs it and sets ``efir_fleet_config_consistent`` to 0 (the
``EfirFleetConfigDiffers`` alert). Rows unseen for a week are pruned.
Liveness is judged on this instance's clock against the other's
``seen_us``: keep the fleet's clocks in NTP sync (a skew beyond a few
seconds makes a live instance look down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from efir import __version__
from efir.core.timebase import US_PER_S
from efir.store.database import StoreError
from efir.store.instances import InstanceRow, Instances

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from efir.config.settings import ChannelConfig
    from efir.config.shards import ShardMap
    from efir.metrics import Metrics
    from efir.store import Store

log = logging.getLogger(__name__)

#: An instance that reported within this many seconds counts as running.
ALIVE_S = 10.0
#: Rows of instances unseen this long are forgotten.
FORGET_S = 7 * 86_400.0


@dataclass(frozen=True, slots=True)
class ServedBy:
    """Where a channel of another shard is served.

    Attributes:
        channel: the channel asked for.
        shard: its shard.
        instance: the instance serving it (``None``: no instance of the shard is running).
        url: that instance's address, if it published one.
        leader: that instance holds its shard's sender lease.
    """

    channel: str
    shard: str
    instance: str | None
    url: str | None
    leader: bool

    def sentence(self) -> str:
        """One sentence for a user: where to go instead."""
        if self.instance is None:
            return (
                f"channel {self.channel!r} is served by shard {self.shard!r}, and no instance "
                f"of that shard has reported in the last {ALIVE_S:.0f} s"
            )
        where = f" at {self.url}" if self.url else ""
        return (
            f"channel {self.channel!r} is served by shard {self.shard!r}: "
            f"instance {self.instance!r}{where}"
        )

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the API answers with."""
        return {
            "channel": self.channel,
            "shard": self.shard,
            "instance": self.instance,
            "url": self.url,
            "leader": self.leader,
        }


class Fleet:
    """This instance's place in the fleet, refreshed from the store."""

    def __init__(
        self,
        shards: ShardMap,
        store: Store,
        metrics: Metrics,
        *,
        me: str,
        url: str,
        now_us: Callable[[], int],
        leading: Callable[[], bool],
        configs: Mapping[str, ChannelConfig] | None = None,
        every_s: float = 2.0,
    ) -> None:
        """``me``: this instance's id (``mqtt.client_id``); ``url``: its ``public_url``.

        ``configs``: every configured channel, every shard's (the API lists them all).
        """
        self.shards = shards
        self.configs = dict(configs or {})
        self.instances = Instances(store)
        self.metrics = metrics
        self.me = me
        self.url = url
        self.now_us = now_us
        self.leading = leading
        self.every_s = every_s
        self.started_us = now_us()
        self.config = shards.digest()
        #: Every instance's row as last read (this one's included).
        self.rows: list[InstanceRow] = []
        #: Running instances whose channel list differs from this one's, as last read.
        self.differing: list[str] = []
        self._kick = asyncio.Event()
        metrics.shard.info({"shard": shards.own or "", "client_id": me})
        #: The shards counted in the metrics; ``""`` stands for "no shards".
        self._labels = shards.shards or ("",)
        for shard in self._labels:
            metrics.fleet_instances.labels(shard).set(0)
            metrics.fleet_leaders.labels(shard).set(0)

    # ------------------------------------------------------------- reads
    def alive(self, row: InstanceRow) -> bool:
        """``row``'s instance reported within :data:`ALIVE_S` (this one always is)."""
        return row.id == self.me or self.now_us() - row.seen_us <= ALIVE_S * US_PER_S

    def served_by(self, channel: str) -> ServedBy | None:
        """Who serves ``channel``, when it is configured for another shard (else ``None``)."""
        shard = self.shards.elsewhere(channel)
        if shard is None:
            return None
        live = [r for r in self.rows if r.shard == shard and r.id != self.me and self.alive(r)]
        live.sort(key=lambda r: (not r.leader, -r.seen_us, r.id))
        if not live:
            return ServedBy(channel, shard, None, None, leader=False)
        best = live[0]
        return ServedBy(channel, shard, best.id, best.url, leader=best.leader)

    def elsewhere(self) -> list[ServedBy]:
        """Where each configured channel of another shard is served, in configuration order."""
        return [w for cid in self.configs if (w := self.served_by(cid)) is not None]

    def describe(self, channel: str) -> str | None:
        """:meth:`served_by` as a sentence, or ``None`` when the channel is not another shard's."""
        where = self.served_by(channel)
        return None if where is None else where.sentence()

    def me_row(self) -> InstanceRow:
        """This instance's row as it is now."""
        return InstanceRow(
            self.me,
            self.shards.own,
            self.url,
            self.leading(),
            __version__,
            self.started_us,
            self.now_us(),
            len(self.shards.channels()),
            self.config,
        )

    # --------------------------------------------------------------- run
    def kick(self) -> None:
        """Report now (this instance became, or stopped being, its shard's leader)."""
        self._kick.set()

    async def refresh(self) -> None:
        """Report this instance, read the fleet back, export the counts."""
        now = self.now_us()
        await self.instances.report(self.me_row())
        rows = await self.instances.all()
        stale = [r for r in rows if now - r.seen_us > FORGET_S * US_PER_S]
        if stale:
            await self.instances.prune(now - int(FORGET_S * US_PER_S))
            rows = [r for r in rows if r not in stale]
        self.rows = rows
        differing = sorted(r.id for r in rows if self.alive(r) and r.config != self.config)
        if differing != self.differing and differing:
            log.error(
                "instances %s run another channel list or other shards than this one: "
                "give every instance the same channels: (docs/scaling.md)",
                differing,
            )
        self.differing = differing
        self.metrics.fleet_consistent.set(0 if differing else 1)
        for shard in self._labels:
            live = [r for r in rows if (r.shard or "") == shard and self.alive(r)]
            self.metrics.fleet_instances.labels(shard).set(len(live))
            self.metrics.fleet_leaders.labels(shard).set(sum(r.leader for r in live))

    async def run(self) -> None:
        """Refresh every ``every_s`` (and when kicked) until cancelled."""
        while True:
            try:
                await self.refresh()
            except StoreError as exc:
                log.warning("fleet: could not report to the store: %s", exc)
            self._kick.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), self.every_s)

    async def leave(self) -> None:
        """Say this instance is no longer running (graceful shutdown): drop its row."""
        with contextlib.suppress(Exception):
            await self.instances.report(replace(self.me_row(), leader=False, seen_us=0))
