"""From "now playing" observations to as-run events: an item ends when the next starts.

Radio automation and streaming servers say what is on air now (and often
what played before); Efir needs each item's start and its end. A
:class:`Tracker` per channel turns each observation into events:

* the item now playing, when it is new: a ``start`` (with its planned
  duration, which bounds it while it is open);
* the item that was playing before, when another replaced it: an ``end``
  at the new item's start (or at the observation's instant when nothing is
  playing now), unless the source's history already gives it;
* each item of the source's history (finished items with a start and a
  length): a ``complete``, its length cut at the next item's start. History
  is how items that aired while nobody was listening (an adapter restarted,
  a webhook lost) are not a gap. An identical event sent twice is stored once,
  so history repeated on every observation is harmless.

Instants are µs UTC; lengths seconds. The tracker keeps only the item now
playing (:attr:`Tracker.current`), which a caller that must survive a
restart stores and hands back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from efir.core.timebase import US_PER_S, from_us

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The longest item Efir accepts (the schema's limit), seconds.
MAX_LENGTH_S = 86_400.0
SCHEMA = "efir.asrun/1"


@dataclass(frozen=True, slots=True)
class Playing:
    """One item a source names: its id, start (µs UTC), planned length (s) and fields.

    ``fields`` holds the event's other fields (``title``, ``artist``,
    ``isrc``, ``house_id``, ``kind``, ``language``, ...), copied as given.
    """

    event_id: str
    start: int
    duration: float | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form (for a caller that stores :attr:`Tracker.current`)."""
        return {
            "event_id": self.event_id,
            "start": self.start,
            "duration": self.duration,
            "fields": dict(self.fields),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Playing:
        """The inverse of :meth:`to_dict`."""
        return cls(
            str(data["event_id"]), int(data["start"]), data.get("duration"), data.get("fields", {})
        )


def rfc3339(us: int) -> str:
    """``2026-12-03T17:12:00Z``, with microseconds when there are any."""
    text = from_us(us).isoformat()
    return text.replace("+00:00", "Z")


class Tracker:
    """One channel's now-playing observations to ``efir.asrun/1`` payloads (dicts)."""

    def __init__(self, channel: str, current: Playing | None = None) -> None:
        """Track ``channel``; ``current``: the item playing at the last observation."""
        self.channel = channel
        self.current = current

    def _event(self, item: Playing, phase: str, length: float | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            **item.fields,
            "schema": SCHEMA,
            "channel": self.channel,
            "event_id": item.event_id,
            "phase": phase,
            "start": rfc3339(item.start),
        }
        if length is not None:
            out["duration"] = round(min(length, MAX_LENGTH_S), 6)
        else:
            out.pop("duration", None)
        return out

    def observe(
        self, now: int, playing: Playing | None, history: Sequence[Playing] = ()
    ) -> list[dict[str, Any]]:
        """The events of one observation at ``now``: what plays, and what played before.

        ``playing``: the item on air now, or ``None`` when nothing is;
        ``history``: finished items the source lists (any order).
        """
        out: list[dict[str, Any]] = []
        done = sorted((h for h in history if playing is None or h.event_id != playing.event_id),
                      key=lambda h: h.start)  # fmt: skip
        told = {h.event_id for h in done}
        for i, h in enumerate(done):
            following = done[i + 1].start if i + 1 < len(done) else None
            if following is None and playing is not None:
                following = playing.start
            length = h.duration
            if following is not None and following > h.start:
                cut = (following - h.start) / US_PER_S
                length = cut if length is None else min(length, cut)
            if length is not None and length > 0:
                out.append(self._event(h, "complete", length))
        was = self.current
        replaced = was is not None and (playing is None or playing.event_id != was.event_id)
        if was is not None and replaced and was.event_id not in told:
            until = playing.start if playing is not None and playing.start > was.start else now
            length = (until - was.start) / US_PER_S
            if length > 0:
                out.append(self._event(was, "end", length))
        if playing is not None and (was is None or was.event_id != playing.event_id):
            planned = playing.duration if playing.duration and playing.duration > 0 else None
            out.append(self._event(playing, "start", planned))
        self.current = playing
        return out
