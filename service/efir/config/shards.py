"""Shards: which instance counts which channel (docs/scaling.md).

Every instance of a fleet reads the same ``channels:`` list, in which each
channel names its shard (``shard: north``), and is started for one shard
(``EFIR_SHARD=north``). It then monitors, checkpoints, alerts on and reports
the channels of that shard only, like a single instance whose configuration
held only them; the rest of the list tells it which shard serves the others,
so that its API and board can send a user there.

Two instances started for the same shard are an active/standby pair, as
without shards: both count, the holder of the shard's sender lease notifies.
The lease is per shard (its advisory lock id is derived from the shard's
name), so each shard has its own leader.

The *first* shard (the shard of the first channel listed) also answers for
what belongs to no shard: it subscribes to every channel's topics and
dead-letters the events of channels nobody configured, and its leader raises
and sends Efir's own alerts (a receiver disabled). The others subscribe to
their channels' topics only.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from efir.config.settings import ConfigError

if TYPE_CHECKING:
    from efir.config.settings import Settings

#: The channel id of Efir's own alerts and notifications (a disabled receiver).
SYSTEM_SCOPE = "efir"


@dataclass(frozen=True, slots=True)
class ShardMap:
    """The channels' shards and the one this instance serves.

    Attributes:
        shard_of: every configured channel id and its shard (``None`` without shards).
        shards: the shards in the order the channel list first names them.
        own: the shard this instance serves (``None``: every channel, no shards).
    """

    shard_of: dict[str, str | None]
    shards: tuple[str, ...]
    own: str | None

    @classmethod
    def of(cls, settings: Settings) -> ShardMap:
        """The map of ``settings`` (validated there: every channel names a shard or none).

        Raises:
            ConfigError: the channels name shards and this instance names none
                (it would count every channel beside the shards' instances).
        """
        shard_of = {c.id: c.shard for c in settings.channels}
        shards = tuple(dict.fromkeys(s for s in shard_of.values() if s is not None))
        if shards and settings.shard is None:
            msg = (
                f"the channels name shards {list(shards)}: set EFIR_SHARD (or shard:) to the "
                "one this instance serves"
            )
            raise ConfigError([msg])
        return cls(shard_of, shards, settings.shard)

    @property
    def sharded(self) -> bool:
        """True when the channels name shards."""
        return bool(self.shards)

    @property
    def primary(self) -> bool:
        """This instance answers for what belongs to no shard (the first shard, or no shards)."""
        return self.own is None or self.own == self.shards[0]

    def serves(self, channel: str) -> bool:
        """This instance counts ``channel``."""
        return channel in self.shard_of and (self.own is None or self.shard_of[channel] == self.own)

    def elsewhere(self, channel: str) -> str | None:
        """The shard serving ``channel`` when it is configured but not served here."""
        shard = self.shard_of.get(channel)
        if shard is None or self.own is None or shard == self.own:
            return None
        return shard

    def channels(self) -> list[str]:
        """The channels this instance serves, in configuration order."""
        return [c for c in self.shard_of if self.serves(c)]

    def alert_scope(self) -> frozenset[str] | None:
        """The alert channels this instance's leader owns (``None``: all of them)."""
        if self.own is None:
            return None
        own = set(self.channels())
        if self.primary:
            own.add(SYSTEM_SCOPE)
        return frozenset(own)

    def digest(self) -> str:
        """16 hex digits naming the channel list and its shards (not this instance's shard).

        Every instance of a fleet reports it: instances that disagree run
        different channel lists, so a channel may be counted by two shards, or
        by none.
        """
        text = json.dumps(sorted(self.shard_of.items(), key=lambda kv: kv[0]))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def lock_id(self, base: int) -> int:
        """The sender lease's advisory lock id for this instance's shard.

        ``base`` (``alerts.leader_lock_id``) as it is without shards; with
        shards, ``base`` plus the CRC-32 of the shard's name, kept within a
        signed 64-bit key, so that each shard's pair elects its own leader.
        """
        if self.own is None:
            return base
        return (base + zlib.crc32(self.own.encode())) % (2**63)

    def local(self, settings: Settings) -> Settings:
        """``settings`` as this instance uses them: its shard's channels only.

        A report schedule naming channels keeps those of this shard and is
        dropped when none is left (an empty list would mean every channel).
        """
        if self.own is None:
            return settings
        channels = [c for c in settings.channels if self.serves(c.id)]
        reports = []
        for schedule in settings.reports:
            if not schedule.channels:
                reports.append(schedule)
                continue
            mine = [c for c in schedule.channels if self.serves(c)]
            if mine:
                reports.append(schedule.model_copy(update={"channels": mine}))
        return settings.model_copy(update={"channels": channels, "reports": reports})
