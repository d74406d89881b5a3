"""Catalogue entries fill in what an event lacks, most specific entry first."""

from __future__ import annotations

from efir.core.catalogue import Catalogue, Entry


def _doc(**fields: object) -> dict[str, object]:
    return {"channel": "qaz-tv", "event_id": "e", "phase": "complete", **fields}


def test_a_channels_entry_wins_over_a_shared_one_and_house_id_over_isrc() -> None:
    cat = Catalogue([
        Entry("house_id", "H1", None, language="ru"),
        Entry("house_id", "H1", "qaz-tv", language="kk"),
        Entry("isrc", "KZ1", None, language="en"),
    ])  # fmt: skip
    doc = _doc(house_id="H1", isrc="KZ1")
    entry, filled = cat.fill(doc)
    assert entry is not None
    assert entry.channel == "qaz-tv"
    assert (doc["language"], filled) == ("kk", ["language"])
    other = _doc(channel="qaz-radio", house_id="H1")
    cat.fill(other)
    assert other["language"] == "ru"
    by_isrc = _doc(isrc="KZ1")
    cat.fill(by_isrc)
    assert by_isrc["language"] == "en"


def test_only_what_the_event_lacks_is_filled_and_tags_are_added() -> None:
    cat = Catalogue([Entry("house_id", "H1", language="kk", origin="domestic", tags=("news",))])
    doc = _doc(house_id="H1", language="ru", origin=None, tags=["live"])
    _, filled = cat.fill(doc)
    assert doc["language"] == "ru"  # the event said it: kept
    assert doc["origin"] == "domestic"  # null: unknown, filled
    assert doc["tags"] == ["live", "news"]
    assert sorted(filled) == ["origin", "tags"]


def test_end_and_correction_versions_inherit_instead() -> None:
    cat = Catalogue([Entry("house_id", "H1", language="kk")])
    for phase in ("end", "correction", "cancel"):
        doc = _doc(phase=phase, house_id="H1")
        assert cat.fill(doc) == (None, [])
        assert "language" not in doc


def test_put_and_remove_replace_by_key_and_channel() -> None:
    cat = Catalogue()
    assert cat.put(Entry("house_id", "H1", language="kk")) is None
    old = cat.put(Entry("house_id", "H1", language="ru"))
    assert old is not None
    assert old.language == "kk"
    assert len(cat) == 1
    assert cat.remove(("house_id", "H1", None)) is not None
    assert cat.fill(_doc(house_id="H1")) == (None, [])
