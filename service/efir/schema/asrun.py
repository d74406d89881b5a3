"""Validation of ``efir.asrun/1`` JSON into :class:`~efir.core.event.AsRunEvent`.

pydantic validates the wire format (a ``TypedDict`` schema: its keys also tell
which optional fields were present, which the lifecycle needs to inherit
absent fields). Cross-field rules (phase-dependent required fields, the
future limit) are checked here, and every failure becomes one precise,
human sentence per bad field, never a stack trace.
"""

from __future__ import annotations

from datetime import datetime  # noqa: TC003 - pydantic resolves annotations at runtime
from typing import Annotated, Any, Literal, NotRequired, cast

from pydantic import AwareDatetime, ConfigDict, Field, Strict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from efir.core.event import INHERITABLE, AsRunEvent, Kind, Layer, Phase
from efir.core.timebase import US_PER_S, seconds_to_us, to_us

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_FUTURE_US = 24 * 3600 * US_PER_S

_PHASES = {p.value: p for p in Phase}
_KINDS = {k.value: k for k in Kind}
_LAYERS = {v.value: v for v in Layer}
_INHERITABLE = frozenset(INHERITABLE)
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


class AsRunPayload(TypedDict):
    """The JSON object of DESIGN section 2 (unknown fields are allowed and ignored)."""

    __pydantic_config__ = ConfigDict(extra="allow", str_max_length=4096)  # type: ignore[misc]

    schema: Literal["efir.asrun/1"]
    channel: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    phase: NotRequired[Literal["start", "end", "complete", "correction", "cancel"]]
    start: NotRequired[Annotated[AwareDatetime, Strict()] | None]
    duration: NotRequired[Annotated[float, Field(gt=0, le=86400)] | None]
    kind: NotRequired[KindName | None]
    layer: NotRequired[Literal["primary", "secondary"]]
    language: NotRequired[Annotated[str, Field(pattern=r"^(?:[a-z]{2}|zxx)$")] | None]
    kk_fraction: NotRequired[Annotated[float, Field(ge=0, le=1)] | None]
    origin: NotRequired[Literal["domestic", "foreign"] | None]
    retransmission: NotRequired[bool]
    tags: NotRequired[Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]]
    ad_category: NotRequired[str | None]
    house_id: NotRequired[str | None]
    title: NotRequired[str | None]
    artist: NotRequired[str | None]
    isrc: NotRequired[str | None]
    seq: NotRequired[Annotated[int, Field(ge=0)] | None]


_ADAPTER: TypeAdapter[AsRunPayload] = TypeAdapter(AsRunPayload)
# The compiled validator itself: skips TypeAdapter's per-call Python wrapper.
_VALIDATE_JSON = _ADAPTER.validator.validate_json


class EventError(ValueError):
    """An event could not be accepted. ``reasons`` holds one sentence per problem."""

    def __init__(self, reasons: list[str], code: str = "invalid") -> None:
        """Create from one or more human-readable reasons and a short machine code."""
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.code = code


def _validate(raw: bytes | str) -> AsRunPayload:
    if len(raw) > MAX_PAYLOAD_BYTES:
        msg = f"payload is {len(raw)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"
        raise EventError([msg], "oversized")
    try:
        data: AsRunPayload = _VALIDATE_JSON(raw)
    except ValidationError as exc:
        raise EventError(describe_errors(exc), _error_code(exc)) from None
    return data


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
    return from_values(to_values(_validate(raw), now_us=now_us, expect_channel=expect_channel))


def parse_values(raw: bytes | str, *, now_us: int) -> EventValues:
    """Like :func:`parse_event` but return plain values (cheap to send between processes)."""
    return to_values(_validate(raw), now_us=now_us)


#: An event as plain values: the fields of AsRunEvent in order, enums as strings.
EventValues = tuple[Any, ...]


def to_event(data: AsRunPayload, *, now_us: int, expect_channel: str | None = None) -> AsRunEvent:
    """Check cross-field rules of a schema-valid payload and build the core event."""
    return from_values(to_values(data, now_us=now_us, expect_channel=expect_channel))


def from_values(values: EventValues) -> AsRunEvent:
    """Build the core event from :func:`to_values` output (enum look-ups only)."""
    kind = values[5]
    return AsRunEvent._make(
        (
            values[0],
            values[1],
            _PHASES[values[2]],
            values[3],
            values[4],
            None if kind is None else _KINDS[kind],
            _LAYERS[values[6]],
            *values[7:],
        )
    )


def to_values(data: AsRunPayload, *, now_us: int, expect_channel: str | None = None) -> EventValues:
    """Check cross-field rules of a schema-valid payload; return its values in field order."""
    get = cast("dict[str, Any]", data).get
    phase = get("phase", "complete")
    start: datetime | None = get("start")
    duration = get("duration")
    kind = get("kind")
    if expect_channel is not None and data["channel"] != expect_channel:
        msg = f"field 'channel': {data['channel']!r} does not match the expected {expect_channel!r}"
        raise EventError([msg], "channel_mismatch")
    start_us = to_us(start) if start is not None else None
    if start_us is None or duration is None or kind is None or start_us - now_us > MAX_FUTURE_US:
        _check_phase_fields(phase, start_us, duration, kind, now_us, start)
    tags = get("tags")
    # A plain tuple in AsRunEvent's field order: this runs once per event on
    # the audit's hot path, and workers send it to the main process as is.
    return (
        data["channel"],
        data["event_id"],
        phase,
        start_us,
        None if duration is None else seconds_to_us(duration),
        kind,
        get("layer", "primary"),
        get("language"),
        get("kk_fraction"),
        get("origin"),
        get("retransmission", False),
        frozenset(tags) if tags else _NO_TAGS,
        get("ad_category"),
        get("house_id"),
        get("title"),
        get("artist"),
        get("isrc"),
        get("seq"),
        _INHERITABLE.intersection(data),
    )


def _check_phase_fields(  # noqa: PLR0917 - private helper of to_values
    phase: str,
    start_us: int | None,
    duration: float | None,
    kind: str | None,
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
    if problems:
        raise EventError(problems)


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
            msg = "must be an ISO 639-1 code (two lowercase letters), 'zxx' or null"
        elif kind == "string_pattern_mismatch" and field == "channel":
            msg = "must match [a-z0-9][a-z0-9_-]{0,63}"
        elif kind in (
            "timezone_aware",
            "datetime_type",
            "datetime_parsing",
            "datetime_from_date_parsing",
        ):
            msg = (
                "must be an RFC 3339 date-time with an offset or Z, e.g. 2026-01-05T12:00:00+05:00"
            )
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
