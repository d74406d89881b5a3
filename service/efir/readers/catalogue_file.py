"""Catalogue files: CSV or XLSX, one row per house number or ISRC, to catalogue entries.

The first row names the columns (any order, case and spacing ignored):
``house_id`` (aliases ``house number``, ``media id``, ``cart``), ``isrc``,
``kind``, ``language``, ``kk_fraction``, ``origin``, ``tags`` (separated by
``,`` or ``;``), ``title`` and ``channel`` (empty: every channel). A row
gives a ``house_id`` or an ``isrc`` (or both: one entry each) and at least one
of kind, language, ``kk_fraction``, origin, tags. A row that cannot be used is
a :class:`~efir.readers.base.LineError` with its row number and every reason;
the other rows are read.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import TYPE_CHECKING, Any

from efir.core.catalogue import Entry
from efir.core.channel import CHANNEL_ID
from efir.core.event import Kind
from efir.readers.base import LineError
from efir.schema.languages import is_language, language_problem

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

#: The largest catalogue file read.
MAX_FILE_BYTES = 64 * 1024 * 1024
_ALIASES = {
    "house_id": "house_id", "houseid": "house_id", "house": "house_id", "house_number": "house_id",
    "media_id": "house_id", "mediaid": "house_id", "cart": "house_id", "cart_number": "house_id",
    "isrc": "isrc", "kind": "kind", "language": "language", "lang": "language",
    "kk_fraction": "kk_fraction", "kazakh_fraction": "kk_fraction", "origin": "origin",
    "tags": "tags", "title": "title", "channel": "channel",
}  # fmt: skip
_KINDS = {k.value for k in Kind}
_ORIGINS = {"domestic", "foreign"}
_CONTROL = re.compile(r"[\x00-\x1f]")


class CatalogueFileError(ValueError):
    """A file that is not a catalogue at all (no header, not CSV nor XLSX)."""


def _column(name: object) -> str:
    return re.sub(r"[\s-]+", "_", str(name or "").strip().lower())


def rows_of(data: bytes, name: str) -> Iterator[tuple[int, list[object]]]:
    """``(row number, cells)`` of a CSV or XLSX file (XLSX: the first sheet).

    Raises:
        CatalogueFileError: too large, or neither CSV text nor an XLSX workbook.
    """
    if len(data) > MAX_FILE_BYTES:
        msg = f"{name}: {len(data)} bytes, over {MAX_FILE_BYTES}"
        raise CatalogueFileError(msg)
    if data[:4] == b"PK\x03\x04":
        import openpyxl  # noqa: PLC0415 - only workbooks need it

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            msg = f"{name}: not a readable XLSX workbook ({type(exc).__name__})"
            raise CatalogueFileError(msg) from None
        sheet = book.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
            yield number, list(cells)
        book.close()
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        msg = f"{name}: neither UTF-8 CSV nor an XLSX workbook"
        raise CatalogueFileError(msg) from None
    head = text[:4096]
    delimiter = max(",;\t", key=head.count)
    for number, line in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        yield number, list(line)


def entries(
    rows: Iterable[tuple[int, list[object]]], name: str, *, actor: str | None, now: int
) -> Iterator[Entry | LineError]:
    """Catalogue entries from ``rows`` (the first non-empty row is the header).

    Raises:
        CatalogueFileError: no header naming a house_id or isrc column.
    """
    header: list[str] | None = None
    for number, cells in rows:
        if header is None:
            if not any(str(c or "").strip() for c in cells):
                continue
            header = [_ALIASES.get(_column(c), "") for c in cells]
            if "house_id" not in header and "isrc" not in header:
                msg = f"{name}: the first row must name a house_id or isrc column"
                raise CatalogueFileError(msg)
            continue
        row = {h: cells[i] for i, h in enumerate(header) if h and i < len(cells)}
        if not any(str(v or "").strip() for v in row.values()):
            continue
        yield from _entries(row, name, number, actor, now)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet's 40112.0 is the cart 40112
    text = str(value).strip()
    return text or None


def _entries(  # noqa: PLR0912 - one check per column, each with its reason
    row: dict[str, object], name: str, number: int, actor: str | None, now: int
) -> Iterator[Entry | LineError]:
    reasons: list[str] = []
    fields: dict[str, Any] = {}
    kind = _text(row.get("kind"))
    if kind is not None:
        kind = kind.lower()
        if kind not in _KINDS:
            reasons.append(f"kind {kind!r}: one of {', '.join(sorted(_KINDS))}")
        fields["kind"] = kind
    language = _text(row.get("language"))
    if language is not None:
        language = language.lower()
        if not is_language(language):
            reasons.append(f"language {language!r}: {language_problem(language)}")
        fields["language"] = language
    fraction = _text(row.get("kk_fraction"))
    if fraction is not None:
        try:
            value = float(fraction.replace(",", ".").rstrip("%")) / (
                100 if fraction.endswith("%") else 1
            )
        except ValueError:
            reasons.append(f"kk_fraction {fraction!r}: a number from 0 to 1 (or a percentage)")
        else:
            if not 0 <= value <= 1:
                reasons.append(f"kk_fraction {fraction!r}: from 0 to 1")
            fields["kk_fraction"] = value
    origin = _text(row.get("origin"))
    if origin is not None:
        origin = origin.lower()
        if origin not in _ORIGINS:
            reasons.append(f"origin {origin!r}: domestic or foreign")
        fields["origin"] = origin
    tags = _text(row.get("tags"))
    if tags:
        fields["tags"] = tuple(t.strip() for t in re.split(r"[,;]", tags) if t.strip())
    channel = _text(row.get("channel"))
    if channel is not None and not CHANNEL_ID.fullmatch(channel):
        reasons.append(f"channel {channel!r}: not a channel id")
    keys = [(f, v) for f in ("house_id", "isrc") if (v := _text(row.get(f))) is not None]
    texts = [k for _, k in keys] + [_text(row.get("title")) or ""] + list(fields.get("tags", ()))
    if any(_CONTROL.search(t) for t in texts):
        reasons.append("control characters (U+0000..U+001F) cannot be stored")
    if not keys:
        reasons.append("no house_id or isrc: the row says what is nothing")
    if keys and not fields:
        reasons.append("no kind, language, kk_fraction, origin or tags: the row says nothing")
    for _field, key in keys:
        if len(key) > 128:
            reasons.append(f"{_field} longer than 128 characters")
    if reasons:
        yield LineError(name, number, tuple(reasons), "bad_catalogue_row")
        return
    title = _text(row.get("title"))
    for key_field, key in keys:
        yield Entry(
            key_field=key_field, key=key, channel=channel, title=title, updated_by=actor,
            updated_us=now, **fields,
        )  # fmt: skip
