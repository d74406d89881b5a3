"""``efir adapter tail``: new and growing files in a folder, in any reader format, to the broker.

Every file of the folder whose name matches ``pattern`` is read with the
reader of ``input_format`` (the same readers as ``efir audit``) when it
appears and each time it changes; the events not yet published are
published, in file order. What has been published is known by content
(:mod:`efir.adapters.ledger`), so a file that grows, is truncated and
rewritten, rotated (renamed and replaced) or rewritten as a whole document
(XML playlists) yields each event once, and a restart resumes where the
last acknowledged event left off.

A file that changed less than ``settle_s`` ago is read up to its last line
break (a line being written is not read half), and its refused records are
not reported yet: they may be a document still being written. Once the file
has been quiet for ``settle_s`` it is read whole, and each record still
refused is reported once (logged with its file and line, and counted).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import json
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from watchfiles import Change, awatch

from efir.adapters.ledger import Ledger, key
from efir.adapters.link import Link, connected
from efir.readers.base import LineError, Skipped
from efir.readers.convert import payloads
from efir.readers.registry import FormatError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.config.settings import MqttTarget
    from efir.readers.base import ReadOptions

log = logging.getLogger(__name__)
# watchfiles logs every batch of changes at INFO: the adapter says what it published.
logging.getLogger("watchfiles").setLevel(logging.WARNING)

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
#: How often the watcher wakes without a change, to read files that have settled (ms).
_WAKE_MS = 500


@dataclass(frozen=True, slots=True)
class TailOptions:
    """What to watch and how to read it."""

    directory: Path
    channel: str
    input_format: str | None
    read: ReadOptions
    tz: ZoneInfo
    pattern: str = "*"
    settle_s: float = 2.0
    #: Poll the folder instead of the OS's notifications (network shares).
    force_polling: bool = False


@dataclass(slots=True)
class TailStats:
    """What the adapter did since it started."""

    files_read: int = 0
    published: int = 0
    already_sent: int = 0
    skipped: int = 0
    refused: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Read:
    """One reading of a file; ``resume``: where the next reading of a JSON-lines file starts."""

    events: list[bytes]
    errors: list[LineError]
    skipped: int
    settling: bool
    resume: tuple[int, int, int, bytes] | None = None


def _line_of(payload: dict[str, object]) -> int:
    """The line a payload was read from, when its reader recorded it (else 0)."""
    raw = payload.get("raw")
    line = raw.get("line") if isinstance(raw, dict) else None
    return line if isinstance(line, int) else 0


class Tailer:
    """Reads the folder's files and publishes what is new through a :class:`Link`."""

    def __init__(self, options: TailOptions, ledger: Ledger) -> None:
        """Watch ``options.directory``; ``ledger`` says what was published before."""
        self.options = options
        self.ledger = ledger
        self.stats = TailStats()
        #: Files read while settling: read again once quiet (path -> when).
        self._again: dict[Path, float] = {}
        #: JSON-lines files: (inode, bytes, lines, SHA-256 of those bytes) read and
        #: published; the next reading parses only what was appended (a growing log
        #: costs its new lines), unless the file was replaced or rewritten.
        self._offsets: dict[Path, tuple[int, int, int, bytes]] = {}

    def _linewise(self, path: Path) -> bool:
        """Whether ``path`` is read line by line (Efir's own JSON lines)."""
        fmt = self.options.input_format
        return fmt == "jsonl" or (fmt is None and path.suffix in {".jsonl", ".ndjson"})

    def wanted(self, path: Path) -> bool:
        """A regular file of the folder, matching the pattern, not hidden nor the ledger."""
        name = path.name
        if name.startswith(".") or path == self.ledger.path or name.endswith(("-wal", "-shm")):
            return False
        return fnmatch.fnmatch(name, self.options.pattern) and path.is_file()

    def _read(self, path: Path) -> _Read:
        """Read a snapshot of ``path`` (blocking: run in a thread)."""
        o = self.options
        st = path.stat()
        start, lines_before, resume = 0, 0, None
        linewise = self._linewise(path)
        with path.open("rb") as handle:
            whole = handle.read()
        data = whole
        if linewise:
            ino, offset, lines, digest = self._offsets.get(path, (st.st_ino, 0, 0, b""))
            # The same file, grown: what was read is still its beginning (hashing is far
            # cheaper than parsing again; a rewrite of the same length is caught too).
            same = ino == st.st_ino and 0 < offset <= len(whole)
            if same and hashlib.sha256(whole[:offset]).digest() == digest:
                start, lines_before = offset, lines
                data = whole[offset:]
        settling = time.time() - st.st_mtime < o.settle_s
        if settling and not data.endswith(b"\n"):
            data = data[: data.rfind(b"\n") + 1]  # a line being written is read when done
        if linewise:
            end = start + len(data)
            digest = hashlib.sha256(whole[:end]).digest()
            resume = (st.st_ino, end, lines_before + data.count(b"\n"), digest)
        events: list[bytes] = []
        errors: list[LineError] = []
        skipped = 0
        # The snapshot keeps the file's name: some formats take the day from it.
        with tempfile.TemporaryDirectory(prefix="efir-tail-") as tmp:
            copy = Path(tmp) / path.name
            copy.write_bytes(data)
            if data.strip():
                try:
                    read = list(payloads(copy, o.input_format, o.read, o.tz))
                except FormatError as exc:
                    raise FormatError(str(exc).replace(str(copy), str(path))) from None
                for got in read:
                    if isinstance(got, LineError):
                        line = got.line + lines_before
                        errors.append(
                            LineError(str(path), line, got.reasons, got.code, got.element)
                        )
                    elif isinstance(got, Skipped):
                        skipped += 1
                    elif got.get("channel", o.channel) != o.channel:
                        # Published under this channel's topic, it would count for it.
                        reason = (
                            f"event of channel {got.get('channel')!r}: this adapter "
                            f"publishes {o.channel!r}"
                        )
                        where = _line_of(got)
                        errors.append(LineError(str(path), where, (reason,), "other_channel"))
                    else:
                        got["channel"] = o.channel
                        events.append(_ENCODE(got).encode())
        return _Read(events, errors, skipped, settling, resume)

    async def take(self, path: Path, link: Link) -> int:
        """Read ``path`` and publish its new events; return how many were published."""
        try:
            got = await asyncio.to_thread(self._read, path)
        except FileNotFoundError:
            return 0  # gone meanwhile (rotated away): its successor is read as it comes
        except (OSError, FormatError) as exc:
            # A file of another format in the folder, or one that cannot be read: said
            # once per file and reason; the folder's other files go on.
            k = key(f"{path}\x1f{exc}".encode())
            if k not in self.ledger.refused:
                log.warning("cannot read %s: %s", path, exc)
                self.stats.refused += 1
                self.stats.reasons["unreadable_file"] = (
                    self.stats.reasons.get("unreadable_file", 0) + 1
                )
                self.ledger.mark_refused([k])
            return 0
        self.stats.files_read += 1
        fresh: list[bytes] = []
        keys: list[bytes] = []
        seen: set[bytes] = set()
        for payload in got.events:
            k = key(payload)
            if k in self.ledger.sent or k in seen:
                continue
            seen.add(k)
            fresh.append(payload)
            keys.append(k)
        self.stats.already_sent += len(got.events) - len(fresh)
        if fresh:
            await link.publish(fresh)
            await asyncio.to_thread(self.ledger.mark_sent, keys)
            self.stats.published += len(fresh)
            log.info("%s: %d events published", path.name, len(fresh))
        if got.resume is not None:
            self._offsets[path] = got.resume  # only once what it held is published
        if got.settling:
            self._again[path] = time.monotonic() + self.options.settle_s
        else:
            self._again.pop(path, None)
        if not got.settling or got.resume is not None:
            # A whole JSON line refused is refused for good (and is not read again).
            self._report(got)
        return len(fresh)

    def _report(self, got: _Read) -> None:
        """Each refused record of a quiet file, once."""
        self.stats.skipped += got.skipped
        new = []
        for error in got.errors:
            k = key(str(error).encode())
            if k in self.ledger.refused:
                continue
            new.append(k)
            self.stats.refused += 1
            self.stats.reasons[error.code] = self.stats.reasons.get(error.code, 0) + 1
            log.warning("refused %s", error)
        self.ledger.mark_refused(new)

    def files(self) -> list[Path]:
        """The folder's wanted files, oldest first."""
        found = [p for p in self.options.directory.iterdir() if self.wanted(p)]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    async def run(
        self, link: Link, stop: asyncio.Event | None = None, *, once: bool = False
    ) -> None:
        """Read every file, then each change until ``stop`` (``once``: read and return)."""
        for path in self.files():
            await self.take(path, link)
        if once:
            while self._again:  # files still being written: wait until they are quiet
                await asyncio.sleep(max(0.0, min(self._again.values()) - time.monotonic()))
                await self._settled(link)
            return
        async for changes in awatch(
            self.options.directory,
            stop_event=stop,
            recursive=False,
            debounce=200,
            rust_timeout=_WAKE_MS,
            yield_on_timeout=True,
            force_polling=self.options.force_polling,
        ):
            changed = sorted(
                {Path(p) for kind, p in changes if kind is not Change.deleted},
                key=lambda p: p.name,
            )
            for path in changed:
                if self.wanted(path):
                    await self.take(path, link)
            await self._settled(link)

    async def _settled(self, link: Link) -> None:
        now = time.monotonic()
        for path in [p for p, due in self._again.items() if due <= now]:
            await self.take(path, link)


async def tail(
    target: MqttTarget,
    options: TailOptions,
    ledger: Ledger,
    *,
    prefix: str = "asrun",
    heartbeat_s: float = 30.0,
    stop: asyncio.Event | None = None,
    once: bool = False,
) -> TailStats:
    """Tail the folder to the broker until ``stop``, reconnecting when the broker goes away."""
    tailer = Tailer(options, ledger)
    await connected(
        target,
        prefix=prefix,
        channel=options.channel,
        adapter="tail",
        heartbeat_s=heartbeat_s,
        work=lambda link: tailer.run(link, stop, once=once),
        stop=stop,
    )
    return tailer.stats
