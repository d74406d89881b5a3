"""Every text in Kazakh and Russian, placeholders kept, and formats for each language."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest

from efir.audit.run import run_audit
from efir.core.channel import ChannelProfile
from efir.core.timebase import to_us
from efir.i18n import Translator, catalogue
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
        # No English word left in a translation (placeholders and the product's name aside).
        words = re.sub(r"\{\w+\}|Efir", "", ru[msgid])
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
