"""A seeded generator of realistic as-run feeds for a TV or radio channel.

TV: programme segments separated by ad breaks (spots, a promo), idents at the
top of the hour, a signed news bulletin at 19:00, a Kazakh/Russian mix.
Radio: music tracks (Kazakhstani or foreign), ad breaks, station idents.
``scenario="risky"`` drifts the Kazakh share down through each six-hour
interval, so the ``lang_6h`` status walks from ``on_track`` to ``unavoidable``.

Output is ``efir.asrun/1`` payload dicts in air order; with ``phases="start_end"``
each item becomes a ``start`` and an ``end`` message (what a live adapter sends).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterator

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """What to simulate.

    Attributes:
        channel: channel id.
        media: ``tv`` or ``radio``.
        kazakh_share: probability that a programme/track is in Kazakh.
        scenario: ``normal`` or ``risky``.
        phases: ``complete`` (one message per item) or ``start_end``.
        seed: random seed (same seed, same feed).
        segment_s: range of programme segment / track lengths, seconds (TV).
        spots: range of spots per ad break.
    """

    channel: str
    media: Literal["tv", "radio"] = "tv"
    kazakh_share: float = 0.62
    scenario: Literal["normal", "risky"] = "normal"
    phases: Literal["complete", "start_end"] = "complete"
    seed: int = 1
    segment_s: tuple[int, int] = (240, 900)
    spots: tuple[int, int] = (3, 6)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Builder:
    def __init__(self, spec: FeedSpec, start: datetime) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)  # noqa: S311 - simulation, not security
        self.t = start.astimezone(UTC)
        self.n = 0

    def kazakh_probability(self) -> float:
        if self.spec.scenario != "risky":
            return self.spec.kazakh_share
        # Within each six-hour interval (UTC+5), start well and drift down.
        local_hour = (self.t + timedelta(hours=5)).hour % 6
        return max(0.05, self.spec.kazakh_share - 0.12 * local_hour)

    def item(self, kind: str, seconds: float, **fields: Any) -> Iterator[Payload]:
        self.n += 1
        event_id = f"{self.spec.channel}-{self.n:08d}"
        base: Payload = {
            "schema": "efir.asrun/1",
            "channel": self.spec.channel,
            "event_id": event_id,
            "kind": kind,
            **fields,
        }
        start = self.t
        self.t = start + timedelta(seconds=seconds)
        if self.spec.phases == "complete":
            yield {**base, "phase": "complete", "start": _iso(start), "duration": seconds}
        else:
            yield {**base, "phase": "start", "start": _iso(start), "duration": seconds}
            yield {
                "schema": "efir.asrun/1",
                "channel": self.spec.channel,
                "event_id": event_id,
                "phase": "end",
                "start": _iso(start),
                "duration": seconds,
            }

    def language(self) -> str:
        return "kk" if self.rng.random() < self.kazakh_probability() else "ru"

    def ad_break(self) -> Iterator[Payload]:
        rng = self.rng
        for _ in range(rng.randint(*self.spec.spots)):
            kind = "social_advertising" if rng.random() < 0.06 else "advertising"
            seconds = float(rng.choice((10, 15, 20, 20, 30, 30, 45)))
            language = self.language()
            # Ads are in Kazakh, or bilingual with Kazakh in them (Advertising
            # Law art. 6(2)): a Russian spot carries a Kazakh part.
            bilingual = {"kk_fraction": 0.5} if language != "kk" else {}
            yield from self.item(
                kind,
                seconds,
                language=language,
                **bilingual,
                title=f"Spot {rng.randint(1, 400)}",
                house_id=f"AD{rng.randint(1, 400):04d}",
            )
        if rng.random() < 0.5:
            yield from self.item("promo", 20.0, language=self.language(), origin="domestic")


def generate(spec: FeedSpec, start: datetime, end: datetime) -> Iterator[Payload]:
    """Yield payloads for items starting in ``[start, end)`` (air order)."""
    b = _Builder(spec, start)
    end = end.astimezone(UTC)
    rng = b.rng
    news_day = None
    while b.t < end:
        local = b.t + timedelta(hours=5)
        if (local.minute == 0 and local.second < 30) or rng.random() < 0.04:
            yield from b.item("ident", 10.0, language="zxx", origin="domestic", title="Ident")
        if spec.media == "tv":
            if local.hour == 19 and news_day != local.date():
                news_day = local.date()
                yield from b.item(
                    "program",
                    float(rng.randint(900, 1500)),
                    language="kk",
                    origin="domestic",
                    tags=["news", "sign_language"],
                    title="Kazakh news (signed)",
                )
            else:
                lang = b.language()
                yield from b.item(
                    "program",
                    float(rng.randint(*spec.segment_s)),
                    language=lang,
                    origin="domestic" if lang == "kk" or rng.random() < 0.4 else "foreign",
                    title=f"Programme {rng.randint(1, 80)}",
                    house_id=f"PR{rng.randint(1, 80):04d}",
                )
            yield from b.ad_break()
        else:
            for _ in range(rng.randint(3, 5)):
                lang = b.language()
                yield from b.item(
                    "music",
                    float(rng.randint(150, 270)),
                    language=lang,
                    origin="domestic" if lang == "kk" or rng.random() < 0.3 else "foreign",
                    title=f"Track {rng.randint(1, 900)}",
                    artist=f"Artist {rng.randint(1, 200)}",
                )
            yield from b.ad_break()
