"""Wire validation of efir.asrun/1: precise human errors, never a stack trace."""

from __future__ import annotations

import json
from datetime import datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from efir.core.event import Kind, Phase
from efir.core.timebase import to_us
from efir.schema import asrun
from efir.schema.asrun import MAX_PAYLOAD_BYTES, EventError, parse_event
from tests.helpers import at

NOW = at(2026, 3, 2, 12, 0)
GOOD = {
    "schema": "efir.asrun/1",
    "channel": "qaz-tv",
    "event_id": "E1",
    "start": "2026-03-02T10:00:00+05:00",
    "duration": 30.5,
    "kind": "advertising",
    "language": "kk",
    "extra_vendor_field": {"kept": True},
}


def parse(payload: dict) -> object:  # type: ignore[type-arg]
    return parse_event(json.dumps(payload), now_us=NOW)


def test_valid_event_becomes_core_event() -> None:
    """Times become UTC microseconds; defaults fill phase and layer; unknown fields are ignored."""
    event = parse(GOOD)
    assert event.start == at(2026, 3, 2, 10, 0)  # type: ignore[attr-defined]
    assert event.duration == 30_500_000  # type: ignore[attr-defined]
    assert event.phase is Phase.COMPLETE  # type: ignore[attr-defined]
    assert event.kind is Kind.ADVERTISING  # type: ignore[attr-defined]
    assert event.given == frozenset({"kind", "language"})  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"schema": "efir.asrun/2"}, "field 'schema': must be 'efir.asrun/1'"),
        ({"channel": "Qaz TV"}, "field 'channel': must match"),
        ({"event_id": ""}, "field 'event_id': String should have at least 1 character"),
        ({"phase": "begin"}, "field 'phase': must be"),
        (
            {"start": "2026-03-02T10:00:00"},
            "field 'start': must be an RFC 3339 date-time with an offset",
        ),
        ({"start": 1767589200}, "field 'start': must be an RFC 3339"),
        ({"duration": 0}, "field 'duration': Input should be greater than 0"),
        ({"duration": 90000}, "field 'duration': Input should be less than or equal to 86400"),
        ({"kind": "news"}, "field 'kind': must be"),
        ({"language": "kaz"}, "field 'language': 'kaz' is not an ISO 639-1 language code"),
        ({"language": "kaz"}, "send the ISO 639-1 code kk"),
        ({"language": "kz"}, "kz is Kazakhstan's country code; Kazakh is kk"),
        ({"language": "KK"}, "codes are lower case: kk"),
        ({"language": "xx"}, "'xx' is not an ISO 639-1 language code, 'zxx' or null"),
        ({"kk_fraction": 1.5}, "field 'kk_fraction': Input should be less than or equal to 1"),
        ({"layer": "overlay"}, "field 'layer': must be"),
        ({"start": "2026-03-04T10:00:00+05:00"}, "more than 1 day in the future"),
        ({"start": None}, "field 'start': required for phase 'complete'"),
        ({"duration": None}, "field 'duration': required for phase 'complete'"),
        ({"kind": None}, "field 'kind': required for phase 'complete'"),
    ],
)
def test_each_bad_field_gets_a_precise_reason(change: dict, expected: str) -> None:  # type: ignore[type-arg]
    """Every invalid field is named with what it must be and what it was."""
    with pytest.raises(EventError) as info:
        parse({**GOOD, **change})
    assert any(expected in r for r in info.value.reasons), info.value.reasons


def test_missing_fields_and_bad_json() -> None:
    """Missing required fields, broken JSON, non-objects and oversize payloads are reported."""
    with pytest.raises(EventError, match="field 'event_id': required"):
        parse({k: v for k, v in GOOD.items() if k != "event_id"})
    with pytest.raises(EventError, match="not valid JSON") as info:
        parse_event(b'{"schema": ', now_us=NOW)
    assert info.value.code == "malformed_json"
    with pytest.raises(EventError, match="JSON object"):
        parse_event(b"[1, 2]", now_us=NOW)
    with pytest.raises(EventError, match="over the") as big:
        parse_event(b" " * (MAX_PAYLOAD_BYTES + 1), now_us=NOW)
    assert big.value.code == "oversized"


def test_channel_mismatch() -> None:
    """An event for another channel than expected is refused with its own code."""
    with pytest.raises(EventError) as info:
        parse_event(json.dumps(GOOD), now_us=NOW, expect_channel="other")
    assert info.value.code == "channel_mismatch"


def test_cancel_needs_only_identity_and_end_may_omit_kind() -> None:
    """cancel carries no start; end inherits its kind from the start."""
    cancel = parse_event(
        json.dumps({"schema": "efir.asrun/1", "channel": "c", "event_id": "x", "phase": "cancel"}),
        now_us=NOW,
    )
    assert cancel.start is None
    end = parse({**GOOD, "phase": "end", "kind": None})
    assert end.kind is None  # type: ignore[attr-defined]


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_arbitrary_bytes_never_raise_anything_but_event_error(raw: bytes) -> None:
    """Hostile input yields EventError with reasons, never another exception."""
    try:
        parse_event(raw, now_us=NOW)
    except EventError as exc:
        assert exc.reasons  # noqa: PT017 - any other exception type must fail the test


@given(
    st.dictionaries(
        st.sampled_from([*list(GOOD), "phase", "tags", "seq", "origin"]),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=20)
        | st.lists(st.text(max_size=5), max_size=3),
    )
)
def test_arbitrary_objects_never_crash(payload: dict) -> None:  # type: ignore[type-arg]
    """Objects with any field types are accepted or refused with reasons."""
    try:
        parse_event(json.dumps(payload), now_us=NOW)
    except EventError as exc:
        assert exc.reasons  # noqa: PT017 - any other exception type must fail the test


# ------------------------------------------------------------ the two schemas
# msgspec (_Wire) decides; pydantic (AsRunPayload) explains refusals. These
# tests hold them together: pydantic must refuse whatever msgspec refuses (so
# every refusal is explained field by field), and where both accept they must
# read the same values.

_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)


_NEAR_MISSES = {
    "underscore": lambda t: t.replace("T", "_", 1),
    "no seconds": lambda t: t[:16] + t[19:],
    "hour 24": lambda t: t[:11] + "24" + t[13:],
    "second 60": lambda t: t[:17] + "60" + t[19:],
    "month 13": lambda t: t[:5] + "13" + t[7:],
    "30 February": lambda t: t[:5] + "02-30" + t[10:],
    "hour offset": lambda t: t[:19] + "+05",
    "offset 24:00": lambda t: t[:19] + "+24:00",
    "no offset": lambda t: t[:19],
    "space before offset": lambda t: t[:19] + " Z",
    "comma fraction": lambda t: t[:19] + ",5Z",
    "short year": lambda t: t[1:],
}


@st.composite
def _date_times(draw: st.DrawFn) -> str:
    """RFC 3339 date-times in every accepted shape, and near misses of them."""
    moment = draw(st.datetimes(datetime(1970, 1, 2), datetime(2100, 1, 1)))
    sep = draw(st.sampled_from(["T", "t", " "]))
    fraction = draw(st.sampled_from(["", ".5", ".123", f".{moment.microsecond:06d}"]))
    offset = draw(st.sampled_from(["Z", "z", "+05:00", "-00:00", "+0500", "-0330", "+23:59"]))
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + fraction + offset
    miss = draw(st.sampled_from([None, *_NEAR_MISSES]))
    if miss is not None:
        text = _NEAR_MISSES[miss](text)
    return text.replace("T", sep, 1)


_ANY = st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | _TEXT
_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "schema": st.sampled_from(["efir.asrun/1", "efir.asrun/2"]) | _ANY,
    "channel": st.sampled_from(["qaz-tv", "a", "Qaz", "a\n", "-a", "a" * 65]) | _ANY,
    "event_id": st.text(max_size=130) | _ANY,
    "phase": st.sampled_from(["start", "end", "complete", "correction", "cancel", "begin"]) | _ANY,
    "start": _date_times() | _ANY,
    "duration": st.floats(-1, 90000, allow_nan=False) | st.integers(-1, 90000) | _ANY,
    "kind": st.sampled_from(["program", "advertising", "news"]) | _ANY,
    "layer": st.sampled_from(["primary", "secondary", "overlay"]) | _ANY,
    "language": st.sampled_from(["kk", "ru", "zxx", "kaz", "KK", "kk\n"]) | _ANY,
    "kk_fraction": st.floats(-0.5, 1.5) | _ANY,
    "origin": st.sampled_from(["domestic", "foreign", "local"]) | _ANY,
    "retransmission": _ANY,
    "tags": st.lists(st.text(max_size=66), max_size=66) | _ANY,
    "ad_category": _TEXT | st.just("x" * 4097) | _ANY,
    "house_id": _ANY,
    "title": _ANY,
    "artist": _ANY,
    "isrc": _ANY,
    "seq": st.integers(-1, 2**70) | st.just(3.0) | _ANY,
    "vendor_field": _ANY,
}


@st.composite
def _payloads(draw: st.DrawFn) -> dict[str, object]:
    """A valid object with a few fields left out or replaced by near misses and odd values."""
    out: dict[str, object] = {**GOOD, "phase": draw(st.sampled_from(["start", "end", "cancel"]))}
    if draw(st.booleans()):  # the field with the most shapes gets half the examples
        out["start"] = draw(_date_times())
    for name in draw(st.lists(st.sampled_from(list(_FIELDS)), max_size=3, unique=True)):
        if draw(st.booleans()):
            out[name] = draw(_FIELDS[name])
        else:
            out.pop(name, None)
    return out


def _wire(raw: str) -> asrun._Wire | None:
    try:
        return asrun._DECODE(raw)
    except msgspec.MsgspecError:
        return None


@given(_payloads())
@settings(max_examples=1500)
def test_pydantic_refuses_what_msgspec_refuses_and_reads_the_same_values(
    payload: dict[str, object],
) -> None:
    raw = json.dumps(payload)
    wire = _wire(raw)
    try:
        data = asrun._ADAPTER.validate_json(raw)
    except ValidationError:
        data = None
    if wire is None:
        assert data is None, f"msgspec refused what pydantic accepts: {raw}"
        return
    assert data is not None, f"pydantic refused what msgspec accepts: {raw}"
    for name in asrun._Wire.__struct_fields__:
        value = getattr(wire, name)
        if value is msgspec.UNSET:
            assert name not in data
        elif name == "start" and value is not None:
            assert to_us(value) == to_us(data[name])  # type: ignore[literal-required]
        else:  # phase defaults to "complete", start, duration and seq to None
            assert value == data.get(name, "complete" if name == "phase" else None), name


def test_a_fraction_finer_than_a_microsecond_is_rounded() -> None:
    event = parse({**GOOD, "start": "2026-03-02T05:00:00.0000005Z"})
    assert event.start == at(2026, 3, 2, 10, 0) + 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"start": "2026-03-02T10:00+05:00"}, "field 'start': must be an RFC 3339"),
        ({"start": "2026-03-02T10:00:00+05"}, "field 'start': must be an RFC 3339"),
        ({"retransmission": "true"}, "field 'retransmission': Input should be a valid boolean"),
        ({"seq": 3.0}, "field 'seq': Input should be a valid integer"),
        ({"channel": "qaz-tv\n"}, "field 'channel': must match"),
    ],
)
def test_loose_json_types_and_shapes_are_refused_with_a_reason(change: dict, expected: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(EventError) as info:
        parse({**GOOD, **change})
    assert any(expected in r for r in info.value.reasons), info.value.reasons


def test_several_bad_fields_are_all_named() -> None:
    with pytest.raises(EventError) as info:
        parse({**GOOD, "language": "kaz", "duration": -1, "layer": "overlay"})
    named = {r.split("'")[1] for r in info.value.reasons}
    assert named == {"language", "duration", "layer"}


def test_a_refusal_pydantic_cannot_explain_still_has_msgspecs_reason() -> None:
    refusal = msgspec.ValidationError("Expected `bool`, got `str` - at `$.retransmission`")
    error = asrun.explain(json.dumps(GOOD), refusal)
    assert error.reasons == ["field 'retransmission': expected `bool`, got `str`"]
    assert error.code == "invalid_field"
