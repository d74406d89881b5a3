"""Hostile payloads for the ingest paths: families an attacker or a broken adapter sends.

Every family is refused by the schema (a dead letter with a reason); none of
them may stop Efir or reach the counters. ``FAMILIES`` are deterministic
builders from a valid event; :func:`payloads` is the hypothesis strategy of
any bytes (up to 100 KB, nesting up to 10,000) the property tests use.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

Event = dict[str, Any]
#: (name, builder): the builder returns (topic channel, payload bytes).
Family = tuple[str, Callable[[random.Random, Event], tuple[str, bytes]]]


def _json(event: Event, **change: Any) -> bytes:
    return json.dumps({**event, **change}).encode()


def nest(event: Event, depth: int) -> bytes:
    """``event`` with an unknown field holding arrays ``depth`` deep."""
    body = json.dumps(event)[:-1]
    return f'{body}, "vendor": {"[" * depth}{"]" * depth}}}'.encode()


FAMILIES: list[Family] = [
    ("random_bytes", lambda r, _: ("qaz-tv", r.randbytes(r.randrange(1, 300)))),
    ("truncated_json", lambda r, e: ("qaz-tv", json.dumps(e)[: r.randrange(1, 40)].encode())),
    ("oversized_title", lambda _, e: ("qaz-tv", _json(e, title="x" * 70_000))),
    ("channel_mismatch", lambda _, e: ("qaz-tv", _json(e, channel="other-tv"))),
    ("unknown_channel", lambda _, e: ("unknown-ch", _json(e, channel="unknown-ch"))),
    ("deep_arrays", lambda r, _: ("qaz-tv", b"[" * (n := r.randrange(1000, 20_000)) + b"]" * n)),
    ("deep_unknown_field", lambda r, e: ("qaz-tv", nest(e, r.choice([974, 1000, 5000])))),
    ("far_future", lambda _, e: ("qaz-tv", _json(e, start="2999-01-01T00:00:00Z"))),
    ("bad_duration", lambda r, e: ("qaz-tv", _json(e, duration=r.choice([-5, 0, 1e9, "NaN"])))),
    ("invalid_utf8", lambda _, e: ("qaz-tv", _json(e)[:-1] + b', "title": "\xff\xfe"}')),
    ("script_kind", lambda _, e: ("qaz-tv", _json(e, kind="<script>alert(1)</script>"))),
    ("nul_event_id", lambda _, e: ("qaz-tv", _json(e, event_id=e["event_id"] + "\x00"))),
    ("long_topic_channel", lambda r, e: ("c" * r.randrange(65, 300), _json(e))),
    (
        "lone_surrogate",
        lambda _, e: ("qaz-tv", _json(e).replace(b'"event_id": "', b'"event_id": "\\ud800')),
    ),
    ("country_code_language", lambda _, e: ("qaz-tv", _json(e, language="kz"))),
    ("empty", lambda _, __: ("qaz-tv", b"")),
    ("array_not_object", lambda _, e: ("qaz-tv", json.dumps([e]).encode())),
    ("huge_number", lambda _, e: ("qaz-tv", _json(e)[:-1] + b', "seq": 1e400}')),
    (
        "missing_start",
        lambda _, e: (
            "qaz-tv",
            _json({k: v for k, v in e.items() if k != "start"}, phase="complete"),
        ),
    ),
    ("too_many_tags", lambda _, e: ("qaz-tv", _json(e, tags=[f"t{i}" for i in range(65)]))),
    ("long_event_id", lambda r, e: ("qaz-tv", _json(e, event_id="i" * r.randrange(129, 2000)))),
    ("nan_literal", lambda _, e: ("qaz-tv", _json(e)[:-1] + b', "kk_fraction": NaN}')),
    ("naive_start", lambda _, e: ("qaz-tv", _json(e, start="2026-11-16T10:00:00"))),
    ("wrong_schema", lambda _, e: ("qaz-tv", _json(e, schema=1))),
    ("unclosed_objects", lambda r, _: ("qaz-tv", b"{" * r.randrange(100, 60_000))),
]


def hostile(rng: random.Random, good: Event) -> tuple[str, str, bytes]:
    """One payload of a random family: (family, topic channel, payload)."""
    name, build = rng.choice(FAMILIES)
    channel, payload = build(rng, good)
    return name, channel, payload


def json_values(max_leaves: int) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=max_leaves,
    )


def payloads(good: Event) -> st.SearchStrategy[bytes]:
    """Any bytes, biased toward what reaches deep into a parser: up to 100 KB, nesting to 10,000."""
    fields = st.dictionaries(
        st.sampled_from(
            [*sorted(good), "tags", "language", "phase", "title", "seq", "kk_fraction"]
        ),
        json_values(20),
    ).map(lambda d: json.dumps({**good, **d}, allow_nan=True).encode())
    texts = st.text(max_size=200).map(
        lambda t: json.dumps({**good, "event_id": t or "x", "title": t}).encode(
            "utf-8", "surrogatepass"
        )
    )
    return st.one_of(
        st.binary(max_size=2_000),
        st.binary(min_size=60_000, max_size=100_000),
        st.integers(1, 10_000).map(lambda n: nest(good, n)),
        st.integers(1, 10_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 50_000).map(lambda n: b"{" * n),
        fields,
        texts,
        st.sampled_from(range(len(FAMILIES))).map(
            lambda i: FAMILIES[i][1](random.Random(i), good)[1]
        ),
    )


def samples(strategy: st.SearchStrategy[Any], n: int) -> list[Any]:
    """``n`` examples drawn by hypothesis's engine (for async tests that cannot be @given)."""
    from hypothesis import HealthCheck, Phase, given, settings  # noqa: PLC0415 - test-only

    out: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out
