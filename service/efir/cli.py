"""The ``efir`` command line.

Exit codes of ``efir audit`` (documented in docs/audit.md, as linters do):
0 every window complies, 1 a violation was found, 2 unusable input or arguments
(including an input of which more than ``--max-refused`` of the lines were
refused: such a report would not describe the input).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from zoneinfo import ZoneInfo

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from efir import __version__
from efir.audit.report import print_table, to_csv, to_json
from efir.audit.run import AuditResult, run_audit
from efir.audit.split import SplitError
from efir.core.channel import DEFAULT_TIMEZONE, ChannelProfile
from efir.core.errors import EfirError, InputError
from efir.core.rules import Media
from efir.core.timebase import to_us
from efir.core.tzcheck import TzDataError, check_tzdata
from efir.i18n import Language, phrasebook
from efir.reports.render import ReportFormat, render
from efir.rulepacks import PackError, RulePack, available_packs, load_pack

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    import httpx

    from efir.adapters.ledger import Ledger
    from efir.config.settings import ConfigError, MqttTarget, Settings
    from efir.core.catalogue import Catalogue
    from efir.core.event import AsRunEvent
    from efir.readers.base import ReadOptions
    from efir.readers.nowplaying import NowPlayingMap as NowPlayingMapT

# The daemon's modules (MQTT, SQLAlchemy, Alembic, FastAPI, the notifiers) are
# imported by the commands that use them: importing them all took 1.5 s of
# every `efir audit` and `efir rules`.

EXIT_OK = 0
EXIT_VIOLATION = 1
EXIT_UNUSABLE = 2

app = typer.Typer(
    name="efir",
    help="Efir: real-time broadcast compliance monitor (airtime quotas for TV and radio).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# soft_wrap: a message is one line in a log or a pipe, never cut at 80 columns.
err = Console(stderr=True, soft_wrap=True)


class OutputFormat(StrEnum):
    """Report formats of ``efir audit``."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


#: ``--config``, as every command that reads the configuration takes it.
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="YAML configuration file (or EFIR_CONFIG).")
]


InputFormatOption = Annotated[
    str | None,
    typer.Option(
        "--input-format",
        help=(
            "jsonl, bxf, nielsen-nl, itx, marina, medialive, playbox, ffplayout, "
            "or csv (with --mapping). Default: detected."
        ),
    ),
]
SourceTimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--source-timezone", help="IANA zone of local times in the files (default: the channel's)."
    ),
]
FrameRateOption = Annotated[
    str | None, typer.Option("--frame-rate", help="Timecode frame rate when a file does not say.")
]
DateOption = Annotated[
    str | None, typer.Option("--date", help="YYYY-MM-DD of a file that gives no date.")
]
DayStartOption = Annotated[
    str | None,
    typer.Option(
        "--day-start",
        help="HH:MM[:SS] a playlist without clock times starts at (default: the file's, or 00:00).",
    ),
]
MappingOption = Annotated[
    Path | None, typer.Option("--mapping", help="YAML layout of a delimited or fixed-width log.")
]
CatalogueOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--catalogue",
        help="CSV or XLSX catalogue: house numbers and ISRCs to language, origin (repeatable).",
    ),
]
ClassifyOption = Annotated[
    Path | None,
    typer.Option(
        "--classify", help="YAML rules filling in kind, language, origin (docs/formats.md)."
    ),
]


def _read_options(  # noqa: PLR0917 - the readers' options, passed through
    channel: str | None,
    zone: str,
    frame_rate: str | None,
    day: str | None,
    mapping: Path | None,
    classify: Path | None,
    *,
    day_start: str | None = None,
    catalogue: list[Path] | None = None,
) -> ReadOptions:
    """What the readers are told, from the command's options (each checked, one clear error)."""
    import yaml  # noqa: PLC0415 - see the imports

    from efir.readers.base import ReadOptions  # noqa: PLC0415
    from efir.readers.classify import load_classifier  # noqa: PLC0415
    from efir.readers.delimited import load_mapping  # noqa: PLC0415
    from efir.readers.timecode import frame_rate as parse_rate  # noqa: PLC0415

    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError):
        _fail(f"--source-timezone: unknown zone {zone!r}")
    on = _date_option(day, "--date")
    starts = None
    if day_start is not None:
        from efir.readers.playlist import parse_clock  # noqa: PLC0415

        try:
            starts = parse_clock(day_start)
        except ValueError as exc:
            _fail(f"--day-start: {exc}")
    layout = None
    if mapping is not None:
        try:
            layout = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            _fail(f"--mapping: cannot read {mapping}: {type(exc).__name__}")
        load_mapping(layout, f"--mapping {mapping}")  # errors now, not at the first row
    return ReadOptions(
        channel=channel,
        timezone=tz,
        frame_rate=parse_rate(frame_rate) if frame_rate else None,
        date=on,
        mapping=layout,
        classify=load_classifier(classify) if classify is not None else None,
        catalogue=_catalogue(catalogue) if catalogue else None,
        day_start=starts,
    )


def _catalogue(files: list[Path]) -> Catalogue:
    """The catalogue of ``--catalogue`` files; refused rows said on stderr, the rest used."""
    from efir.core.catalogue import Catalogue as Entries  # noqa: PLC0415 - see the imports
    from efir.readers.base import LineError  # noqa: PLC0415
    from efir.readers.catalogue_file import CatalogueFileError, entries, rows_of  # noqa: PLC0415

    found = []
    for path in files:
        try:
            rows = rows_of(path.read_bytes(), path.name)
            for e in entries(rows, str(path), actor=None, now=0):
                if isinstance(e, LineError):
                    err.print(
                        f"[yellow]catalogue row refused[/yellow] {escape(str(e))}", highlight=False
                    )
                else:
                    found.append(e)
        except (OSError, CatalogueFileError) as exc:
            _fail(f"--catalogue: {exc}")
    return Entries(found)


def _date_option(text: str | None, option: str) -> date | None:
    """An option's ``YYYY-MM-DD`` (``None`` when not given); one clear line when it is not one."""
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option} must be a date YYYY-MM-DD, not {text!r}")
        raise  # unreachable: _fail exits


def _now_us() -> int:
    return to_us(datetime.now(UTC))


@app.callback()
def _startup() -> None:
    """Check the zone database before any command runs."""
    try:
        check_tzdata(_now_us())
    except TzDataError as exc:
        err.print(f"[bold red]efir:[/bold red] {exc}")
        raise typer.Exit(EXIT_UNUSABLE) from None


class _LazyProgress:
    """A progress bar that appears only once reading has taken more than a second."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task = TaskID(0)

    def __call__(self, consumed: int) -> None:
        if self.progress is None:
            if time.monotonic() - self.started < 1.0 or not err.is_terminal:
                return
            self.progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task("reading", total=self.total)
        self.progress.update(self.task, completed=consumed)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


ChannelOption = Annotated[
    str | None, typer.Option(help="Channel id; required when the input holds several.")
]
MediaOption = Annotated[Media, typer.Option(help="Channel media.")]
TimezoneOption = Annotated[str, typer.Option(help="IANA zone of the channel.")]
RulesOption = Annotated[str, typer.Option(help="Rule pack name or YAML path.")]
FromOption = Annotated[
    str | None, typer.Option("--from", help="Period start: YYYY-MM-DD (local) or RFC 3339.")
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", help="Period end: YYYY-MM-DD (inclusive day) or RFC 3339 (exclusive)."),
]
FlagOption = Annotated[
    list[str] | None, typer.Option(help="Channel flag (repeatable). Default: domestic.")
]
MourningOption = Annotated[
    list[str] | None, typer.Option(help="National mourning date YYYY-MM-DD (repeatable).")
]
EnableOption = Annotated[
    list[str] | None, typer.Option(help="Enable a rule disabled by default (repeatable).")
]
DisableOption = Annotated[list[str] | None, typer.Option(help="Disable a rule (repeatable).")]
SingleProcessOption = Annotated[
    bool,
    typer.Option(
        "--single-process",
        help="Read with this process only (by default a second one reads part of inputs "
        "of 16 MB and more).",
    ),
]
MaxRefusedOption = Annotated[
    float,
    typer.Option(
        min=0, max=1, help="Share of refused lines above which the audit is unusable (exit 2)."
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Judge every window under the thresholds in force on this date (YYYY-MM-DD), "
        "e.g. 2027-01-01 for the 60 % thresholds.",
    ),
]
ThresholdOption = Annotated[
    list[str] | None, typer.Option(help="Override one rule's threshold: RULE=VALUE (repeatable).")
]
LangOption = Annotated[
    Language,
    typer.Option(
        "--lang",
        envvar="EFIR_LANG",
        help="Language of the words people read (tables, verdicts, advice): en, kk or ru.",
    ),
]
FilesArgument = Annotated[
    list[Path], typer.Argument(help="As-run files to audit.", show_default=False)
]


@app.command()
def audit(  # noqa: PLR0917 - typer maps each parameter to one documented option
    files: FilesArgument,
    channel: ChannelOption = None,
    media: MediaOption = Media.TV,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    rules: RulesOption = "kz",
    start: FromOption = None,
    end: ToOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = (
        OutputFormat.TABLE
    ),
    input_format: InputFormatOption = None,
    source_timezone: SourceTimezoneOption = None,
    frame_rate: FrameRateOption = None,
    day: DateOption = None,
    day_start: DayStartOption = None,
    mapping: MappingOption = None,
    classify: ClassifyOption = None,
    catalogue: CatalogueOption = None,
    flag: FlagOption = None,
    mourning: MourningOption = None,
    enable: EnableOption = None,
    disable: DisableOption = None,
    violations_only: Annotated[
        bool, typer.Option("--violations-only", help="Table: list only violating windows.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to a file.")
    ] = None,
    single_process: SingleProcessOption = False,
    max_refused: MaxRefusedOption = 0.1,
    as_of: AsOfOption = None,
    threshold: ThresholdOption = None,
    lang: LangOption = Language.EN,
) -> None:
    """Evaluate a closed period of as-run events against a rule pack.

    Exit code 0: every window complies; 1: a violation was found; 2: unusable input or arguments.
    """
    options = _read_options(
        channel,
        source_timezone or timezone,
        frame_rate,
        day,
        mapping,
        classify,
        day_start=day_start,
        catalogue=catalogue,
    )

    def write(result: AuditResult) -> None:
        _write_report(
            result, output_format, output, violations_only=violations_only, lang=lang.value
        )

    with _collector_paused():
        _audit_command(
            files,
            channel,
            media,
            timezone,
            rules,
            start,
            end,
            input_format,
            flag,
            mourning,
            enable,
            disable,
            write=write,
            output=output,
            split=not single_process,
            max_refused=max_refused,
            as_of=as_of,
            threshold=threshold,
            options=options,
        )


@app.command()
def report(  # noqa: PLR0917 - typer maps each parameter to one documented option
    files: FilesArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="The report file to write.")],
    report_format: Annotated[
        ReportFormat | None,
        typer.Option("--format", help="pdf, xlsx or csv (default: from the output's suffix)."),
    ] = None,
    channel: ChannelOption = None,
    media: MediaOption = Media.TV,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    rules: RulesOption = "kz",
    start: FromOption = None,
    end: ToOption = None,
    input_format: InputFormatOption = None,
    source_timezone: SourceTimezoneOption = None,
    frame_rate: FrameRateOption = None,
    day: DateOption = None,
    day_start: DayStartOption = None,
    mapping: MappingOption = None,
    classify: ClassifyOption = None,
    catalogue: CatalogueOption = None,
    flag: FlagOption = None,
    mourning: MourningOption = None,
    enable: EnableOption = None,
    disable: DisableOption = None,
    single_process: SingleProcessOption = False,
    max_refused: MaxRefusedOption = 0.1,
    as_of: AsOfOption = None,
    threshold: ThresholdOption = None,
    lang: LangOption = Language.EN,
    plan: Annotated[
        list[Path] | None,
        typer.Option(
            help="A planned schedule (any input format) to reconcile with what aired (repeatable)."
        ),
    ] = None,
) -> None:
    """Write a compliance report an inspector reads: checklist, windows, evidence, risk degree.

    The audit's options and figures (docs/reports.md). Exit codes as ``efir audit``.
    """
    chosen = report_format
    if chosen is None:
        try:
            chosen = ReportFormat(output.suffix.lstrip(".").lower())
        except ValueError:
            _fail(f"--format: say pdf, xlsx or csv (the output {output.name} does not say)")
            raise  # unreachable: _fail exits
    options = _read_options(
        channel,
        source_timezone or timezone,
        frame_rate,
        day,
        mapping,
        classify,
        day_start=day_start,
        catalogue=catalogue,
    )

    def write(result: AuditResult) -> None:
        from efir.readers.locate import locate  # noqa: PLC0415 - see the imports
        from efir.reports import content  # noqa: PLC0415

        made = content.build(result)
        wanted = {row["event_id"] for row in made.evidence}
        made = content.with_sources(made, locate(files, input_format, options, wanted))
        if plan:
            made = content.with_plan(made, result, _read_plan(plan, options))
        output.write_bytes(render(made, chosen, lang.value))

    with _collector_paused():
        _audit_command(
            files,
            channel,
            media,
            timezone,
            rules,
            start,
            end,
            input_format,
            flag,
            mourning,
            enable,
            disable,
            write=write,
            output=output,
            split=not single_process,
            max_refused=max_refused,
            as_of=as_of,
            threshold=threshold,
            options=options,
        )


def _read_plan(paths: list[Path], options: ReadOptions) -> list[AsRunEvent]:
    """The events of the ``--plan`` files (refused records listed on stderr, not fatal)."""
    from efir.core.event import AsRunEvent  # noqa: PLC0415 - see the imports
    from efir.readers.base import LineError  # noqa: PLC0415
    from efir.readers.registry import reader_for  # noqa: PLC0415

    events: list[AsRunEvent] = []
    for path in paths:
        if not path.is_file():
            _fail(f"--plan: not a readable file: {path}")
        try:
            reader = reader_for(path, None)
        except InputError as exc:
            _fail(f"--plan: {exc}")
            raise  # unreachable: _fail exits
        for got in reader.read(path, options):
            if isinstance(got, AsRunEvent):
                events.append(got)
            elif isinstance(got, LineError):
                err.print(f"[yellow]plan: skipped[/yellow] {escape(str(got))}", highlight=False)
    return events


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for an audit, and freeze what it built.

    An audit allocates millions of long-lived objects and no reference
    cycles. The cyclic collector would re-scan that growing heap again and
    again (it doubled the run time), and once more at exit.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def _audit_command(  # noqa: PLR0917 - the audit command's parameters, passed through
    files: list[Path],
    channel: str | None,
    media: Media,
    timezone: str,
    rules: str,
    start: str | None,
    end: str | None,
    input_format: str | None,
    flag: list[str] | None,
    mourning: list[str] | None,
    enable: list[str] | None,
    disable: list[str] | None,
    *,
    write: Callable[[AuditResult], None],
    output: Path | None,
    split: bool,
    max_refused: float,
    as_of: str | None = None,
    threshold: list[str] | None = None,
    options: ReadOptions | None = None,
) -> None:
    try:
        pack = load_pack(rules)
    except PackError as exc:
        _fail(f"--rules: {exc}")
    pack = _what_if(pack, as_of, threshold)
    profile = _audit_profile(channel, media, timezone, rules, flag, mourning, enable, disable)
    if output is not None and not output.parent.is_dir():
        _fail(f"--output: the directory {output.parent} does not exist")
    files = _stdin_as_file(files)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        _fail(f"not a readable file: {', '.join(missing)}")
    progress = _LazyProgress(sum(f.stat().st_size for f in files))
    try:
        result = run_audit(
            files,
            channel=profile,
            channel_given=channel is not None,
            pack=pack,
            start=start,
            end=end,
            input_format=input_format,
            now_us=_now_us(),
            progress=progress,
            split=split,
            options=options,
        )
    except InputError as exc:
        progress.close()
        _fail(str(exc))
    except SplitError as exc:
        progress.close()
        _fail(f"{exc}\nThe audit can be read by one process: --single-process")
    progress.close()
    stats = result.stats
    for error in stats.errors[:20]:
        err.print(f"[yellow]skipped[/yellow] {escape(str(error))}", highlight=False)
    if stats.rejected > 20:
        err.print(f"... and {stats.rejected - 20} more rejected lines (see --format json)")
    try:
        write(result)
    except OSError as exc:
        _fail(f"--output: cannot write the report: {exc.strerror or exc}")
    _Exit.skip_teardown = True
    read = stats.lines_ok + stats.rejected
    if stats.rejected and stats.rejected > max_refused * read:
        _fail(
            f"{stats.rejected} of {read} lines were refused (over --max-refused "
            f"{max_refused:.0%}): the report does not describe the input; fix the lines "
            "listed above, or raise --max-refused to accept a partial audit"
        )
    raise typer.Exit(EXIT_VIOLATION if result.violations else EXIT_OK)


#: Channel settings the audit's options stand for, by configuration field.
_AUDIT_OPTIONS = {
    "id": "--channel",
    "media": "--media",
    "timezone": "--timezone",
    "rule_pack": "--rules",
    "flags": "--flag",
    "mourning_dates": "--mourning",
    "enable": "--enable",
    "disable": "--disable",
}


def _audit_profile(  # noqa: PLR0917 - the audit's channel options, passed through
    channel: str | None,
    media: Media,
    timezone: str,
    rules: str,
    flag: list[str] | None,
    mourning: list[str] | None,
    enable: list[str] | None,
    disable: list[str] | None,
) -> ChannelProfile:
    """The channel profile, through the one path the configuration file takes."""
    from pydantic import ValidationError  # noqa: PLC0415 - see the imports

    from efir.config.settings import ChannelConfig  # noqa: PLC0415

    try:
        config = ChannelConfig.model_validate(
            {
                "id": channel or "channel",
                "media": media,
                "timezone": timezone,
                "rule_pack": rules,
                "flags": flag if flag is not None else ["domestic"],
                "mourning_dates": mourning or [],
                "enable": enable or [],
                "disable": disable or [],
            }
        )
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            field = str(e["loc"][0]) if e["loc"] else ""
            option = _AUDIT_OPTIONS.get(field, "")
            value = f" ({e['input']!r})" if field and not isinstance(e["input"], dict) else ""
            problems.append(f"{option}{value}: {e['msg'].removeprefix('Value error, ')}")
        _fail("; ".join(problems))
        raise  # unreachable: _fail exits
    return config.profile()


def _what_if(pack: RulePack, as_of: str | None, threshold: list[str] | None) -> RulePack:
    """``pack`` under ``--as-of`` and ``--threshold RULE=VALUE`` (one sentence on a bad value)."""
    day = _date_option(as_of, "--as-of")
    overrides: dict[str, float] = {}
    known = {r.id: r for r in pack.rules}
    for item in threshold or []:
        rule_id, sep, text = item.partition("=")
        if not sep or rule_id.strip() not in known:
            _fail(f"--threshold {item!r}: give RULE=VALUE with a rule of pack {pack.name}")
        rule = known[rule_id.strip()]
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        shares = rule.is_share
        if not (0 <= value <= 1 if shares else value >= 0) or value != value:  # noqa: PLR0124 - NaN
            what = "a share from 0 to 1 (0.6 = 60 %)" if shares else "a count of 0 or more"
            _fail(f"--threshold {item!r}: {rule.id} takes {what}")
        overrides[rule.id] = value
    return pack.under(as_of=day, overrides=overrides)


def _stdin_as_file(files: list[Path]) -> list[Path]:
    """``-`` names standard input: it is spooled to a temporary file the readers can seek."""
    if not any(str(f) == "-" for f in files):
        return files
    import tempfile  # noqa: PLC0415 - only for standard input

    spool = Path(tempfile.mkstemp(prefix="efir-audit-", suffix=".jsonl")[1])
    with spool.open("wb") as out:
        while chunk := sys.stdin.buffer.read(1 << 20):
            out.write(chunk)
    import atexit  # noqa: PLC0415

    atexit.register(spool.unlink, missing_ok=True)
    return [spool if str(f) == "-" else f for f in files]


def _write_report(
    result: AuditResult,
    output_format: OutputFormat,
    output: Path | None,
    *,
    violations_only: bool,
    lang: str = "en",
) -> None:
    say = phrasebook(lang)
    if output_format is OutputFormat.TABLE and output:
        with output.open("w", encoding="utf-8") as handle:
            print_table(result, Console(file=handle), violations_only=violations_only, say=say)
    elif output_format is OutputFormat.TABLE:
        print_table(result, Console(), violations_only=violations_only, say=say)
    else:
        text = (
            # msgspec: the same text as json.dumps(indent=2, ensure_ascii=False)
            # but for the spelling of exponents, ten times faster on a year.
            msgspec.json.format(
                msgspec.json.encode(to_json(result, violations_only=violations_only)), indent=2
            ).decode()
            + "\n"
            if output_format is OutputFormat.JSON
            else to_csv(result, violations_only=violations_only)
        )
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)


@app.command()
def convert(  # noqa: PLR0917 - typer maps each parameter to one documented option
    files: Annotated[list[Path], typer.Argument(help="Files to convert.", show_default=False)],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The efir.asrun/1 JSON-lines file to write.")
    ],
    channel: Annotated[
        str | None, typer.Option(help="Channel id of the events (default: what the file names).")
    ] = None,
    timezone: Annotated[
        str, typer.Option(help="IANA zone of the channel (local times are written in it).")
    ] = DEFAULT_TIMEZONE,
    input_format: InputFormatOption = None,
    source_timezone: SourceTimezoneOption = None,
    frame_rate: FrameRateOption = None,
    day: DateOption = None,
    day_start: DayStartOption = None,
    mapping: MappingOption = None,
    classify: ClassifyOption = None,
    catalogue: CatalogueOption = None,
) -> None:
    """Write what Efir understood of FILES as efir.asrun/1 JSON lines, to check line by line.

    Each line is one event with every source field it was read from under
    ``raw``; refused records are listed on stderr with their file and line.
    Exit code 0: every record was read; 2: some were refused.
    """
    from efir.readers.base import LineError, Skipped  # noqa: PLC0415 - see the imports
    from efir.readers.convert import payloads  # noqa: PLC0415

    options = _read_options(
        channel,
        source_timezone or timezone,
        frame_rate,
        day,
        mapping,
        classify,
        day_start=day_start,
        catalogue=catalogue,
    )
    try:
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError):
        _fail(f"--timezone: unknown zone {timezone!r}")
    if not output.parent.is_dir():
        _fail(f"--output: the directory {output.parent} does not exist")
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        _fail(f"not a readable file: {', '.join(missing)}")
    written = refused = skipped = 0
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with output.open("w", encoding="utf-8") as out:
        for path in files:
            for got in payloads(path, input_format, options, tz):
                if isinstance(got, LineError):
                    refused += 1
                    if refused <= 20:
                        err.print(f"[yellow]refused[/yellow] {escape(str(got))}", highlight=False)
                elif isinstance(got, Skipped):
                    skipped += 1
                else:
                    out.write(encode(got) + "\n")
                    written += 1
    if refused > 20:
        err.print(f"... and {refused - 20} more refused records")
    if options.classify is not None:
        c = options.classify.report()
        counts = ", ".join(f"rule {i}: {r['records']}" for i, r in enumerate(c["rules"], 1))
        err.print(f"classified: {counts or 'no rules'}; default: {c['default']['records']}")
    err.print(f"{written} events written to {output}, {skipped} not airtime, {refused} refused")
    raise typer.Exit(EXIT_UNUSABLE if refused else EXIT_OK)


@app.command("rules")
def list_rules(
    pack: Annotated[
        str | None, typer.Argument(help="Pack name or path; omit to list packs.")
    ] = None,
) -> None:
    """List shipped rule packs, or the rules of one pack."""
    console = Console()
    if pack is None:
        for name in available_packs():
            loaded = load_pack(name)
            console.print(f"{name}  {loaded.version}  {loaded.title}", highlight=False)
        return
    try:
        loaded = load_pack(pack)
    except PackError as exc:
        _fail(str(exc))
    table = Table(title=f"{loaded.name} {loaded.version}: {loaded.title}", title_justify="left")
    for column in ("default", "rule", "type", "windows", "threshold now", "title", "legal source"):
        table.add_column(column)
    today = date.today()  # noqa: DTZ011 - a listing hint only, not used for evaluation
    for rule in loaded.rules:
        current = [
            t.value
            for t in rule.thresholds
            if t.effective_from is None or t.effective_from <= today
        ]
        state = "on" if rule.enabled else "off" + ("" if rule.verified else " (unverified)")
        table.add_row(
            state,
            rule.id,
            str(rule.type),
            rule.scheme.describe(),
            f"{current[-1]:g}" if current else "",
            rule.title,
            rule.legal_ref,
        )
    console.print(table)


class Scenario(StrEnum):
    """Simulated feed scenarios."""

    NORMAL = "normal"
    RISKY = "risky"


def _settings(config: Path | None) -> Settings:
    from efir.config.settings import ConfigError, load_settings  # noqa: PLC0415 - see the imports

    try:
        return load_settings(**({"config": config} if config else {}))
    except ConfigError as exc:
        _config_failed(exc)


def _shard_of(settings: Settings) -> None:
    """Refuse to run a sharded channel list without this instance's shard (docs/scaling.md)."""
    from efir.config.settings import ConfigError  # noqa: PLC0415 - see the imports
    from efir.config.shards import ShardMap  # noqa: PLC0415

    try:
        ShardMap.of(settings)
    except ConfigError as exc:
        _config_failed(exc)


def _config_failed(exc: ConfigError) -> NoReturn:
    """Print each configuration problem on its own ``config:`` line; exit 2."""
    for line in exc.errors:
        err.print(f"[bold red]config:[/bold red] {escape(line)}", highlight=False)
    raise typer.Exit(EXIT_UNUSABLE) from None


def _logging(settings: Settings) -> None:
    from efir.logs import configure, secrets_of  # noqa: PLC0415 - see the imports

    configure(settings.log_level, settings.log_format, secrets_of(settings))


@app.command()
def run(  # noqa: PLR0917 - typer maps each parameter to one documented option
    config: ConfigOption = None,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Also publish a simulated TV and radio feed and show a live table.",
        ),
    ] = False,
    scenario: Annotated[Scenario, typer.Option(help="Simulated feed scenario.")] = Scenario.RISKY,
    speed: Annotated[
        float, typer.Option(min=1, help="Simulated seconds per real second (--simulate).")
    ] = 1.0,
    seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (demos, tests).")
    ] = None,
    lang: LangOption = Language.EN,
) -> None:
    """Run the monitor: MQTT ingest, live counters, status API and metrics.

    With no configuration: SQLite in ./efir-data and a built-in MQTT broker on
    127.0.0.1:1883 (EFIR_EMBEDDED_BROKER_PORT). See docs/daemon.md.
    """
    from efir.daemon.broker import (  # noqa: PLC0415 - see the imports
        BrokerPortInUseError,
        port_free,
        port_in_use_message,
    )
    from efir.runner import run as run_service  # noqa: PLC0415
    from efir.runner import with_sim_channels  # noqa: PLC0415
    from efir.sim.publish import SimOptions  # noqa: PLC0415
    from efir.store import StoreUnavailableError  # noqa: PLC0415

    settings = _settings(config)
    _shard_of(settings)
    _logging(settings)
    sim = SimOptions(scenario=scenario.value, speed=speed) if simulate else None
    if sim is not None:
        settings = with_sim_channels(settings, sim)
    if settings.embedded_broker and not port_free("127.0.0.1", settings.embedded_broker_port):
        _fail(port_in_use_message(settings.embedded_broker_port))
    host, port = settings.http_host, settings.http_port
    try:
        http_taken = port != 0 and not port_free(host, port)
    except OSError as exc:
        _fail(f"EFIR_HTTP_HOST={host}: cannot listen there ({exc.strerror or exc})")
    if http_taken:
        _fail(
            f"port {port} on {host} is already in use (another Efir, or another web "
            f"server), so the status API cannot start. Stop it, or choose another port: "
            f"EFIR_HTTP_PORT={port + 1} efir run"
        )
    console = None
    if simulate:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
    try:
        asyncio.run(
            run_service(settings, sim=sim, console=console, seconds=seconds, lang=lang.value)
        )
    except* BrokerPortInUseError as group:
        _fail(str(group.exceptions[0]))
    except* StoreUnavailableError as group:
        err.print(
            f"[bold red]efir:[/bold red] the database is unavailable: {group.exceptions[0]} "
            f"({settings.db_url.split('@')[-1]})",
            highlight=False,
        )
        raise typer.Exit(1) from None


adapter_app = typer.Typer(
    help="Connect a playout system: publish its as-run to the broker (docs/integration.md).",
    no_args_is_help=True,
)
app.add_typer(adapter_app, name="adapter")


AdapterBrokerOption = Annotated[
    str | None, typer.Option(help="Broker (default EFIR_MQTT_URL, else 127.0.0.1:1883).")
]
HeartbeatOption = Annotated[float, typer.Option(min=1, help="Seconds between heartbeats.")]
StateOption = Annotated[
    Path | None,
    typer.Option(help="The ledger of what was published (default: in EFIR_DATA_DIR/adapters/)."),
]


def _adapter_base(mqtt_url: str | None, timezone: str) -> tuple[Settings, MqttTarget, ZoneInfo]:
    """An adapter command's settings (logging configured), broker and channel zone."""
    from efir.config.settings import parse_mqtt_url  # noqa: PLC0415 - see the imports

    settings = _settings(None)
    _logging(settings)
    try:
        target = parse_mqtt_url(mqtt_url) if mqtt_url else settings.mqtt_target
    except ValueError as exc:
        _fail(f"--mqtt-url: {exc}")
    try:
        tz = ZoneInfo(timezone)
    except (ValueError, KeyError):
        _fail(f"--timezone: unknown zone {timezone!r}")
    return settings, target, tz


def _run_adapter(ledger: Ledger, work: Callable[[asyncio.Event], Awaitable[str]]) -> None:
    """Run an adapter until SIGTERM or SIGINT, print its summary, close its ledger."""
    import signal  # noqa: PLC0415 - see the imports

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        err.print(await work(stop), highlight=False)

    try:
        asyncio.run(main())
    finally:
        ledger.close()


@adapter_app.command("tail")
def adapter_tail(  # noqa: PLR0917 - typer maps each parameter to one documented option
    directory: Annotated[
        Path, typer.Argument(help="The folder the playout system writes its logs to.")
    ],
    channel: Annotated[str, typer.Option(help="The channel id the events are for.")],
    input_format: InputFormatOption = None,
    pattern: Annotated[
        str, typer.Option(help="Which files of the folder to read (a glob: '*.csv').")
    ] = "*",
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    source_timezone: SourceTimezoneOption = None,
    frame_rate: FrameRateOption = None,
    day: DateOption = None,
    day_start: DayStartOption = None,
    mapping: MappingOption = None,
    classify: ClassifyOption = None,
    catalogue: CatalogueOption = None,
    state: StateOption = None,
    mqtt_url: AdapterBrokerOption = None,
    heartbeat_s: HeartbeatOption = 30.0,
    settle_s: Annotated[
        float, typer.Option(min=0, help="A file quiet this long is read whole, errors reported.")
    ] = 2.0,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll the folder (network shares without inotify).")
    ] = False,
    once: Annotated[
        bool, typer.Option("--once", help="Publish what the files hold now, then stop.")
    ] = False,
) -> None:
    """Publish new and growing files of a folder, in any input format, as they are written.

    Resumes after a restart or a kill -9 with no gap and no duplicate (the ledger
    records each event the broker acknowledged). Exit code 0 on a clean stop;
    1: the broker cannot be reached; 2: unusable arguments.
    """
    from efir.adapters.ledger import Ledger  # noqa: PLC0415 - see the imports
    from efir.adapters.tail import TailOptions, tail  # noqa: PLC0415
    from efir.readers.registry import READERS  # noqa: PLC0415

    settings, target, tz = _adapter_base(mqtt_url, timezone)
    if not directory.is_dir():
        _fail(f"{directory}: not a folder")
    if input_format is not None and input_format not in READERS:
        _fail(f"--input-format: one of {', '.join(sorted(READERS))}, not {input_format!r}")
    options = _read_options(
        channel, source_timezone or timezone, frame_rate, day, mapping, classify,
        day_start=day_start,
        catalogue=catalogue,
    )  # fmt: skip
    ledger = Ledger(state or settings.data_dir / "adapters" / f"tail-{channel}.sqlite")
    watch = TailOptions(
        directory=directory.resolve(), channel=channel, input_format=input_format,
        read=options, tz=tz, pattern=pattern, settle_s=settle_s, force_polling=poll,
    )  # fmt: skip

    async def work(stop: asyncio.Event) -> str:
        stats = await tail(
            target, watch, ledger, prefix=settings.mqtt.topic_prefix,
            heartbeat_s=heartbeat_s, stop=stop, once=once,
        )  # fmt: skip
        return (
            f"{stats.published} events published ({stats.already_sent} sent before), "
            f"{stats.skipped} not airtime, {stats.refused} refused"
        )

    _run_adapter(ledger, work)


class NowPlayingFormat(StrEnum):
    """Now-playing documents ``efir adapter poll`` reads."""

    AZURACAST = "azuracast"
    FFPLAYOUT = "ffplayout"
    JSON = "json"


def _now_playing_map(fmt: NowPlayingFormat, mapping: Path | None) -> NowPlayingMapT:
    """The preset of ``fmt``, or the mapping file (required for ``json``)."""
    import yaml  # noqa: PLC0415 - see the imports

    from efir.readers.nowplaying import PRESETS, MappingError, NowPlayingMap  # noqa: PLC0415

    if mapping is None:
        if fmt is NowPlayingFormat.JSON:
            _fail("--format json needs --map FILE (docs/integration.md)")
        return PRESETS[fmt.value]
    try:
        data = yaml.safe_load(mapping.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        _fail(f"--map: cannot read {mapping}: {type(exc).__name__}")
    try:
        return NowPlayingMap.load(data, f"--map {mapping}")
    except MappingError as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


@adapter_app.command("poll")
def adapter_poll(  # noqa: PLR0917 - typer maps each parameter to one documented option
    url: Annotated[str, typer.Argument(help="The now-playing URL (http:// or https://).")],
    channel: Annotated[str, typer.Option(help="The channel id the events are for.")],
    fmt: Annotated[
        NowPlayingFormat, typer.Option("--format", help="azuracast, ffplayout, or json (--map).")
    ] = NowPlayingFormat.JSON,
    mapping: Annotated[
        Path | None, typer.Option("--map", help="YAML: where the document keeps each field.")
    ] = None,
    interval_s: Annotated[float, typer.Option(min=0.5, help="Seconds between polls.")] = 5.0,
    header: Annotated[
        list[str] | None,
        typer.Option(help="A request header, 'Name: value' (repeatable; an API key)."),
    ] = None,
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    state: StateOption = None,
    mqtt_url: AdapterBrokerOption = None,
    heartbeat_s: HeartbeatOption = 30.0,
) -> None:
    """Poll a now-playing API and publish each item's start and end as it changes.

    An item ends when the next one starts; the source's history fills what aired
    while the adapter was down. Exit code 0 on a clean stop; 2: unusable arguments.
    """
    from efir.adapters.ledger import Ledger  # noqa: PLC0415 - see the imports
    from efir.adapters.poll import PollOptions, poll  # noqa: PLC0415

    settings, target, tz = _adapter_base(mqtt_url, timezone)
    if not url.startswith(("http://", "https://")):
        _fail(f"URL: http:// or https://, not {url!r}")
    chosen = _now_playing_map(fmt, mapping)
    headers: dict[str, str] = {}
    for h in header or []:
        name, sep, value = h.partition(":")
        if not sep or not name.strip():
            _fail(f"--header: 'Name: value', not {h!r}")
        headers[name.strip()] = value.strip()
    ledger = Ledger(state or settings.data_dir / "adapters" / f"poll-{channel}.sqlite")
    options = PollOptions(url, channel, chosen, tz, interval_s=interval_s, headers=headers)

    async def work(stop: asyncio.Event) -> str:
        stats = await poll(
            target, options, ledger, prefix=settings.mqtt.topic_prefix,
            heartbeat_s=heartbeat_s, stop=stop,
        )  # fmt: skip
        return (
            f"{stats.answers} answers, {stats.published} events published, "
            f"{stats.problems} problems"
        )

    _run_adapter(ledger, work)


@adapter_app.command("rivendell")
def adapter_rivendell(  # noqa: PLR0917 - typer maps each parameter to one documented option
    channel: Annotated[str, typer.Option(help="The channel id the events are for.")],
    host: Annotated[str, typer.Option(help="The Rivendell host running rdpadd.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="rdpadd's TCP port.")] = 34289,
    machine: Annotated[
        int, typer.Option(min=1, help="The log machine: 1 main log, 2 and 3 aux, 101+ virtual.")
    ] = 1,
    kind: Annotated[
        str, typer.Option(help="The kind of the items (classify: rules can refine it).")
    ] = "music",
    timezone: TimezoneOption = DEFAULT_TIMEZONE,
    state: StateOption = None,
    mqtt_url: AdapterBrokerOption = None,
    heartbeat_s: HeartbeatOption = 30.0,
) -> None:
    """Read Rivendell's PAD feed (PyPAD JSON over TCP) and publish each item's start and end.

    Exit code 0 on a clean stop; 2: unusable arguments.
    """
    from efir.adapters.ledger import Ledger  # noqa: PLC0415 - see the imports
    from efir.adapters.rivendell import PadOptions, rivendell  # noqa: PLC0415
    from efir.core.event import Kind  # noqa: PLC0415

    settings, target, tz = _adapter_base(mqtt_url, timezone)
    if kind not in {k.value for k in Kind}:
        _fail(f"--kind: one of {', '.join(k.value for k in Kind)}, not {kind!r}")
    ledger = Ledger(state or settings.data_dir / "adapters" / f"rivendell-{channel}.sqlite")
    options = PadOptions(host, port, channel, tz, machine=machine, kind=kind)

    async def work(stop: asyncio.Event) -> str:
        stats = await rivendell(
            target, options, ledger, prefix=settings.mqtt.topic_prefix,
            heartbeat_s=heartbeat_s, stop=stop,
        )  # fmt: skip
        skipped = ", ".join(sorted(stats.skipped_fields)) or "none"
        return (
            f"{stats.updates} updates, {stats.published} events published, "
            f"{stats.refused} refused; fields not used: {skipped}"
        )

    _run_adapter(ledger, work)


catalog_app = typer.Typer(
    help="The catalogue of a running daemon: import entries, list what aired unclassified.",
    no_args_is_help=True,
)
app.add_typer(catalog_app, name="catalog")
UrlOption = Annotated[
    str, typer.Option("--url", envvar="EFIR_URL", help="The daemon's API (or EFIR_URL).")
]


def _api(url: str) -> httpx.Client:
    """A client of the daemon's API, with ``EFIR_API_TOKEN`` when it is set."""
    import httpx  # noqa: PLC0415 - see the imports

    token = os.environ.get("EFIR_API_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=120)


def _answer(response: httpx.Response) -> Any:
    """The JSON of a 2xx answer; else exit 2 with the daemon's reason."""
    if response.status_code >= 300:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        _fail(f"the daemon answered {response.status_code}: {detail}")
    return response.json()


@catalog_app.command("import")
def catalog_import(
    files: Annotated[list[Path], typer.Argument(help="CSV or XLSX catalogue files.")],
    by: Annotated[str, typer.Option(help="Who imports them (journaled).")],
    url: UrlOption = "http://127.0.0.1:8080",
) -> None:
    """Import catalogue files into the running daemon (docs/integration.md, "The catalogue").

    Every usable row is put; the others are listed with their row number and
    reasons. The channels the entries touch are recounted. Exit code 0: every
    row taken; 2: some refused, or the daemon refused the file.
    """
    import httpx  # noqa: PLC0415 - see the imports

    refused = 0
    with _api(url) as api:
        for path in files:
            try:
                data = path.read_bytes()
            except OSError as exc:
                _fail(f"{path}: {exc.strerror or exc}")
            try:
                got = _answer(
                    api.post("/api/v1/catalogue/import", params={"by": by, "name": path.name},
                             content=data)
                )  # fmt: skip
            except httpx.HTTPError as exc:
                _fail(f"{url}: {exc}")
            for row in got["refused"]:
                reasons = "; ".join(row["reasons"])
                err.print(
                    f"[yellow]refused[/yellow] {path}:{row['row']}: {reasons}", highlight=False
                )
            refused += len(got["refused"])
            recounted = ", ".join(got["recounted"]) or "none"
            err.print(
                f"{path}: {got['put']} entries put, {got['unchanged']} unchanged, "
                f"{len(got['refused'])} rows refused; recounted: {recounted}",
                highlight=False,
            )
    raise typer.Exit(EXIT_UNUSABLE if refused else EXIT_OK)


@catalog_app.command("unknown")
def catalog_unknown(
    channel: Annotated[str, typer.Option(help="The channel.")],
    days: Annotated[float, typer.Option(min=0.01, max=10, help="Over the last N days.")] = 7,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Lines at most.")] = 30,
    url: UrlOption = "http://127.0.0.1:8080",
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV to standard output.")] = False,
) -> None:
    """The worklist: what aired without a language or origin, biggest airtime first.

    Catalogue the first lines (house number, ISRC or title) and the channel's
    figures become exact.
    """
    import csv  # noqa: PLC0415 - see the imports

    import httpx  # noqa: PLC0415

    to = datetime.now(UTC)
    lo = to.timestamp() - days * 86_400
    params: dict[str, str | int] = {
        "from": datetime.fromtimestamp(lo, UTC).isoformat(),
        "to": to.isoformat(),
        "limit": limit,
    }
    try:
        with _api(url) as api:
            got = _answer(api.get(f"/api/v1/channels/{channel}/unclassified", params=params))
    except httpx.HTTPError as exc:
        _fail(f"{url}: {exc}")
    if as_csv:
        out = csv.writer(sys.stdout, lineterminator="\n")
        out.writerow(["key_field", "key", "title", "kind", "missing", "seconds", "airings"])
        for i in got["items"]:
            out.writerow([i["key_field"], i["key"], i["title"] or "", i["kind"] or "",
                          " ".join(i["missing"]), round(i["seconds"]), i["airings"]])  # fmt: skip
        return
    from efir.core.wording import duration  # noqa: PLC0415

    table = Table(
        title=f"{channel}: {duration(got['unclassified_s'])} unclassified, "
        f"{got['from'][:16]} to {got['to'][:16]}",
        title_justify="left",
    )
    for column in ("key", "title", "kind", "missing", "airtime", "airings"):
        table.add_column(column)
    for i in got["items"]:
        table.add_row(
            f"{i['key_field']}={i['key']}",
            i["title"] or "",
            i["kind"] or "",
            ", ".join(i["missing"]),
            duration(i["seconds"]),
            str(i["airings"]),
        )
    Console().print(table)


@app.command("simulate")
def simulate_command(  # noqa: PLR0917 - typer maps each parameter to one documented option
    mqtt_url: Annotated[
        str | None,
        typer.Option(help="Broker (default EFIR_MQTT_URL, else the built-in broker's port)."),
    ] = None,
    scenario: Annotated[
        Scenario, typer.Option(help="normal, or risky (drifts toward a violation).")
    ] = Scenario.NORMAL,
    speed: Annotated[float, typer.Option(min=1, help="Simulated seconds per real second.")] = 1.0,
    seconds: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds (default: never).")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="Catch up from this local time (default: Monday 00:00 this week)."),
    ] = None,
    tv: Annotated[str, typer.Option(help="TV channel id.")] = "qaz-tv",
    radio: Annotated[str, typer.Option(help="Radio channel id.")] = "qaz-radio",
    seed: Annotated[int | None, typer.Option(help="Random seed (default: from the week).")] = None,
) -> None:
    """Publish a realistic playout feed for a TV and a radio channel to an MQTT broker."""
    import aiomqtt  # noqa: PLC0415 - see the imports

    from efir.config.settings import parse_mqtt_url  # noqa: PLC0415
    from efir.sim.publish import SimOptions, simulate  # noqa: PLC0415

    settings = _settings(None)
    _logging(settings)
    try:
        target = parse_mqtt_url(mqtt_url) if mqtt_url else settings.mqtt_target
    except ValueError as exc:
        _fail(f"--mqtt-url: {exc}")
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            _fail(f"--since must be an ISO 8601 time, not {since!r}")
            raise  # unreachable: _fail exits
        if start.tzinfo is None:
            start = start.replace(tzinfo=ZoneInfo(DEFAULT_TIMEZONE))
    options = SimOptions(
        channels=((tv, "tv"), (radio, "radio")),
        speed=speed,
        scenario=scenario.value,
        since=start,
        duration_s=seconds,
        topic_prefix=settings.mqtt.topic_prefix,
        seed=seed,
    )
    try:
        sent = asyncio.run(simulate(target, options))
    except aiomqtt.MqttError as exc:
        err.print(f"[bold red]efir:[/bold red] broker {target}: {exc}", highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    typer.echo(f"published {sent} events")


@app.command("check-config")
def check_config(
    config: ConfigOption = None,
) -> None:
    """Validate the configuration; print every error with its location (exit 2), or the settings."""
    from efir.config.settings import describe  # noqa: PLC0415 - see the imports

    settings = _settings(config)
    typer.echo(json.dumps(describe(settings), indent=2, ensure_ascii=False))


@app.command()
def migrate(
    config: ConfigOption = None,
) -> None:
    """Bring the database schema to the newest migration (``efir run`` does it too)."""
    from efir.store import Store, StoreUnavailableError  # noqa: PLC0415 - see the imports

    settings = _settings(config)

    async def go() -> None:
        store = Store(settings.db_url)
        try:
            await store.open()
        finally:
            await store.close()

    try:
        asyncio.run(go())
    except StoreUnavailableError as exc:
        err.print(f"[bold red]efir:[/bold red] the database is unavailable: {exc}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo("schema is up to date")


@app.command()
def healthcheck(
    ready: Annotated[
        bool, typer.Option("--ready", help="Check /readyz (state, store, broker) instead.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=0.1, help="Seconds to wait.")] = 2.0,
) -> None:
    """Exit 0 when the local Efir answers /healthz (container and service health checks).

    Reads EFIR_HTTP_HOST and EFIR_HTTP_PORT as ``efir run`` does (a host of
    0.0.0.0 or :: is asked on the loopback address).
    """
    import urllib.error  # noqa: PLC0415 - only this command needs them
    import urllib.request  # noqa: PLC0415

    host = os.environ.get("EFIR_HTTP_HOST", "127.0.0.1")
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - a bind-all address, mapped to loopback
    port = os.environ.get("EFIR_HTTP_PORT", "8080")
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{port}/{'readyz' if ready else 'healthz'}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            ok = answer.status == 200
    except (urllib.error.URLError, OSError, ValueError) as exc:
        err.print(f"efir: {url}: {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    raise typer.Exit(0 if ok else 1)


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(f"efir {__version__}")


def _fail(message: str) -> None:
    err.print(f"[bold red]efir:[/bold red] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_UNUSABLE)


class _Exit:
    """How the process ends once the command is done."""

    #: Set by ``efir audit`` when its report is written: the process then ends
    #: without tearing down the audit's heap (a million-event audit holds ~10 M
    #: objects; freeing them one by one took a quarter of a second).
    skip_teardown = False


def main() -> None:
    """Entry point of the ``efir`` script."""
    try:
        app()
    except EfirError as exc:
        # Whatever a command did not word itself: one line, no traceback.
        err.print(f"[bold red]efir:[/bold red] {escape(str(exc))}", highlight=False)
        sys.exit(EXIT_UNUSABLE)
    except SystemExit as done:
        if not _Exit.skip_teardown:
            raise
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
