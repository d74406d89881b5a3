"""Hostile payloads: any bytes give an event or an EventError, never another exception."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from hypothesis import given, settings

from efir.schema.asrun import MAX_DEPTH, EventError, check_depth, nesting, parse_event
from tests.hostile import json_values, nest, payloads
from tests.unit.schema.test_asrun import GOOD, NOW


def _nested(depth: int) -> bytes:
    """GOOD with an unknown field holding arrays ``depth`` deep (the object is one more level)."""
    return nest(GOOD, depth)


@pytest.mark.parametrize("depth", [974, 1000, 20_000])
def test_deep_nesting_is_refused_before_decoding(depth: int) -> None:
    """At 974 levels the old decoder accepted the event (and restore crashed); at 1,000 it raised."""
    with pytest.raises(EventError) as refused:
        parse_event(_nested(depth), now_us=NOW)
    assert refused.value.code == "too_deep"
    assert f"{depth + 1} levels deep" in str(refused.value)


def test_nesting_up_to_the_limit_is_accepted() -> None:
    assert parse_event(_nested(MAX_DEPTH - 1), now_us=NOW).event_id == "E1"
    with pytest.raises(EventError):
        parse_event(_nested(MAX_DEPTH), now_us=NOW)


def test_nesting_ignores_brackets_inside_strings() -> None:
    payload = json.dumps({**GOOD, "title": "[" * 500 + "{" * 500, "x": '\\"[[['}).encode()
    assert nesting(payload) == 2  # the object, and GOOD's extra_vendor_field
    assert parse_event(payload, now_us=NOW).event_id == "E1"
    assert nesting("[[[") == 3  # unclosed brackets still count
    assert nesting(b'["\\"]", [1]]') == 2


def test_event_id_with_a_control_character_is_refused() -> None:
    """PostgreSQL text cannot hold U+0000: the schema refuses what the store cannot keep."""
    for bad in ("a\x00b", "\x00", "line\nbreak", "del\x7f"):
        with pytest.raises(EventError, match="event_id': must not contain control"):
            parse_event(json.dumps({**GOOD, "event_id": bad}), now_us=NOW)
    assert parse_event(json.dumps({**GOOD, "event_id": "Жаңалықтар 12:00"}), now_us=NOW)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(json_values(60))
def test_nesting_is_the_depth_of_the_json_value(value: Any) -> None:
    text = json.dumps(value)
    assert nesting(text) == _depth(value)
    assert nesting(text.encode()) == _depth(value)
    if _depth(value) > MAX_DEPTH:
        with pytest.raises(EventError):
            check_depth(text)
    else:
        check_depth(text)


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1  # type: ignore[assignment]
    return depth


@settings(max_examples=400, deadline=None)
@given(payloads(GOOD))
def test_any_bytes_give_an_event_or_an_event_error(payload: bytes) -> None:
    limit = sys.getrecursionlimit()
    reasons: list[str] = ["accepted"]
    try:
        # 100 frames above this one must be enough (the daemon's stack is deeper).
        sys.setrecursionlimit(_stack_depth() + 100)
        parse_event(payload, now_us=NOW)
    except EventError as exc:
        reasons = exc.reasons
    finally:
        sys.setrecursionlimit(limit)
    assert reasons
    assert all(isinstance(r, str) and r for r in reasons)
