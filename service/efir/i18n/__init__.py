"""Texts people read, in English, Kazakh and Russian (gettext catalogues, Babel formatting).

The message ids are the English texts; ``locales/{kk,ru}/LC_MESSAGES/efir.po``
hold the translations, read with Babel when a language is first asked for
(no compiled catalogue to keep in step). Dates, numbers and percentages are
formatted for the language by Babel. A text without a translation falls back
to English, and a test fails on any message id that lacks a Kazakh or a
Russian entry. The Kazakh and Russian texts were written by the team and are
to be reviewed by a native speaker (docs/reports.md).
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING, Any

from babel.dates import format_date, format_datetime
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

from efir.core.phrases import ENGLISH

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.phrases import Phrases


class Language(StrEnum):
    """Languages Efir speaks: English (the message ids), Kazakh, Russian."""

    EN = "en"
    KK = "kk"
    RU = "ru"


LANGUAGES = tuple(Language)
#: Babel's locale of each language (Kazakhstan's Russian and Kazakh).
LOCALES = {"en": "en", "kk": "kk_KZ", "ru": "ru_RU"}


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Message id to text in ``lang`` (empty for English and unknown languages)."""
    if lang not in LANGUAGES or lang == "en":
        return {}
    path = resources.files("efir.i18n") / "locales" / lang / "LC_MESSAGES" / "efir.po"
    with path.open("rb") as handle:
        po = read_po(handle)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


class Translator:
    """One language's texts and formats (a :class:`~efir.core.phrases.Phrases` for the core)."""

    def __init__(self, lang: str = "en") -> None:
        """Speak ``lang`` (``en``, ``kk`` or ``ru``).

        Raises:
            ValueError: another language.
        """
        if lang not in LANGUAGES:
            msg = f"language {lang!r}: Efir speaks {', '.join(LANGUAGES)}"
            raise ValueError(msg)
        self.lang = lang
        self.locale = LOCALES[lang]
        self._texts = catalogue(lang)
        #: Message ids asked for that the catalogue lacks (English was used).
        self.missing: set[str] = set()

    def __call__(self, msgid: str, **values: Any) -> str:
        """The text of ``msgid`` in this language, ``{name}`` placeholders filled."""
        text = self._texts.get(msgid)
        if text is None:
            if self.lang != "en" and msgid:
                self.missing.add(msgid)
            text = msgid
        return text.format(**values) if values else text

    def when(self, us: int, tz: ZoneInfo) -> str:
        """An instant as people read it in this language (``4 января 2027, 17:12``)."""
        at = datetime.fromtimestamp(us / 1_000_000, tz)
        return format_datetime(at, "d MMMM y, HH:mm", tzinfo=tz, locale=self.locale)

    def when_text(self, text: str) -> str:
        """An RFC 3339 time (with its offset) as people read it in this language."""
        at = datetime.fromisoformat(text)
        return format_datetime(at, "d MMMM y, HH:mm", tzinfo=at.tzinfo, locale=self.locale)

    def percent(self, share: float | None, digits: int = 1) -> str:
        """A share 0..1 as a percentage (``58,3 %`` style per language)."""
        if share is None:
            return "-"
        pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
        return format_percent(share, pattern, locale=self.locale)

    def number(self, value: float) -> str:
        """A number with the language's decimal sign."""
        return format_decimal(value, locale=self.locale)

    def day(self, d: date) -> str:
        """A date written short: ISO 8601 in English, ``22.11.2026`` in Kazakh and Russian."""
        if self.lang == "en":
            return d.isoformat()
        return format_date(d, "dd.MM.y", locale=self.locale)

    def weekday(self, at: datetime) -> str:
        """The abbreviated weekday (``Fri``, ``жм``, ``пт``)."""
        return format_date(at.date(), "EEE", locale=self.locale)

    def decimal(self, value: float, digits: int = 1) -> str:
        """``value`` with ``digits`` decimals and the language's decimal sign (``57,3``)."""
        pattern = "0." + "0" * digits if digits else "0"
        return format_decimal(value, pattern, locale=self.locale)


@functools.cache
def phrasebook(lang: str) -> Phrases:
    """The shared phrasebook of ``lang``: the core's English, or a :class:`Translator`.

    Raises:
        ValueError: a language Efir does not speak.
    """
    return ENGLISH if lang == "en" else Translator(lang)
