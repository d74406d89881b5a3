"""`efir audit` as a user runs it: formats, exit codes, bad lines, periods."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from efir.cli import app
from efir.sim.feed import FeedSpec, generate

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()
DAY_START = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(hours=5)  # 2026-03-02 00:00 +05


def _line(**fields: object) -> str:
    base = {"schema": "efir.asrun/1", "channel": "qaz", "kind": "program", "language": "kk"}
    return json.dumps({**base, **fields})


def _day(tmp_path: Path, *, kazakh: bool = True, extra: list[str] | None = None) -> Path:
    """One local day 2026-03-02: hourly programmes, 4 idents, a signed newscast."""
    lines = []
    for hour in range(24):
        start = f"2026-03-02T{hour:02d}:00:00+05:00"
        tags = ["news", "sign_language"] if hour == 19 else []
        lines.append(
            _line(
                event_id=f"p{hour}",
                start=start,
                duration=3590,
                language="kk" if kazakh or hour % 2 else "ru",
                origin="domestic",
                tags=tags,
            )
        )
        lines.append(
            _line(
                event_id=f"i{hour}",
                start=f"2026-03-02T{hour:02d}:59:50+05:00",
                duration=10,
                kind="ident",
                language="zxx",
            )
        )
    lines.extend(extra or [])
    path = tmp_path / "day.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_compliant_day_exits_0_with_a_readable_table(tmp_path: Path) -> None:
    """A compliant day: exit 0, one table per rule, COMPLIES at the end."""
    result = runner.invoke(app, ["audit", str(_day(tmp_path)), "--channel", "qaz"])
    assert result.exit_code == 0, result.output
    assert "lang_6h" in result.output
    assert "COMPLIES" in result.output


def test_violation_exits_1_and_json_has_the_audit_schema(tmp_path: Path) -> None:
    """Half-Russian day: lang_6h violations, exit 1, efir.audit/1 with the documented fields."""
    path = _day(tmp_path, kazakh=False)
    result = runner.invoke(app, ["audit", str(path), "--format", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "efir.audit/1"
    assert doc["verdict"] == "violation"
    assert doc["channel"]["id"] == "qaz"
    six = [w for w in doc["windows"] if w["rule"] == "lang_6h"]
    assert [w["window_start"] for w in six] == [
        f"2026-03-02T{h:02d}:00:00+05:00" for h in (0, 6, 12, 18)
    ]
    for w in six:
        assert set(w) >= {
            "rule",
            "window_start",
            "window_end",
            "numerator_s",
            "base_s",
            "unknown_s",
            "gap_s",
            "share",
            "threshold",
            "verdict",
            "transitional",
        }
        assert w["threshold"] == 0.55
        assert w["verdict"] == "violation"
        assert w["share"] == pytest.approx(0.5)
    ids = next(w for w in doc["windows"] if w["rule"] == "channel_id_day")
    assert ids["count"] == 24
    assert ids["numerator_s"] is None
    mourning = next(w for w in doc["windows"] if w["rule"] == "ads_mourning_days")
    assert mourning["occurrences"] == []


def test_bad_lines_are_reported_with_line_numbers_and_do_not_stop_the_audit(tmp_path: Path) -> None:
    """Malformed lines go to stderr and the JSON errors list; good lines are audited."""
    extra = [
        "{not json",
        _line(event_id="x", start="2026-03-02T10:00:00", duration=5),
        _line(event_id="y", start="2026-03-02T10:00:00+05:00", duration=-1),
    ]
    path = _day(tmp_path, extra=extra)
    result = runner.invoke(app, ["audit", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["input"]["lines_rejected"] == 3
    assert [e["line"] for e in doc["input"]["errors"]] == [49, 50, 51]
    assert "field 'start'" in doc["input"]["errors"][1]["reasons"][0]
    assert f"{path}:49:" in result.stderr
    assert doc["input"]["events_applied"] == 48


def test_csv_has_one_row_per_window(tmp_path: Path) -> None:
    """CSV: header plus one row per rule and window."""
    result = runner.invoke(app, ["audit", str(_day(tmp_path)), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0].keys() >= {"rule", "window_start", "share", "verdict", "count", "occurrences"}
    assert sum(1 for r in rows if r["rule"] == "lang_6h") == 4
    assert sum(1 for r in rows if r["rule"] == "ads_evening_hour") == 5


def test_period_options_and_partial_windows(tmp_path: Path) -> None:
    """--from/--to cut the period: windows not inside it are partial."""
    path = _day(tmp_path)
    result = runner.invoke(
        app,
        [
            "audit",
            str(path),
            "--format",
            "json",
            "--from",
            "2026-03-02T03:00:00+05:00",
            "--to",
            "2026-03-02",
        ],
    )
    doc = json.loads(result.stdout)
    six = [w for w in doc["windows"] if w["rule"] == "lang_6h"]
    assert [w["verdict"] for w in six] == ["partial", "complies", "complies", "complies"]
    assert six[0]["base_s"] == pytest.approx(3 * 3600 - 30)  # only 03:00-06:00 counted


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "nope"], "neither a shipped pack"),
        (["--format", "xml"], "xml"),
        (["--from", "yesterday"], "neither a date"),
        (["--enable", "no_such_rule"], "unknown rule"),
        (["--input-format", "sony-lmt"], "unknown input format"),
        (["--input-format", "csv"], "needs --mapping"),
        (["--timezone", "Mars/Olympus"], "Mars/Olympus"),
    ],
)
def test_unusable_arguments_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    """Bad options give a clear message and exit 2."""
    result = runner.invoke(app, ["audit", str(_day(tmp_path)), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_unusable_input_exits_2(tmp_path: Path) -> None:
    """No usable event, or several channels without --channel, exit 2 with a reason."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{broken\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", str(empty)])
    assert result.exit_code == 2
    assert "no usable event" in result.output
    two = tmp_path / "two.jsonl"
    two.write_text(
        _line(event_id="a", start="2026-03-02T10:00:00+05:00", duration=5)
        + "\n"
        + _line(event_id="b", channel="other", start="2026-03-02T10:00:00+05:00", duration=5)
        + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["audit", str(two)])
    assert result.exit_code == 2
    assert "several channels" in result.output
    result = runner.invoke(app, ["audit", str(two), "--channel", "other", "--format", "json"])
    assert json.loads(result.stdout)["input"]["events_other_channels"] == {"qaz": 1}
    assert runner.invoke(app, ["audit", str(tmp_path / "missing.jsonl")]).exit_code == 2


def test_installed_entry_point_on_a_simulated_week(tmp_path: Path) -> None:
    """The `efir` script audits a simulated week of a TV channel end to end."""
    path = tmp_path / "week.jsonl"
    start = DAY_START
    with path.open("w", encoding="utf-8") as handle:
        for payload in generate(
            FeedSpec("qaz-tv", phases="start_end"), start, start + timedelta(days=7)
        ):
            handle.write(json.dumps(payload) + "\n")
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "efir", "audit", str(path), "--format", "json", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    # Deterministic feed: 7 six-hour intervals under 55 %, 2 days with < 4 idents, 1 evening hour.
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    week = [w for w in doc["windows"] if w["rule"] == "lang_week"]
    # The last item runs past Sunday midnight: the next week is touched, and partial.
    assert [w["window_start"][:10] for w in week] == ["2026-03-02", "2026-03-09"]
    # The seeded simulator airs about 60 % Kazakh: the week complies with 55 %.
    assert week[0]["verdict"] == "complies"
    assert week[0]["share"] == pytest.approx(0.603696)
    assert week[0]["gap_s"] == 0
    assert week[1]["verdict"] == "partial"
    assert doc["input"]["lines_rejected"] == 0


def test_enable_takes_a_rule_of_the_pack(tmp_path: Path) -> None:
    """--enable of an unverified rule: it is evaluated (it used to exit 2 for any rule id)."""
    result = runner.invoke(
        app, ["audit", str(_day(tmp_path)), "--enable", "age18_daytime", "--format", "json"]
    )
    assert result.exit_code in (0, 1), result.output
    assert "age18_daytime" in {r["id"] for r in json.loads(result.stdout)["rules"]}


def test_an_input_mostly_refused_is_not_reported_as_complying(tmp_path: Path) -> None:
    good = _line(event_id="ok", start="2026-03-02T10:00:00+05:00", duration=60)
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n" + "{broken\n" * 7)
    result = runner.invoke(app, ["audit", str(path)])
    assert result.exit_code == 2
    assert "7 of 8 lines were refused" in result.stderr
    assert "COMPLIES" in result.stdout  # the report is still there to read...
    accepted = runner.invoke(app, ["audit", str(path), "--max-refused", "0.9"])
    assert accepted.exit_code == 0  # ...and a partial audit can be asked for


def test_a_year_0001_line_is_a_line_error_and_bad_output_exits_2(tmp_path: Path) -> None:
    path = _day(
        tmp_path, extra=[_line(event_id="z", start="0001-01-01T00:00:00+05:00", duration=9)]
    )
    result = runner.invoke(app, ["audit", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.stdout)["input"]["errors"]
    assert "before 1990-01-01" in errors[0]["reasons"][0]
    missing = runner.invoke(app, ["audit", str(path), "-o", str(tmp_path / "no" / "r.json")])
    assert missing.exit_code == 2
    assert "--output: the directory" in missing.stderr
    assert "Traceback" not in missing.output


def test_csv_and_json_follow_violations_only_and_csv_writes_json_booleans(tmp_path: Path) -> None:
    path = _day(tmp_path)
    rows = list(
        csv.DictReader(
            io.StringIO(runner.invoke(app, ["audit", str(path), "--format", "csv"]).stdout)
        )
    )
    assert {r["transitional"] for r in rows} == {"false"}
    assert all(r["airtime_s"] for r in rows)
    only = runner.invoke(app, ["audit", str(path), "--format", "csv", "--violations-only"])
    kept = list(csv.DictReader(io.StringIO(only.stdout)))
    assert all(r["verdict"] == "violation" for r in kept)
    assert len(kept) == sum(1 for r in rows if r["verdict"] == "violation")
    doc = json.loads(
        runner.invoke(app, ["audit", str(path), "--format", "json", "--violations-only"]).stdout
    )
    assert all(w["verdict"] == "violation" for w in doc["windows"])


def test_standard_input_is_read_with_a_dash(tmp_path: Path) -> None:
    text = _day(tmp_path).read_text()
    piped = runner.invoke(app, ["audit", "-", "--format", "json"], input=text)
    direct = runner.invoke(app, ["audit", str(_day(tmp_path)), "--format", "json"])
    assert piped.exit_code == direct.exit_code
    assert json.loads(piped.stdout)["windows"] == json.loads(direct.stdout)["windows"]


def test_a_bad_mourning_date_names_its_option(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(_day(tmp_path)), "--mourning", "2026-13-01"])
    assert result.exit_code == 2
    assert "--mourning ('2026-13-01')" in result.stderr


def test_as_of_judges_the_period_under_the_2027_thresholds(tmp_path: Path) -> None:
    """A day at 58 % Kazakh: complies at 55 %, fails under the 60 % in force from 2027."""
    lines = [  # ten-minute items, 21 of each six-hour interval's 36 in Kazakh: 58.3 %
        _line(
            event_id=f"p{i}",
            start=f"2026-03-02T{i // 6:02d}:{i % 6 * 10:02d}:00+05:00",
            duration=600,
            language="kk" if i % 36 < 21 else "ru",
        )
        for i in range(144)
    ]
    path = tmp_path / "day.jsonl"
    path.write_text("\n".join(lines) + "\n")
    today = runner.invoke(app, ["audit", str(path), "--format", "json"])
    then = runner.invoke(app, ["audit", str(path), "--format", "json", "--as-of", "2027-01-01"])
    six = [w for w in json.loads(today.stdout)["windows"] if w["rule"] == "lang_6h"]
    six_then = [w for w in json.loads(then.stdout)["windows"] if w["rule"] == "lang_6h"]
    assert {w["threshold"] for w in six} == {0.55}
    assert {w["threshold"] for w in six_then} == {0.6}
    assert json.loads(then.stdout)["rule_pack"]["what_if"] == {
        "as_of": "2027-01-01",
        "overrides": {},
    }
    assert [w["verdict"] for w in six] == ["complies"] * 4
    assert [w["verdict"] for w in six_then] == ["violation"] * 4
    assert then.exit_code == 1
    table = runner.invoke(app, ["audit", str(path), "--as-of", "2027-01-01"])
    assert "what-if: every threshold as in force on 2027-01-01" in table.stdout
    override = runner.invoke(
        app, ["audit", str(path), "--format", "json", "--threshold", "lang_6h=0.5"]
    )
    assert {
        w["threshold"] for w in json.loads(override.stdout)["windows"] if w["rule"] == "lang_6h"
    } == {0.5}
    bad = runner.invoke(app, ["audit", str(path), "--threshold", "lang_6h=60"])
    assert bad.exit_code == 2
    assert "takes a share from 0 to 1" in bad.stderr


def test_the_table_speaks_the_language_asked_for(tmp_path: Path) -> None:
    """``--lang`` (or EFIR_LANG) words the table and the verdict; ids and figures stay."""
    path = _day(tmp_path, kazakh=False)
    ru = runner.invoke(app, ["audit", str(path), "--lang", "ru"], env={"COLUMNS": "200"})
    assert ru.exit_code == 1, ru.output
    assert "НАРУШЕНИЕ" in ru.output
    assert "Доля казахского языка в каждом шестичасовом интервале" in ru.output
    assert "lang_6h" in ru.output
    kk = runner.invoke(
        app, ["audit", str(_day(tmp_path))], env={"EFIR_LANG": "kk", "COLUMNS": "200"}
    )
    assert kk.exit_code == 0, kk.output
    assert "СӘЙКЕС" in kk.output
    assert "COMPLIES" not in kk.output


def test_a_catalogue_classifies_what_the_log_does_not_say(tmp_path: Path) -> None:
    """Half the day has no language but a house number: a violation, until catalogued."""
    lines = []
    for hour in range(24):
        fields: dict[str, object] = {"language": "kk"} if hour % 2 else {"language": None}
        lines.append(
            _line(event_id=f"p{hour}", start=f"2026-03-02T{hour:02d}:00:00+05:00", duration=3600,
                  origin="domestic", house_id=f"SER-{hour % 2}", **fields)
        )  # fmt: skip
    day = tmp_path / "day.jsonl"
    day.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = runner.invoke(app, ["audit", str(day), "--format", "json", "--single-process"])
    assert before.exit_code == 1, before.output
    catalogue = tmp_path / "house.csv"
    catalogue.write_text("house_id;language\nSER-0;kk\nSER-9;kz\n", encoding="utf-8")
    after = runner.invoke(
        app, ["audit", str(day), "--format", "json", "--catalogue", str(catalogue)]
    )
    assert "catalogue row refused" in after.stderr  # kz: the country code, said and skipped
    doc = json.loads(after.stdout)
    lang = [w for w in doc["windows"] if w["rule"] == "lang_6h"]
    assert {w["verdict"] for w in lang} == {"complies"}
    assert {w["unknown_s"] for w in lang} == {0}
