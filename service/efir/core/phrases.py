"""The language a text is written in, as the core sees it: a phrasebook.

The core builds every sentence a person reads (advice, alert texts) from a
message id in English with ``{name}`` placeholders and a few formats (a date,
a weekday, a decimal number). A :class:`Phrases` supplies them; the core's own
:data:`ENGLISH` is the message ids themselves, ISO 8601 dates and a point as
decimal sign. The Kazakh and Russian phrasebooks live outside the core
(``efir.i18n.Translator``, gettext catalogues read with Babel), so the core
stays free of files and libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import date, datetime


class Phrases(Protocol):
    """Texts and formats of one language."""

    @property
    def lang(self) -> str:
        """The language's code: ``en``, ``kk`` or ``ru``."""
        ...

    def __call__(self, msgid: str, **values: Any) -> str:
        """The text of ``msgid`` in this language, ``{name}`` placeholders filled."""
        ...

    def day(self, d: date) -> str:
        """A calendar date written short (``2026-11-22``, ``22.11.2026``)."""
        ...

    def weekday(self, at: datetime) -> str:
        """The abbreviated weekday of ``at`` (``Fri``, ``пт``, ``жм``)."""
        ...

    def decimal(self, value: float, digits: int = 1) -> str:
        """``value`` with ``digits`` decimals and the language's decimal sign."""
        ...


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class English:
    """The message ids as they are: English, ISO dates, a decimal point."""

    lang = "en"

    def __call__(self, msgid: str, **values: Any) -> str:
        """``msgid`` with its placeholders filled."""
        return msgid.format(**values) if values else msgid

    def day(self, d: date) -> str:
        """ISO 8601: ``2026-11-22``."""
        return d.isoformat()

    def weekday(self, at: datetime) -> str:
        """``Mon`` .. ``Sun``."""
        return _WEEKDAYS[at.weekday()]

    def decimal(self, value: float, digits: int = 1) -> str:
        """``57.3``."""
        return f"{value:.{digits}f}"


#: The core's default language.
ENGLISH: Phrases = English()
