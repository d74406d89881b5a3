"""Wire validation of efir.asrun/1: precise human errors, never a stack trace."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.event import Kind, Phase
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
        ({"language": "kaz"}, "field 'language': must be an ISO 639-1 code"),
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
