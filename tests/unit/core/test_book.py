"""Event lifecycle: phases, precedence, re-delivery, inheritance."""

from __future__ import annotations

from efir.core.book import EventBook
from efir.core.event import AsRunEvent, Phase
from tests.helpers import at, ev

T = at(2026, 3, 2, 10, 0)


def test_start_then_end_closes_the_item() -> None:
    """A start opens an item (end None); its end closes it with the real duration."""
    book = EventBook()
    change = book.apply(ev("a", T, 1800, phase="start"))
    assert change is not None
    assert change.after is not None
    assert change.after.end is None
    assert change.after.planned_end == T + 1800 * 10**6
    change = book.apply(ev("a", T, 1700, phase="end", given=frozenset()))
    assert change is not None
    assert change.after is not None
    assert change.after.end == T + 1700 * 10**6
    assert change.after.event.kind == "program"


def test_identical_redelivery_is_a_no_op() -> None:
    """QoS 1 re-delivery of a version already seen changes nothing."""
    book = EventBook()
    event = ev("a", T, 60)
    assert book.apply(event) is not None
    assert book.apply(event) is None
    assert len(book.versions("a")) == 1


def test_end_before_start_and_late_start_changes_nothing() -> None:
    """Out of order: the end wins; a start arriving later cannot reopen the item."""
    book = EventBook()
    book.apply(ev("a", T, 600, phase="end"))
    assert book.apply(ev("a", T, None, phase="start")) is None
    item = book.item("a")
    assert item is not None
    assert item.end == T + 600 * 10**6


def test_end_without_kind_inherits_from_start_even_when_start_comes_later() -> None:
    """Fields absent from the winning version come from earlier or later lower versions."""
    book = EventBook()
    book.apply(ev("a", T, 600, phase="end", language=None, given=frozenset()))
    item = book.item("a")
    assert item is not None
    assert item.event.language is None
    change = book.apply(ev("a", T, None, phase="start", language="kk"))
    assert change is not None
    assert change.after is not None
    assert change.after.event.language == "kk"
    assert change.after.end == T + 600 * 10**6


def test_explicit_null_is_not_inherited() -> None:
    """An end that says language: null means unknown, not 'as before'."""
    book = EventBook()
    book.apply(ev("a", T, None, phase="start", language="kk"))
    book.apply(ev("a", T, 600, phase="end", language=None, given=frozenset({"language"})))
    item = book.item("a")
    assert item is not None
    assert item.event.language is None


def test_correction_replaces_and_cancel_removes() -> None:
    """A correction replaces the complete version; a cancel removes the item."""
    book = EventBook()
    book.apply(ev("a", T, 600, language="ru"))
    book.apply(ev("a", T, 500, phase="correction", language="kk"))
    item = book.item("a")
    assert item is not None
    assert (item.end, item.event.language) == (T + 500 * 10**6, "kk")
    change = book.apply(AsRunEvent(channel="c", event_id="a", phase=Phase.CANCEL))
    assert change is not None
    assert change.after is None
    assert book.item("a") is None


def test_late_complete_cannot_undo_a_cancel() -> None:
    """A complete delivered after its cancel (reordered) does not bring the item back."""
    book = EventBook()
    book.apply(AsRunEvent(channel="c", event_id="a", phase=Phase.CANCEL))
    assert book.apply(ev("a", T, 600)) is None
    assert book.item("a") is None


def test_seq_orders_versions_of_equal_rank() -> None:
    """Two corrections: the higher publisher seq wins whatever the arrival order."""
    book = EventBook()
    book.apply(ev("a", T, 300, phase="correction", seq=5))
    book.apply(ev("a", T, 200, phase="correction", seq=4))
    item = book.item("a")
    assert item is not None
    assert item.end == T + 300 * 10**6


def test_event_profile_slice_matches_profile_fields() -> None:
    """The fast profile key (a tuple slice of the event) holds exactly the profile's fields."""
    from efir.core.profile import EVENT_PROFILE_SLICE, Profile  # noqa: PLC0415

    event = ev(
        "a", T, 60, tags=frozenset({"news"}), kk_fraction=0.4, origin="domestic", ad_category="x"
    )
    assert tuple(Profile.of(event)) == event[EVENT_PROFILE_SLICE]
    assert Profile._fields == tuple(AsRunEvent._fields[EVENT_PROFILE_SLICE])
