r"""Rivendell's PAD updates (PyPAD's JSON feed): the item on air of one log machine.

``rdpadd`` sends, on TCP port 34289, one JSON document per update, ended by
an empty line (``\r\n``); each holds ``padUpdate`` with the log machine,
``onairFlag``, the ``log`` name and ``now`` / ``next`` (each ``null`` or an
object with ``startDateTime``, ``lineId``, ``cartNumber``, ``length`` in
milliseconds, ``title``, ``artist``, ``isrc``, ``groupName``, ...).

Reading is tolerant, as the feed needs: the example in Rivendell's own
documentation is not valid JSON (a comma is missing between two members), so
when strict decoding fails a missing comma at a line end is put back and a
comma before a closing brace dropped; fields this reader does not use are
ignored and named (the real emitter sends fields the documentation omits),
so an operator sees what was skipped. Anything else is a :class:`PadError`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from efir.core.nowplaying import Playing
from efir.core.timebase import to_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

#: Rivendell's default PAD port.
PAD_TCP_PORT = 34289
#: The largest update read (one is about 2 KiB).
MAX_UPDATE_BYTES = 256 * 1024
_TRAILING_COMMA = re.compile(rb",(\s*[}\]])")
#: A member ending a line with the next member's name on the following line and no
#: comma between them (``"Production Log"`` then ``"programCode"`` in the example).
_MISSING_COMMA = re.compile(rb'(["\d}\]el])([ \t]*\r?\n\s*")')
#: Fields of ``now`` this reader uses (the rest is kept under ``raw``).
USED = {"startDateTime", "lineId", "cartNumber", "cutNumber", "length", "title", "artist", "isrc"}
#: Fields Rivendell documents for ``now``/``next``: others are reported once as skipped.
DOCUMENTED = USED | {
    "lineNumber", "cartType", "year", "groupName", "publisher", "composer", "album", "label",
    "client", "agency", "conductor", "userDefined", "songId", "outcue", "description", "isci",
    "externalEventId", "externalData", "externalAnncType",
}  # fmt: skip
#: Source fields kept under ``raw`` for classification rules (``raw.groupName``).
KEPT = ("groupName", "cartType", "description", "userDefined", "client", "songId")


class PadError(ValueError):
    """An update that cannot be read (one sentence)."""


def decode(message: bytes) -> dict[str, Any]:
    """One update's JSON, tolerating the commas before a closing brace.

    Raises:
        PadError: not JSON even then, or not an update.
    """
    if len(message) > MAX_UPDATE_BYTES:
        msg = f"an update of {len(message)} bytes, over {MAX_UPDATE_BYTES}"
        raise PadError(msg)
    try:
        doc = json.loads(message)
    except (ValueError, RecursionError):
        try:  # as in Rivendell's documented example: a comma missing, or one too many
            mended = _MISSING_COMMA.sub(rb"\1,\2", _TRAILING_COMMA.sub(rb"\1", message))
            doc = json.loads(mended)
        except (ValueError, RecursionError) as exc:
            msg = f"not JSON ({type(exc).__name__}: {str(exc)[:80]})"
            raise PadError(msg) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("padUpdate"), dict):
        msg = "not a PAD update (no padUpdate object)"
        raise PadError(msg)
    update: dict[str, Any] = doc["padUpdate"]
    return update


def playing(
    update: dict[str, Any], tz: ZoneInfo, *, kind: str = "music"
) -> tuple[Playing | None, set[str]]:
    """The item on air of an update (``None``: nothing), and the fields of ``now`` not used.

    ``startDateTime`` without an offset is local time in ``tz``.

    Raises:
        PadError: ``now`` without a readable start.
    """
    now = update.get("now")
    if now is None:
        return None, set()
    if not isinstance(now, dict):
        msg = "padUpdate.now is neither null nor an object"
        raise PadError(msg)
    text = now.get("startDateTime")
    try:
        at = datetime.fromisoformat(str(text).strip())
    except ValueError:
        msg = f"padUpdate.now.startDateTime {str(text)[:40]!r} is not ISO 8601"
        raise PadError(msg) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    start = to_us(at)
    length = now.get("length")
    duration = None
    if isinstance(length, (int, float)) and not isinstance(length, bool) and length > 0:
        duration = length / 1000
    machine = update.get("machine", 1)
    # The log line id is stable for one play of one line; the start tells replays apart.
    line = now.get("lineId", now.get("cartNumber", ""))
    event_id = f"rd{machine}-{line}-{at.strftime('%Y%m%dT%H%M%S')}"
    fields: dict[str, Any] = {"kind": kind}
    for name in ("title", "artist", "isrc"):
        value = now.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    cart = now.get("cartNumber")
    if cart is not None:
        cut = now.get("cutNumber")
        fields["house_id"] = f"{cart}" if cut is None else f"{cart}_{cut}"
    raw = {k: now[k] for k in KEPT if now.get(k) not in (None, "")}
    if raw:
        fields["raw"] = raw
    unused = {k for k in now if k not in DOCUMENTED}
    return Playing(event_id[:128], start, duration, fields), unused
