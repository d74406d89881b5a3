"""Every text in Kazakh and Russian, placeholders kept, and formats for each language."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from babel.messages.extract import extract_from_dir

import efir
from efir.audit.report import COLUMNS as AUDIT_COLUMNS
from efir.audit.run import run_audit
from efir.console import COLUMNS as CONSOLE_COLUMNS
from efir.core.alerting.alert import Severity
from efir.core.channel import ChannelProfile
from efir.core.event import Kind
from efir.core.result import WindowResult
from efir.core.status import Status
from efir.core.timebase import to_us
from efir.core.wording import STATUS_WORDS, advice, percent
from efir.i18n import Translator, catalogue, phrasebook
from efir.readers.base import OFFLINE_NOW_US, ReadOptions
from efir.readers.registry import reader_for
from efir.reports import content
from efir.reports.pdf import to_pdf
from efir.rulepacks import load_pack

DATA = Path(__file__).parents[2] / "data" / "omroep-brabant"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogues_hold_every_message_with_its_placeholders() -> None:
    kk, ru = catalogue("kk"), catalogue("ru")
    assert kk.keys() == ru.keys()
    for msgid in kk:
        assert kk[msgid].strip(), msgid
        assert ru[msgid].strip(), msgid
        assert _fields(kk[msgid]) == _fields(msgid) == _fields(ru[msgid]), msgid
        # No English word left in a translation (placeholders, the product's name and
        # the protocol's terms aside).
        words = re.sub(r"\{\w+\}|Efir|MQTT|API|Last Will|Ctrl-C|POST /api/\S+", "", ru[msgid])
        assert not re.search(r"[A-Za-z]{4,}", words), (msgid, ru[msgid])


@pytest.mark.parametrize("pack", ["kz", "kz-2018"])
def test_every_rule_title_is_translated(pack: str) -> None:
    for rule in load_pack(pack).rules:
        assert rule.title in catalogue("kk"), rule.title
        assert rule.title in catalogue("ru"), rule.title


def test_a_deadline_and_a_share_in_each_language() -> None:
    at = to_us(datetime(2027, 1, 4, 17, 12, tzinfo=ZoneInfo("Asia/Almaty")))
    tz = ZoneInfo("Asia/Almaty")
    got = {lang: Translator(lang).when(at, tz) for lang in ("en", "kk", "ru")}
    assert got == {
        "en": "4 January 2027, 17:12",
        "kk": "4 қаңтар 2027, 17:12",
        "ru": "4 января 2027, 17:12",
    }
    assert Translator("en").percent(0.583) == "58.3%"
    assert (
        Translator("ru").percent(0.583) == "58,3\xa0%" or Translator("ru").percent(0.583) == "58,3%"
    )
    with pytest.raises(ValueError, match="en, kk, ru"):
        Translator("de")


@pytest.mark.parametrize(
    ("lang", "checklist"), [("kk", "Тексеру парағы"), ("ru", "Проверочный лист")]
)
def test_a_full_report_has_no_text_left_in_english(lang: str, checklist: str) -> None:
    pack = load_pack("kz").under(as_of=datetime(2027, 1, 1).date())
    options = ReadOptions(channel="ob", timezone=AMSTERDAM)
    aired = DATA / "AR20240617.tvbrab"
    result = run_audit(
        [aired], channel=ChannelProfile("ob", timezone="Europe/Amsterdam"), channel_given=True,
        pack=pack, start=None, end=None, input_format=None, now_us=OFFLINE_NOW_US,
        split=False, options=options,
    )  # fmt: skip
    plan_path = DATA / "BR20240617.tvbrab"
    plan = [
        e for e in reader_for(plan_path, None).read(plan_path, options) if hasattr(e, "event_id")
    ]
    made = content.with_plan(content.build(result), result, plan)  # type: ignore[arg-type]
    assert made.evidence  # the report has every section: windows in violation, a plan
    tr = Translator(lang)
    pdf = to_pdf(made, tr)
    assert tr.missing == set()
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    assert checklist in text


def _messages_in_the_code() -> dict[str, str]:
    """Every message id Efir asks a phrasebook for: literal ones and the word tables."""
    found: dict[str, str] = {}
    root = Path(efir.__file__).parent
    keywords = {"say": None, "t": None, "tr": None}
    for name, line, msgid, _, _ in extract_from_dir(
        str(root), method_map=[("**.py", "python")], keywords=keywords, comment_tags=()
    ):
        found.setdefault(msgid if isinstance(msgid, str) else msgid[0], f"{name}:{line}")
    tables = [
        *STATUS_WORDS.values(),
        *(k.value.replace("_", " ") for k in Kind),
        "item",
        *(s.value for s in Severity),
        *CONSOLE_COLUMNS,
        *(word for names in AUDIT_COLUMNS.values() for word in names),
    ]
    for word in tables:
        found.setdefault(word, "a word table")
    return found


def test_every_message_the_code_asks_for_has_both_translations() -> None:
    """A new sentence in advice, an alert, the terminal or a report fails here untranslated."""
    kk, ru = catalogue("kk"), catalogue("ru")
    found = _messages_in_the_code()
    assert len(found) > 150  # the extraction found the code's messages
    missing = {msgid: where for msgid, where in found.items() if msgid not in kk or msgid not in ru}
    assert missing == {}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            (
                "air 47 min more of qualifying content, starting by Fri 2027-01-08 17:12, "
                "or 12:00-18:00 on 2027-01-08 is lost"
            ),
        ),
        (
            "kk",
            (
                "талапқа сай контентті тағы 47 мин эфирге беріңіз, жм 08.01.2027 17:12 қалмай "
                "бастаңыз, әйтпесе 08.01.2027, 12:00-18:00 аралығы жоғалады"
            ),
        ),
        (
            "ru",
            (
                "выпустите в эфир ещё 47 мин соответствующего контента, начав не позднее "
                "пт 08.01.2027 17:12, иначе интервал 08.01.2027, 12:00-18:00 будет потерян"
            ),
        ),
    ],
)
def test_advice_with_a_deadline_on_another_day_in_each_language(lang: str, expected: str) -> None:
    tz = ZoneInfo("Asia/Almaty")
    w = WindowResult(
        rule="lang_6h",
        window_start=to_us(datetime(2027, 1, 8, 12, tzinfo=tz)),
        window_end=to_us(datetime(2027, 1, 8, 18, tzinfo=tz)),
        numerator_s=0.0, base_s=0.0, unknown_s=0.0, gap_s=0.0, airtime_s=0.0, share=None,
        threshold=0.6, transitional=False, verdict=None, status=Status.AT_RISK,
        needed_s=47 * 60, slack_s=0.0, deadline=to_us(datetime(2027, 1, 8, 17, 12, tzinfo=tz)),
    )  # fmt: skip
    now = to_us(datetime(2027, 1, 7, 9, tzinfo=tz))  # the day before: the date is written
    assert advice(w, tz, now, phrasebook(lang)) == expected
    assert percent(0.583, say=phrasebook(lang)) == ("58.3 %" if lang == "en" else "58,3 %")
