"""``bxf``: SMPTE ST 2021 (BXF) as-run messages and schedules.

Reads ``BasicAsRun`` and ``CompleteAsRun`` (as-run) and ``ScheduledEvent``
(schedules, which are plans), in any namespace (2008 to 2023) or none:
elements are matched by their local names. XML is parsed with defusedxml:
a document declaring entities or referring to external ones is refused with
a clear error (billion laughs, external entities), never expanded.

* Start: ``SmpteDateTime`` (``@broadcastDate`` plus an ``SmpteTimeCode``) or
  ``UtcDateTime`` (``xs:dateTime``). Timecodes are local to
  ``--source-timezone`` (KGO-TV writes UTC: pass ``UTC``); a ``UtcDateTime``
  with an offset is taken as written.
* Frame rate: the timecode's ``@frameRate``, else ``--frame-rate``; ``;`` or
  ``,`` before the frames is drop-frame (29.97, 59.94).
* Length: ``SmpteDuration`` (a timecode) or ``UtcDuration`` (``xs:duration``).
* ``Type`` (or ``@eventType``): ``NonPrimary`` and ``Auxiliary`` are secondary
  events; ``ProgramHeader``, ``BreakHeader``, ``Macro``, ``Comment`` and
  ``Data`` without content are not airtime (skipped).
* ``Status``: ``Did not air``, ``Preempted`` and ``Missing Content`` never
  count (skipped); values off the schema's enumeration are kept under
  ``raw.Status`` and the item counts.
* ``AdType``: ``Commercial`` and the paid kinds are advertising, ``Promo`` a
  promo, ``PSA`` social advertising.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from efir.core.errors import InputError
from efir.readers import timecode
from efir.readers.base import LineError, Record, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from fractions import Fraction
    from pathlib import Path

    from efir.readers.base import ReadOptions

_RECORDS = {"BasicAsRun", "CompleteAsRun"}
NOT_AIRED = frozenset({"did not air", "preempted", "missing content"})
KNOWN_STATUSES = frozenset(
    {
        "aired without discrepancy",
        "technical difficulty",
        "did not air",
        "aired with duration discrepancy",
        "aired with content discrepancy",
        "preempted",
        "joined in progress",
        "inserted by operator",
        "unknown",
        "missing content",
    }
)
_NOT_AIRTIME = ("programheader", "breakheader", "macro", "comment", "data")
_SECONDARY = ("nonprimary", "auxiliary")
AD_KINDS = {
    "commercial": "advertising",
    "direct response": "advertising",
    "double barter": "advertising",
    "fee spot": "advertising",
    "paid program": "teleshopping",
    "optional barter": "advertising",
    "trade/barter": "advertising",
    "promo": "promo",
    "psa": "social_advertising",
}
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


_LOCAL: dict[str, str] = {}


def _local(tag: str) -> str:
    """``{namespace}Name`` to ``Name`` (cached: a document repeats a few dozen tags)."""
    name = _LOCAL.get(tag)
    if name is None:
        name = _LOCAL[tag] = tag.rsplit("}", 1)[-1]
    return name


def _index(el: Element) -> tuple[dict[str, Element], list[str]]:
    """The first element of each local name under ``el``, and every ``Status`` text, in one pass."""
    first: dict[str, Element] = {}
    statuses: list[str] = []
    for e in el.iter():
        tag = e.tag
        name = _LOCAL.get(tag) or _local(tag)
        if name not in first:
            first[name] = e
        if name == "Status" and e.text and e.text.strip():
            statuses.append(e.text.strip())
    return first, statuses


def _find(el: Element, *names: str) -> Element | None:
    """The first descendant along local ``names`` (each at any depth below the last)."""
    current: Element | None = el
    for name in names:
        if current is None:
            return None
        current = next(
            (e for e in current.iter() if _local(e.tag) == name and e is not current), None
        )
    return current


def _text(el: Element | None) -> str | None:
    """The element's text, or the deepest text below it (``<EventId><EventId>x``)."""
    if el is None:
        return None
    for e in el.iter():
        if e.text and e.text.strip():
            return e.text.strip()
    return None


class BxfReader:
    """BXF as-run and schedule documents."""

    name = "bxf"

    def sniff(self, head: bytes) -> bool:
        """An XML document naming BXF (``BxfMessage``, ``BxfData`` or the SMPTE namespace)."""
        return head.startswith(b"<") and (
            b"BxfMessage" in head or b"BxfData" in head or b"smpte-ra.org/schemas/2021" in head
        )

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per as-run (or scheduled) event, in document order."""
        source = str(path)
        count = 0
        inside = 0  # depth of as-run records: a ScheduledEvent inside one is part of it
        try:
            for event, el in iterparse(
                str(path), events=("start", "end"), forbid_dtd=False, forbid_entities=True
            ):
                name = _LOCAL.get(el.tag) or _local(el.tag)
                if event == "start":
                    if name in _RECORDS:
                        inside += 1
                    continue
                if name in _RECORDS or (name == "ScheduledEvent" and not inside):
                    if name in _RECORDS:
                        inside -= 1
                    count += 1
                    where = f"{name} #{count}"
                    try:
                        yield self._record(el, source, count, where, options)
                    except (ValueError, InputError) as exc:
                        yield LineError(source, count, (str(exc),), "invalid_field", where)
                    el.clear()
        except DefusedXmlException as exc:
            reason = (
                f"refused: the document declares or refers to entities ({exc}); "
                "Efir never expands them"
            )
            yield LineError(source, count + 1, (reason,), "unsafe_xml", "document")
        except ParseError as exc:
            line, column = getattr(exc, "position", (0, 0))
            reason = f"not well-formed XML at line {line}, column {column}: {exc}"
            yield LineError(source, count + 1, (reason,), "malformed_xml", f"line {line}")
        if progress is not None:
            progress(path.stat().st_size)

    def _record(  # noqa: PLR0912 - one branch per BXF field read
        self, el: Element, source: str, count: int, where: str, options: ReadOptions
    ) -> Record | Skipped:
        raw: dict[str, str] = {}
        first, statuses = _index(el)
        if statuses:
            raw["Status"] = "; ".join(statuses)
        for status in statuses:
            if status.lower() in NOT_AIRED:
                return Skipped(source, count, f"status {status!r}: not airtime", where)
        kind_of = _text(first.get("Type")) or ""
        event_data = first.get("EventData")
        if not kind_of and event_data is not None:
            kind_of = event_data.get("eventType", "")
        if kind_of:
            raw["Type"] = kind_of
        content = first.get("Content")
        lowered = kind_of.lower().replace("-", "")
        if content is None and any(t in lowered for t in _NOT_AIRTIME):
            return Skipped(source, count, f"type {kind_of!r} without content: not airtime", where)
        start_el = first.get("StartDateTime")
        duration_el = first.get("Duration")
        if start_el is None:
            msg = "no StartDateTime"
            raise ValueError(msg)
        start = self._start(start_el, options, raw)
        seconds = self._duration(duration_el, options, raw) if duration_el is not None else None
        event_id = _text(first.get("AsRunEventId")) or _text(first.get("EventId"))
        house = _text(first.get("HouseNumber"))
        title = _text(first.get("Name")) if content is not None else None
        fields: dict[str, Any] = {
            "event_id": event_id or f"{start.isoformat()}#{house or count}",
            "phase": "complete",
            "start": start.isoformat(),
        }
        if seconds is not None:
            fields["duration"] = seconds
        if any(t in lowered for t in _SECONDARY):
            fields["layer"] = "secondary"
        if house:
            fields["house_id"] = raw.setdefault("HouseNumber", house)
        if title:
            fields["title"] = raw.setdefault("Name", title)
        ad = _text(first.get("AdType"))
        if ad:
            raw["AdType"] = ad
            kind = AD_KINDS.get(ad.lower())
            if kind is not None:
                fields["kind"] = kind
        spot = _text(first.get("SpotType"))
        if spot:
            raw["SpotType"] = spot
        if event_id:
            raw["EventId"] = event_id
        channel = first.get("Channel")
        if channel is not None and channel.get("shortName"):
            raw["Channel"] = channel.get("shortName", "")
        return Record(fields, raw, count, where)

    @staticmethod
    def _rate(el: Element, options: ReadOptions) -> Fraction:
        for e in el.iter():
            written = e.get("frameRate")
            if written:
                return timecode.frame_rate(written)
        if options.frame_rate is None:
            msg = "the timecode names no frame rate: pass --frame-rate"
            raise ValueError(msg)
        return options.frame_rate

    def _start(self, el: Element, options: ReadOptions, raw: dict[str, str]) -> datetime:
        smpte = _find(el, "SmpteDateTime")
        if smpte is not None:
            day = smpte.get("broadcastDate")
            code = _text(_find(smpte, "SmpteTimeCode")) or _text(smpte)
            if not day or not code:
                msg = "SmpteDateTime needs @broadcastDate and an SmpteTimeCode"
                raise ValueError(msg)
            raw["broadcastDate"], raw["StartTimeCode"] = day, code
            midnight = datetime.fromisoformat(day).replace(tzinfo=options.timezone)
            return midnight + timedelta(
                microseconds=timecode.to_us(code, self._rate(smpte, options))
            )
        utc = _text(_find(el, "UtcDateTime")) or _text(el)
        if not utc:
            msg = "StartDateTime holds neither SmpteDateTime nor UtcDateTime"
            raise ValueError(msg)
        raw["StartDateTime"] = utc
        t = datetime.fromisoformat(utc)
        return t if t.tzinfo is not None else t.replace(tzinfo=options.timezone)

    def _duration(self, el: Element, options: ReadOptions, raw: dict[str, str]) -> float:
        smpte = _find(el, "SmpteDuration")
        code = _text(_find(smpte, "SmpteTimeCode")) if smpte is not None else None
        if smpte is not None and code is None:
            code = _text(smpte)
        if code is not None and smpte is not None:
            raw["Duration"] = code
            return timecode.to_us(code, self._rate(smpte, options)) / 1e6
        text = _text(_find(el, "UtcDuration")) or _text(el)
        if not text:
            msg = "Duration holds neither SmpteDuration nor UtcDuration"
            raise ValueError(msg)
        raw["Duration"] = text
        m = _DURATION.match(text)
        if m is None:
            msg = f"{text!r} is not an xs:duration (PT30M) nor a timecode"
            raise ValueError(msg)
        return (
            int(m["d"] or 0) * 86400
            + int(m["h"] or 0) * 3600
            + int(m["m"] or 0) * 60
            + float(m["s"] or 0)
        )
