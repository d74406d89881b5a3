"""Validation of ``efir.asrun/1`` JSON into :class:`~efir.core.event.AsRunEvent`.

Two schemas of the same wire format, with one job each:

* :class:`_Wire`, a msgspec ``Struct``, decides. msgspec decodes and checks a
  payload in one pass in C (under a microsecond for a typical event), which
  the audit of a channel-year, a restore after restart and the live ingest
  all pay once per event. Fields left out of a message decode as ``UNSET``,
  which tells the lifecycle what an ``end`` or ``correction`` inherits.
* :data:`AsRunPayload`, a pydantic ``TypedDict`` in strict mode, explains. It
  runs only on payloads msgspec refused, because msgspec stops at the first
  problem and people fixing an export want every bad field named at once.
  It is written to refuse whatever msgspec refuses (a differential
  property test holds the two together); if it ever accepts such a payload,
  msgspec's own message is reported, so a refusal always has a reason.

Cross-field rules (phase-dependent required fields, the future limit) are
checked here, and every failure becomes one precise, human sentence per bad
field, never a stack trace.
"""

from __future__ import annotations

import re
from datetime import datetime  # noqa: TC003 - msgspec and pydantic resolve annotations at runtime
from typing import Annotated, Any, Literal, NotRequired

import msgspec
from msgspec import UNSET, Meta, UnsetType
from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from efir.core.errors import InputError
from efir.core.event import INHERITABLE, AsRunEvent, Kind, Layer, Phase
from efir.core.timebase import EPOCH, ONE_US, US_PER_S
from efir.schema.languages import ISO_639_1, NO_LANGUAGE, language_problem

MAX_PAYLOAD_BYTES = 64 * 1024
#: Deepest nesting of JSON arrays and objects accepted in a payload, unknown
#: fields included (the event object itself is level 1, ``tags`` level 2).
#: Checked before decoding: every JSON parser in the path recurses per level,
#: and a payload nested a thousand deep would exhaust the interpreter's stack.
MAX_DEPTH = 32
MAX_FUTURE_US = 24 * 3600 * US_PER_S
#: Starts before 1990-01-01T00:00:00Z are refused: no as-run export goes back
#: that far, and a year-0001 start (a zeroed date field) would stretch an audit
#: over two thousand years of empty windows.
EARLIEST_START_US = 631_152_000 * US_PER_S
#: Longest accepted free-text field, in characters.
MAX_TEXT = 4096

_LANGUAGES = ISO_639_1 | {NO_LANGUAGE}
_PHASES = {p.value: p for p in Phase}
_KINDS = {k.value: k for k in Kind}
_LAYERS = {v.value: v for v in Layer}
_NO_TAGS: frozenset[str] = frozenset()

KindName = Literal[
    "program",
    "music",
    "advertising",
    "teleshopping",
    "social_advertising",
    "promo",
    "ident",
    "filler",
]
PhaseName = Literal["start", "end", "complete", "correction", "cancel"]
LayerName = Literal["primary", "secondary"]
OriginName = Literal["domestic", "foreign"]
# msgspec matches with Python's re, where "$" also matches before a trailing
# newline, hence \Z; pydantic's Rust regex has no \Z and a strict "$".
_CHANNEL_RE = r"\A[a-z0-9][a-z0-9_-]{0,63}\Z"
_LANGUAGE_RE = r"\A(?:[a-z]{2}|zxx)\Z"
# An event id is stored as text: PostgreSQL text cannot hold U+0000, and no
# control character belongs in an identifier an operator reads. Checked in
# _event (str.isprintable first, in C) rather than as a msgspec pattern, which
# runs Python's re on every event.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CHANNEL_RUST_RE = r"^[a-z0-9][a-z0-9_-]{0,63}$"
_LANGUAGE_RUST_RE = r"^(?:[a-z]{2}|zxx)$"
# The date-time shapes msgspec decodes (RFC 3339 with seconds, any fraction,
# "Z" or a +HH:MM or +HHMM offset); field values are range-checked by the parser.
_RFC3339 = re.compile(
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})\Z"
)

_Text = Annotated[str, Meta(max_length=MAX_TEXT)]


class _Wire(msgspec.Struct, frozen=True, gc=False):
    """The JSON object of DESIGN section 2, as msgspec decodes it (unknown fields ignored).

    ``UNSET`` marks an inheritable field the message left out; ``None`` one
    it sent as null (the others need no such distinction).
    ``gc=False``: instances hold only strings, numbers and lists of strings.
    """

    schema: Literal["efir.asrun/1"]
    channel: Annotated[str, Meta(pattern=_CHANNEL_RE)]
    event_id: Annotated[str, Meta(min_length=1, max_length=128)]
    phase: PhaseName = "complete"
    start: Annotated[datetime, Meta(tz=True)] | None = None
    duration: Annotated[float, Meta(gt=0, le=86400)] | None = None
    kind: KindName | UnsetType | None = UNSET
    layer: LayerName | UnsetType = UNSET
    language: Annotated[str, Meta(pattern=_LANGUAGE_RE)] | UnsetType | None = UNSET
    kk_fraction: Annotated[float, Meta(ge=0, le=1)] | UnsetType | None = UNSET
    origin: OriginName | UnsetType | None = UNSET
    retransmission: bool | UnsetType = UNSET
    tags: Annotated[list[Annotated[str, Meta(max_length=64)]], Meta(max_length=64)] | UnsetType = (
        UNSET
    )
    ad_category: _Text | UnsetType | None = UNSET
    house_id: _Text | UnsetType | None = UNSET
    title: _Text | UnsetType | None = UNSET
    artist: _Text | UnsetType | None = UNSET
    isrc: _Text | UnsetType | None = UNSET
    seq: Annotated[int, Meta(ge=0)] | None = None


_DECODE = msgspec.json.Decoder(_Wire).decode


def _rfc3339_shape(value: Any) -> Any:
    """Refuse what msgspec would not decode as a date-time (no seconds, ``+05``, numbers ...)."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        kind, text = "datetime_parsing", "not an RFC 3339 date-time"
        raise PydanticCustomError(kind, text)
    return value


class AsRunPayload(TypedDict):
    """The same object for pydantic, which names every bad field (see the module docstring)."""

    __pydantic_config__ = ConfigDict(extra="allow", str_max_length=MAX_TEXT, strict=True)  # type: ignore[misc]

    schema: Literal["efir.asrun/1"]
    channel: Annotated[str, Field(pattern=_CHANNEL_RUST_RE)]
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    phase: NotRequired[PhaseName]
    # Lax: after a before-validator pydantic sees a Python str, which strict
    # mode would refuse as a datetime; the shape check itself is strict.
    start: NotRequired[
        Annotated[AwareDatetime, Strict(strict=False), BeforeValidator(_rfc3339_shape)] | None
    ]
    duration: NotRequired[Annotated[float, Field(gt=0, le=86400)] | None]
    kind: NotRequired[KindName | None]
    layer: NotRequired[LayerName]
    language: NotRequired[Annotated[str, Field(pattern=_LANGUAGE_RUST_RE)] | None]
    kk_fraction: NotRequired[Annotated[float, Field(ge=0, le=1)] | None]
    origin: NotRequired[OriginName | None]
    retransmission: NotRequired[bool]
    tags: NotRequired[Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]]
    ad_category: NotRequired[str | None]
    house_id: NotRequired[str | None]
    title: NotRequired[str | None]
    artist: NotRequired[str | None]
    isrc: NotRequired[str | None]
    seq: NotRequired[Annotated[int, Field(ge=0)] | None]


_ADAPTER: TypeAdapter[AsRunPayload] = TypeAdapter(AsRunPayload)


class EventError(InputError):
    """An event could not be accepted. ``reasons`` holds one sentence per problem."""

    def __init__(self, reasons: list[str], code: str = "invalid") -> None:
        """Create from one or more human-readable reasons and a short machine code."""
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.code = code


def parse_event(
    raw: bytes | str,
    *,
    now_us: int,
    expect_channel: str | None = None,
) -> AsRunEvent:
    """Validate one JSON payload and return the event.

    Args:
        raw: the payload (UTF-8 JSON object).
        now_us: the present (µs UTC), for the one-day future limit.
        expect_channel: the channel the payload must name (MQTT topic, CLI filter).

    Raises:
        EventError: with a precise reason per bad field.
    """
    if len(raw) > MAX_PAYLOAD_BYTES:
        msg = f"payload is {len(raw)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"
        raise EventError([msg], "oversized")
    check_depth(raw)
    try:
        wire = _DECODE(raw)
    except msgspec.MsgspecError as exc:
        raise explain(raw, exc) from None
    except RecursionError:
        # check_depth bounds nesting far below the stack; kept so that no
        # input can ever escape as anything but an EventError.
        raise EventError(["payload is nested too deeply to decode"], "too_deep") from None
    return _event(wire, now_us, expect_channel)


#: A JSON string (escapes included) or one bracket, for the depth scan.
_TOKENS_B = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]')
_TOKENS_S = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def nesting(raw: bytes | str) -> int:
    """How deep arrays and objects nest in ``raw`` (brackets inside strings ignored).

    Malformed input is measured as far as it goes (an unclosed bracket still
    counts), so the figure bounds what any parser would recurse into.
    """
    tokens = _TOKENS_B if isinstance(raw, bytes) else _TOKENS_S
    openers = (b"[", b"{") if isinstance(raw, bytes) else ("[", "{")
    closers = (b"]", b"}") if isinstance(raw, bytes) else ("]", "}")
    depth = deepest = 0
    for found in tokens.finditer(raw):  # type: ignore[arg-type] # pattern and input types agree
        token = found.group()
        if token in openers:
            depth += 1
            deepest = max(deepest, depth)
        elif token in closers:
            depth -= 1
    return deepest


def check_depth(raw: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise :class:`EventError` (``too_deep``) when ``raw`` nests deeper than ``limit``.

    Fast path: a payload with no more brackets than ``limit`` cannot nest
    deeper, and counting them is two C scans; only the rest is tokenised.
    """
    if isinstance(raw, bytes):
        brackets = raw.count(b"[") + raw.count(b"{")
    else:
        brackets = raw.count("[") + raw.count("{")
    if brackets <= limit:
        return
    depth = nesting(raw)
    if depth > limit:
        msg = f"payload nests arrays and objects {depth} levels deep, over the limit of {limit}"
        raise EventError([msg], "too_deep")


#: ``given`` sets by which inheritable fields are absent (a few dozen combinations occur).
_GIVEN: dict[tuple[bool, ...], frozenset[str]] = {}


def _given(absent: tuple[bool, ...]) -> frozenset[str]:
    found = _GIVEN[absent] = frozenset(
        name for name, gone in zip(INHERITABLE, absent, strict=True) if not gone
    )
    return found


#: AsRunEvent from a tuple in field order, without NamedTuple's Python-level ``_make``.
_new_event = tuple.__new__


def _event(wire: _Wire, now_us: int, expect_channel: str | None) -> AsRunEvent:
    """Check cross-field rules of a decoded payload and build the core event."""
    if expect_channel is not None and wire.channel != expect_channel:
        msg = f"field 'channel': {wire.channel!r} does not match the expected {expect_channel!r}"
        raise EventError([msg], "channel_mismatch")
    # This runs once per event on every hot path (audit, restore, ingest):
    # each field is read once, an absent one (UNSET) becomes its default as
    # AsRunEvent's ``given`` invariant requires, and the time arithmetic of
    # to_us/seconds_to_us is inlined (msgspec only returns aware datetimes).
    start = wire.start
    duration = wire.duration
    kind = wire.kind
    layer = wire.layer
    language = wire.language
    kk_fraction = wire.kk_fraction
    origin = wire.origin
    retransmission = wire.retransmission
    tags = wire.tags
    ad_category = wire.ad_category
    house_id = wire.house_id
    title = wire.title
    artist = wire.artist
    isrc = wire.isrc
    event_id = wire.event_id
    if not event_id.isprintable() and _CONTROL.search(event_id):
        msg = "field 'event_id': must not contain control characters (U+0000 to U+001F, U+007F)"
        raise EventError([f"{msg} (got {_short(event_id)})"], "invalid_field")
    if language is not None and language is not UNSET and language not in _LANGUAGES:
        raise EventError([f"field 'language': {language_problem(language)}"], "invalid_field")
    start_us = None if start is None else (start - EPOCH) // ONE_US
    duration_us = None if duration is None else round(duration * US_PER_S)
    kind_value = None if kind is None or kind is UNSET else _KINDS[kind]
    if (
        start_us is None
        or duration_us is None
        or kind_value is None
        or start_us - now_us > MAX_FUTURE_US
        or start_us < EARLIEST_START_US
    ):
        _check_phase_fields(wire.phase, start_us, duration_us, kind_value, now_us, start)
    absent = (
        kind is UNSET,
        layer is UNSET,
        language is UNSET,
        kk_fraction is UNSET,
        origin is UNSET,
        retransmission is UNSET,
        tags is UNSET,
        ad_category is UNSET,
        house_id is UNSET,
        title is UNSET,
        artist is UNSET,
        isrc is UNSET,
    )
    given = _GIVEN.get(absent)
    if given is None:
        given = _given(absent)
    return _new_event(
        AsRunEvent,
        (
            wire.channel,
            event_id,
            _PHASES[wire.phase],
            start_us,
            duration_us,
            kind_value,
            Layer.PRIMARY if layer is UNSET else _LAYERS[layer],
            None if language is UNSET else language,
            None if kk_fraction is UNSET else kk_fraction,
            None if origin is UNSET else origin,
            retransmission is True,
            frozenset(tags) if tags else _NO_TAGS,
            None if ad_category is UNSET else ad_category,
            None if house_id is UNSET else house_id,
            None if title is UNSET else title,
            None if artist is UNSET else artist,
            None if isrc is UNSET else isrc,
            wire.seq,
            given,
        ),
    )


def _check_phase_fields(  # noqa: PLR0917 - private helper of _event
    phase: str,
    start_us: int | None,
    duration: int | None,
    kind: Kind | None,
    now_us: int,
    start: datetime | None,
) -> None:
    """Raise the phase-dependent problems (only called when one may exist)."""
    problems: list[str] = []
    if phase != "cancel" and start_us is None:
        problems.append(f"field 'start': required for phase '{phase}'")
    if phase in ("end", "complete", "correction") and duration is None:
        problems.append(f"field 'duration': required for phase '{phase}'")
    if phase in ("start", "complete") and kind is None:
        problems.append(f"field 'kind': required for phase '{phase}' (no catalogue supplies it)")
    if start is not None and start_us is not None and start_us - now_us > MAX_FUTURE_US:
        problems.append(f"field 'start': {start.isoformat()} is more than 1 day in the future")
    if start is not None and start_us is not None and start_us < EARLIEST_START_US:
        problems.append(f"field 'start': {start.isoformat()} is before 1990-01-01")
    if problems:
        raise EventError(problems)


def explain(raw: bytes | str, refusal: msgspec.MsgspecError) -> EventError:
    """Why ``raw`` was refused: pydantic's reason per bad field, else msgspec's own."""
    try:
        _ADAPTER.validate_json(raw)
    except ValidationError as exc:
        return EventError(describe_errors(exc), _error_code(exc))
    if not isinstance(refusal, msgspec.ValidationError):
        return EventError([f"not valid JSON: {refusal}"], "malformed_json")
    return EventError([_msgspec_reason(str(refusal))], "invalid_field")


_AT_FIELD = re.compile(r"(?s)(.*) - at `\$\.([a-z_]+)(?:\[[0-9]+\])?`\Z")


def _msgspec_reason(text: str) -> str:
    found = _AT_FIELD.match(text)
    if found is None:
        return text
    msg, field = found.groups()
    if field == "start":
        return f"field 'start': {_RFC3339_HINT}"
    return f"field '{field}': {msg[:1].lower()}{msg[1:]}"


_RFC3339_HINT = "must be an RFC 3339 date-time with an offset or Z, e.g. 2026-01-05T12:00:00+05:00"


def describe_errors(exc: ValidationError) -> list[str]:
    """Turn pydantic errors into one human sentence each."""
    out: list[str] = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        if kind == "json_invalid":
            out.append(f"not valid JSON: {err['ctx'].get('error', err['msg'])}")
            continue
        if kind in ("model_type", "dict_type", "model_attributes_type"):
            out.append("payload must be a JSON object")
            continue
        field = ".".join(str(p) for p in err["loc"]) or "payload"
        if kind == "missing":
            out.append(f"field '{field}': required")
            continue
        msg = err["msg"]
        if kind == "literal_error":
            msg = f"must be {err['ctx']['expected']}"
        elif kind == "string_pattern_mismatch" and field == "language":
            out.append(f"field 'language': {language_problem(str(err.get('input')))}")
            continue
        elif kind == "string_pattern_mismatch" and field == "channel":
            msg = "must match [a-z0-9][a-z0-9_-]{0,63}"
        elif kind in (
            "timezone_aware",
            "datetime_type",
            "datetime_parsing",
            "datetime_from_date_parsing",
        ):
            msg = _RFC3339_HINT
        out.append(f"field '{field}': {msg} (got {_short(err.get('input'))})")
    return out


def _error_code(exc: ValidationError) -> str:
    kinds = {e["type"] for e in exc.errors(include_url=False)}
    if "json_invalid" in kinds:
        return "malformed_json"
    if "missing" in kinds:
        return "missing_field"
    return "invalid_field"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
