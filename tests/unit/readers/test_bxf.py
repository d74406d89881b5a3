"""BXF as-run and schedules, written from the specification; hostile XML refused."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from efir.core.event import AsRunEvent, Layer
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.registry import FormatError, detect_format, reader_for

ALMATY = ZoneInfo("Asia/Almaty")


def _asrun(body: str, ns: str = "http://smpte-ra.org/schemas/2021/2008/BXF") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<BxfMessage{xmlns} id="urn:uuid:1" '
        'dateTime="2026-12-01T00:00:00Z" messageType="Information" origin="x" '
        f'originType="Automation" userName="x"><BxfData action="add"><Schedule type="Primary">'
        f'<Channel shortName="QAZ"/>{body}</Schedule></BxfData></BxfMessage>'
    )


def _item(
    eid: str,
    start: str,
    duration: str,
    *,
    status: str = "Aired Without Discrepancy",
    kind: str = "Primary",
    content: str = "<Content><ContentId><HouseNumber>H1</HouseNumber></ContentId><Name>News</Name></Content>",
    rate: str | None = "29.97",
) -> str:
    fr = f' frameRate="{rate}"' if rate else ""
    return (
        f"<AsRun><BasicAsRun><AsRunEventId><EventId>{eid}</EventId></AsRunEventId>{content}"
        f"<AsRunDetail><Status>{status}</Status><Type>{kind}</Type>"
        f'<StartDateTime><SmpteDateTime broadcastDate="2026-12-01">'
        f"<SmpteTimeCode{fr}>{start}</SmpteTimeCode></SmpteDateTime></StartDateTime>"
        f"<Duration><SmpteDuration><SmpteTimeCode{fr}>{duration}</SmpteTimeCode>"
        "</SmpteDuration></Duration></AsRunDetail></BasicAsRun></AsRun>"
    )


def _read(tmp_path: Path, text: str, **options: object) -> list[object]:
    path = tmp_path / "asrun.xml"
    path.write_bytes(text.encode())
    reader = reader_for(path, None)
    assert reader.name == "bxf"
    return list(reader.read(path, ReadOptions(timezone=ALMATY, **options)))  # type: ignore[arg-type]


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


@pytest.mark.parametrize(
    "ns",
    [
        "",
        "http://smpte-ra.org/schemas/2021/2008/BXF",
        "http://smpte-ra.org/schemas/2021/2017/BXF",
        "http://smpte-ra.org/schemas/2021/2023/BXF",
    ],
)
def test_an_as_run_in_any_namespace_with_drop_frame_times(tmp_path: Path, ns: str) -> None:
    (event,) = _read(tmp_path, _asrun(_item("urn:uuid:a", "18:00:00;00", "00:30:00;00"), ns))
    assert isinstance(event, AsRunEvent)
    assert event.event_id == "urn:uuid:a"
    assert event.house_id == "H1"
    assert event.title == "News"
    # 18:00:00;00 is frame 18 x 107,892: 64.8 ms before 18:00 of the clock.
    assert event.start == at("2026-12-01T00:00:00") + round(
        18 * 107_892 * US_PER_S / Fraction(30000, 1001)
    )
    assert at("2026-12-01T18:00:00") - event.start == 64_800  # type: ignore[operator]
    assert abs(event.duration - 1800 * US_PER_S) < 2 * US_PER_S  # type: ignore[operator]


def test_statuses_types_and_ad_types(tmp_path: Path) -> None:
    ad = (
        "<Content><ContentId><HouseNumber>COM1</HouseNumber></ContentId><Name>Spot</Name>"
        "<NonProgramEvent><Details><AdType>Commercial</AdType></Details></NonProgramEvent></Content>"
    )
    body = "".join(
        [
            _item("a", "10:00:00;00", "00:00:30;00", content=ad),
            _item("b", "10:00:30;00", "00:00:10;00", status="Did not air"),
            _item("c", "10:00:40;00", "00:00:10;00", status="Preempted"),
            _item("d", "10:00:50;00", "00:00:10;00", kind="NonPrimary"),
            _item("e", "10:01:00;02", "00:00:00;00", kind="BreakHeader", content=""),
            _item("f", "10:01:00;02", "00:00:10;00", status="Aired Late (vendor value)"),
        ]
    )
    got = _read(tmp_path, _asrun(body))
    events = [g for g in got if isinstance(g, AsRunEvent)]
    skipped = [g for g in got if isinstance(g, Skipped)]
    assert [e.event_id for e in events] == ["a", "d", "f"]
    assert str(events[0].kind) == "advertising"
    assert events[1].layer is Layer.SECONDARY
    assert len(skipped) == 3
    assert {s.reason.split(":")[0] for s in skipped} == {
        "status 'Did not air'",
        "status 'Preempted'",
        "type 'BreakHeader' without content",
    }


def test_utc_times_and_xs_durations_and_a_missing_frame_rate(tmp_path: Path) -> None:
    utc = (
        "<AsRun><BasicAsRun><AsRunEventId><EventId>u</EventId></AsRunEventId>"
        "<Content><Name>X</Name></Content><AsRunDetail><Status>Aired Without Discrepancy</Status>"
        "<Type>Primary</Type><StartDateTime><UtcDateTime>2026-12-01T12:00:00Z</UtcDateTime>"
        "</StartDateTime><Duration><UtcDuration>PT1H2M3.5S</UtcDuration></Duration>"
        "</AsRunDetail></BasicAsRun></AsRun>"
    )
    no_rate = _item("n", "10:00:00:00", "00:00:10:00", rate=None)
    got = _read(tmp_path, "\ufeff" + _asrun(utc + no_rate))
    assert isinstance(got[0], AsRunEvent)
    assert got[0].start == to_us(datetime.fromisoformat("2026-12-01T12:00:00+00:00"))
    assert got[0].duration == 3723_500_000
    assert isinstance(got[1], LineError)
    assert "--frame-rate" in str(got[1])
    assert got[1].element == "BasicAsRun #2"
    fixed = _read(tmp_path, _asrun(no_rate), frame_rate=Fraction(25))
    assert isinstance(fixed[0], AsRunEvent)
    assert fixed[0].start == at("2026-12-01T10:00:00")


_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<BxfMessage xmlns="http://smpte-ra.org/schemas/2021/2008/BXF"><BxfData>&lol3;</BxfData></BxfMessage>
"""
_EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<BxfMessage xmlns="http://smpte-ra.org/schemas/2021/2008/BXF"><BxfData>&x;</BxfData></BxfMessage>
"""


@pytest.mark.parametrize("text", [_LAUGHS, _EXTERNAL], ids=["billion-laughs", "external-entity"])
def test_entities_are_refused_never_expanded(tmp_path: Path, text: str) -> None:
    got = _read(tmp_path, text)
    assert len(got) == 1
    assert isinstance(got[0], LineError)
    assert got[0].code == "unsafe_xml"
    assert "refused" in str(got[0])


def test_broken_xml_is_one_error_with_its_position(tmp_path: Path) -> None:
    got = _read(tmp_path, _asrun(_item("a", "10:00:00;00", "00:00:10;00"))[:-20])
    assert isinstance(got[-1], LineError)
    assert got[-1].code == "malformed_xml"


def test_detection_names_the_candidates_or_the_known_formats(tmp_path: Path) -> None:
    odd = tmp_path / "odd.txt"
    odd.write_text("hello\n")
    with pytest.raises(
        FormatError, match="jsonl, bxf, nielsen-nl, itx, marina, medialive, playbox, ffplayout, csv"
    ):
        detect_format(odd)
    with pytest.raises(FormatError, match="unknown input format 'sony-lmt'"):
        reader_for(odd, "sony-lmt")
