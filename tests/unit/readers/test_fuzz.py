"""Every reader, any bytes: events, errors or skipped records; never a crash or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.registry import READERS

_MAPPING = {
    "delimiter": ";",
    "fields": {
        "start": {"column": "a", "format": "iso"},
        "duration": {"column": "b"},
        "title": "c",
    },
}
_NIELSEN_HEAD = b"%FORMAT\t20230101\r\n%PIVOTHOUR\t020000\r\n%COMMENT ChannelID\tOmroep\tDate\tStartTime\tDuration\tEndTime\tProgID\tProgramType\r\n"
_BXF_HEAD = b'<BxfMessage xmlns="http://smpte-ra.org/schemas/2021/2008/BXF"><BxfData><Schedule>'
_CSV_HEAD = b"a;b;c\n"

_lines = st.lists(
    st.one_of(
        st.binary(max_size=80),
        st.text(max_size=80).map(str.encode),
        st.sampled_from(
            [
                b"234\tOB\t20240617\t020000\t210\t020329\t1\tPROGRAMMA",
                b"234\tOB\t2024061x\t260000\t0\t999999\t\tBREAK",
                b"2026-12-01T10:00:00+05:00;30;Spot",
                b"2026-13-01;x;y",
                (
                    b"<AsRun><BasicAsRun><AsRunDetail><StartDateTime><UtcDateTime>x"
                    b"</UtcDateTime></StartDateTime></AsRunDetail></BasicAsRun></AsRun>"
                ),
                b"<AsRun><BasicAsRun><AsRunDetail><Status>Did not air</Status></AsRunDetail>",
                b"</Schedule></BxfData></BxfMessage>",
                b"12/1/2026-25:00:00.000|Logo|L|x|00:00:00.29|||u|",
                b"1/32/2026-10:00:00.99|Live|||99:99:99.00|||",
            ]
        ),
    ),
    max_size=40,
)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("jsonl", b""),
        ("nielsen-nl", _NIELSEN_HEAD),
        ("bxf", _BXF_HEAD),
        ("csv", _CSV_HEAD),
        ("itx", b"12/1/2026-18:00:00.00|Video Clip|H|T|00:00:10.00|||u|\n"),
    ],
)
@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_lines)
def test_no_input_stops_a_reader(
    tmp_path: Path, name: str, head: bytes, lines: list[bytes]
) -> None:
    path = tmp_path / "input"
    path.write_bytes(head + b"\n".join(lines))
    options = ReadOptions(mapping=_MAPPING if name == "csv" else None)
    for got in READERS[name].read(path, options):
        assert isinstance(got, AsRunEvent | LineError | Skipped)


def test_a_deeply_nested_xml_document_is_read_in_bounded_time_without_a_crash(
    tmp_path: Path,
) -> None:
    """The parser is iterative (expat): 100,000 levels hold no record and stop nothing."""
    path = tmp_path / "deep.xml"
    depth = 100_000
    path.write_bytes(
        _BXF_HEAD + b"<a>" * depth + b"</a>" * depth + b"</Schedule></BxfData></BxfMessage>"
    )
    assert list(READERS["bxf"].read(path, ReadOptions())) == []
    path.write_bytes(_BXF_HEAD + b"<a>" * depth)  # and cut off: one error, where it broke
    (got,) = READERS["bxf"].read(path, ReadOptions())
    assert isinstance(got, LineError)
    assert got.code == "malformed_xml"
