"""Every reader, any bytes: events, errors or skipped records; never a crash or a hang."""

from __future__ import annotations

import json
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
_MARINA_HEAD = (
    b"Log Output - Marina Text AsRun v1.0\nFrom: 01/12/26 06:00:00 to 02/12/26 06:00:00\n\n"
    b" TYPE START TIME             END TIME               MEDIA ID EVENT         TITLE\n"
    b" ---- ---------------------- ---------------------- -------- ------------- -----\n"
)
_MEDIALIVE_HEAD = (
    b'{"@message": {"as_run_type": "input_switch_initiated", "timestamp": "2026-12-01T10:00:00"}}\n'
)

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
                b" P    01/12/2026 10:00:00;00 01/12/2026 10:00:10;00 M1   Switch Event  T",
                b" P    31/12/2026 99:00:00;02 xx/12/2026 10:00:10;00 M1   Media Event   T",
                b'"V:\\Commercial\\1.mpg";0.00000;30.00000;;Spot',
                b'"a.mpg";1e308;nan;;x',
                b"#EVENT WAITTO 61195.00000",
                b"#EVENT WAITTO -1",
                b"#MISSING",
                b'{"as_run_type": "input_switch_initiated", "timestamp": "2026-12-01T10:00:00"}',
                b'{"@message": "{\\"as_run_type\\": 1}"}',
                b'{"in": 0, "out": 1e400, "source": 5}, {"in": -1}],',
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
        ("marina", _MARINA_HEAD),
        ("medialive", _MEDIALIVE_HEAD),
        ("playbox", b"#FILENAME V:\\2026_12_01_00_00_00.ply\r\n#PLAYLISTTC 00:00:00:00\r\n"),
        ("ffplayout", b'{"date": "2026-12-01", "program": [{"in": 0, "out": 10, "source": "a"},'),
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


@pytest.mark.parametrize("name", ["medialive", "ffplayout"])
def test_deep_and_large_json_is_refused_plainly(tmp_path: Path, name: str) -> None:
    path = tmp_path / "input.json"
    deep = b"[" * 200_000 + b"]" * 200_000
    path.write_bytes(b'{"as_run_type": 1, "program": ' + deep + b', "date": "2026-12-01"}')
    got = list(READERS[name].read(path, ReadOptions()))
    assert got
    assert all(isinstance(g, LineError | Skipped) for g in got)
    message = json.dumps({"as_run_type": "input_switch_initiated", "action_name": "x" * 5_000_000})
    path.write_text(json.dumps([{"@message": message, "@timestamp": "2026-12-01 10:00:00.000"}]))
    assert all(
        isinstance(g, LineError | Skipped) for g in READERS["medialive"].read(path, ReadOptions())
    )


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
