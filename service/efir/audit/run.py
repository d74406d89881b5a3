"""Run an audit: read files, apply events to a channel engine, evaluate the period."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from efir.audit.column_ledger import ColumnLedger
from efir.audit.columnar import Declined, load
from efir.audit.recording import InputStats, Recorder
from efir.audit.split import CAN_SPLIT, MIN_SPLIT_BYTES, plan, read_split
from efir.core.engine import ChannelEngine, Period
from efir.core.errors import InputError
from efir.core.timebase import from_us, local_wall_to_us, to_us
from efir.readers.base import ReadOptions
from efir.readers.registry import reader_for
from efir.schema.asrun import EARLIEST_START_US

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from pathlib import Path

    from efir.core.channel import ChannelProfile
    from efir.core.event import AsRunEvent
    from efir.core.profile import ProfileTable
    from efir.core.result import WindowResult
    from efir.readers.base import Reader
    from efir.rulepacks import RulePack

_HOUR = timedelta(hours=1)
log = logging.getLogger(__name__)
#: Offer single JSON-lines files to the columnar path first (tests of the split path turn it off).
COLUMNAR = True


class AuditInputError(InputError):
    """The input cannot be audited (no usable event, several channels, bad period)."""


@dataclass
class AuditResult:
    """Outcome of an audit."""

    channel: ChannelProfile
    pack: RulePack
    engine: ChannelEngine
    period: Period
    windows: list[WindowResult]
    stats: InputStats
    #: Records classified per rule and by the default (``--classify``), else ``None``.
    classification: dict[str, Any] | None = None

    @property
    def violations(self) -> int:
        """Number of windows with verdict ``violation``."""
        return sum(1 for w in self.windows if w.verdict == "violation")


#: ``--to`` at most a year ahead (plans); earlier than 1990 nothing is read either.
MAX_PERIOD_AHEAD_US = 366 * 86_400 * 1_000_000


def parse_instant(text: str, tz: ZoneInfo, *, end: bool) -> int:
    """Parse ``--from``/``--to``: RFC 3339, or a local date (``--to`` date is inclusive)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        try:
            return local_wall_to_us(datetime.combine(day + timedelta(days=int(end)), time()), tz)
        except OverflowError:
            msg = f"{text!r} is not a date Efir can read (1990-01-01 or later)"
            raise AuditInputError(msg) from None
    try:
        instant = datetime.fromisoformat(text)
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=tz)
        return to_us(instant)
    except (ValueError, OverflowError):
        msg = f"{text!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 date-time"
        raise AuditInputError(msg) from None


def run_audit(
    paths: Sequence[Path],
    *,
    channel: ChannelProfile,
    channel_given: bool,
    pack: RulePack,
    start: str | None,
    end: str | None,
    input_format: str | None,
    now_us: int,
    progress: Callable[[int], None] | None = None,
    split: bool = True,
    options: ReadOptions | None = None,
) -> AuditResult:
    """Audit ``paths`` for ``channel`` with ``pack`` over ``[start, end)``.

    Without ``channel_given`` the channel id is taken from the input, which must
    then name exactly one channel. Without ``start``/``end`` the period runs from
    the local hour the first item starts in to the end of the local hour the
    last one ends in; windows not inside the period are ``partial``. With
    ``split``, JSON-lines inputs of :data:`~efir.audit.split.MIN_SPLIT_BYTES`
    and more are read by two processes (:mod:`efir.audit.split`). ``options``
    tell readers of foreign formats what their files do not say (the source's
    zone defaults to the channel's).
    """
    if options is None:
        options = ReadOptions(timezone=ZoneInfo(channel.timezone))
    tz = ZoneInfo(channel.timezone)
    lo = parse_instant(start, tz, end=False) if start else None
    hi = parse_instant(end, tz, end=True) if end else None
    if lo is not None and hi is not None and hi <= lo:
        msg = "--to must be after --from"
        raise AuditInputError(msg)
    for name, bound in (("--from", lo), ("--to", hi)):
        if bound is not None and not EARLIEST_START_US <= bound <= now_us + MAX_PERIOD_AHEAD_US:
            msg = f"{name} must lie between 1990-01-01 and a year from now"
            raise AuditInputError(msg)
    clip = (lo if lo is not None else -(1 << 62), hi if hi is not None else 1 << 62)
    return _audit(
        paths,
        channel,
        channel_given,
        pack,
        input_format,
        progress,
        (lo, hi),
        clip,
        # One process keeps the rules' counts, and reads the lines through the catalogue.
        split and options.classify is None and options.catalogue is None,
        options,
    )


def _audit(  # noqa: PLR0917 - private continuation of run_audit
    paths: Sequence[Path],
    channel: ChannelProfile,
    channel_given: bool,
    pack: RulePack,
    input_format: str | None,
    progress: Callable[[int], None] | None,
    bounds: tuple[int | None, int | None],
    clip: tuple[int, int],
    split: bool,
    options: ReadOptions,
) -> AuditResult:
    lo, hi = bounds
    stats = InputStats(files=[str(p) for p in paths])

    def new_engine(channel_id: str) -> ChannelEngine:
        profile = channel if channel_given else _with_id(channel, channel_id)
        return ChannelEngine(profile, pack.rules, clip=clip)

    recorder = Recorder(stats, new_engine, channel.id if channel_given else None)
    engines = recorder.engines
    readers = [reader_for(path, input_format) for path in paths]
    bulk = None
    if COLUMNAR and split and len(paths) == 1 and readers[0].name == "jsonl":
        bulk = _columnar(paths[0], new_engine, channel.id if channel_given else None, stats)
    if bulk is not None:
        engines[bulk.channel.id] = bulk
        if progress is not None:
            progress(paths[0].stat().st_size)
    else:
        _read_lines(paths, readers, recorder, progress, split=split, options=options)
    if len(engines) > 1:
        names = ", ".join(sorted(engines))
        msg = f"the input holds several channels ({names}); choose one with --channel"
        raise AuditInputError(msg)
    if not engines:
        msg = "no usable event for the channel in the input"
        raise AuditInputError(msg)
    engine = next(iter(engines.values()))
    stats.lines_ok = stats.applied + stats.unchanged + sum(stats.other_channels.values())
    if not isinstance(engine.ledger, ColumnLedger):
        engine.settle()
    period = _period(engine, lo, hi)
    # Open items (a start whose end never came) air until the next item or the period end.
    windows = engine.windows(period.start, period.end, now=period.end, period=period)
    classified = None if options.classify is None else options.classify.report()
    return AuditResult(engine.channel, pack, engine, period, windows, stats, classified)


def _read_lines(
    paths: Sequence[Path],
    readers: Sequence[Reader],
    recorder: Recorder,
    progress: Callable[[int], None] | None,
    *,
    split: bool,
    options: ReadOptions,
) -> None:
    """Record every file line by line, in two processes when a large JSON-lines input allows."""
    cut = None
    if (
        split
        and CAN_SPLIT
        and all(r.name == "jsonl" for r in readers)
        and sum(p.stat().st_size for p in paths) >= MIN_SPLIT_BYTES
    ):
        cut = plan(list(paths))
    if cut is not None and cut.worker:
        read_split(cut, recorder, progress)
        return
    consumed_before = 0

    def tick(consumed: int) -> None:
        if progress is not None:
            progress(consumed_before + consumed)

    for path, reader in zip(paths, readers, strict=True):
        recorder.record(reader.read(path, options, progress=tick))
        consumed_before += path.stat().st_size
    for engine in recorder.engines.values():
        engine.resolve()


def _columnar(
    path: Path, new_engine: Callable[[str], ChannelEngine], only: str | None, stats: InputStats
) -> ChannelEngine | None:
    """The file read in bulk (:mod:`efir.audit.columnar`), or ``None`` if that path declines."""
    made: list[ChannelEngine] = []

    def make(channel_id: str) -> tuple[ColumnLedger, ProfileTable]:
        if only is not None and channel_id != only:
            msg = "another channel than the one asked for"
            raise Declined(msg)
        engine = new_engine(channel_id)
        base = engine.ledger
        ledger = ColumnLedger(
            engine.calendar,
            base.clip,
            open_grace_us=base.open_grace_us,
            open_cap_us=base.open_cap_us,
        )
        engine.ledger = engine.scanner.ledger = ledger
        made.append(engine)
        return ledger, engine.book.profiles

    try:
        _, recorded, duplicates = load(path, make)
    except Declined as why:
        log.debug("efir audit reads %s line by line: %s", path, why)
        return None
    stats.applied += recorded
    stats.unchanged += duplicates
    return made[0]


def audit_events(
    events: Iterable[AsRunEvent],
    *,
    channel: ChannelProfile,
    pack: RulePack,
    start_us: int,
    end_us: int,
    source: str,
) -> AuditResult:
    """Audit already-parsed events of ``channel`` over ``[start_us, end_us)`` (µs UTC).

    The daemon's report of a channel and period of its store: the versions
    are recorded in arrival order as ``efir audit`` records a file's lines,
    so the figures are the ones an audit of the same events gives.
    ``source`` names where they came from in the report's input.
    """
    stats = InputStats(files=[source])
    clip = (start_us, end_us)

    def new_engine(_: str) -> ChannelEngine:
        return ChannelEngine(channel, pack.rules, clip=clip)

    recorder = Recorder(stats, new_engine, channel.id)
    recorder.record(events)
    engine = recorder.engine(channel.id)  # not `or`: an engine with nothing settled is falsy
    engine.resolve()
    stats.lines_ok = stats.applied + stats.unchanged
    engine.settle()
    period = Period(start_us, end_us)
    windows = engine.windows(start_us, end_us, now=end_us, period=period)
    return AuditResult(channel, pack, engine, period, windows, stats)


def _with_id(channel: ChannelProfile, channel_id: str) -> ChannelProfile:
    return replace(channel, id=channel_id)


def _period(engine: ChannelEngine, lo: int | None, hi: int | None) -> Period:
    if lo is not None and hi is not None:
        return Period(lo, hi)
    span = engine.span()
    if span is None:
        msg = "no aired primary item in the input: nothing to audit"
        raise AuditInputError(msg)
    # Exports start and end on the hour; rounding out to whole local hours keeps
    # a few seconds of missing data from turning the edge windows partial.
    tz = engine.tz
    if lo is None:
        first = from_us(span[0], tz).replace(tzinfo=None)
        lo = local_wall_to_us(first.replace(minute=0, second=0, microsecond=0), tz)
    if hi is None:
        last = from_us(max(span[1] - 1, span[0]), tz).replace(tzinfo=None)
        hi = local_wall_to_us(last.replace(minute=0, second=0, microsecond=0) + _HOUR, tz)
    return Period(lo, hi)
