"""The ``efir`` command line.

Exit codes of ``efir audit`` (documented in docs/audit.md, as linters do):
0 every window complies, 1 a violation was found, 2 unusable input or arguments.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import sys
import time
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path  # noqa: TC003 - typer reads annotations at runtime
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn
from rich.table import Table

from efir import __version__
from efir.audit.readers import FormatError
from efir.audit.report import print_table, to_csv, to_json
from efir.audit.run import AuditInputError, run_audit
from efir.audit.split import SplitError
from efir.core.channel import DEFAULT_TIMEZONE, ChannelProfile
from efir.core.rules import Media
from efir.core.timebase import to_us
from efir.core.tzcheck import TzDataError, check_tzdata
from efir.rulepacks import PackError, available_packs, load_pack

if TYPE_CHECKING:
    from efir.settings import Settings

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
err = Console(stderr=True)


class OutputFormat(StrEnum):
    """Report formats of ``efir audit``."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


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


@app.command()
def audit(  # noqa: PLR0917 - typer maps each parameter to one documented option
    files: Annotated[list[Path], typer.Argument(help="As-run files to audit.", show_default=False)],
    channel: Annotated[
        str | None, typer.Option(help="Channel id; required when the input holds several.")
    ] = None,
    media: Annotated[Media, typer.Option(help="Channel media.")] = Media.TV,
    timezone: Annotated[str, typer.Option(help="IANA zone of the channel.")] = DEFAULT_TIMEZONE,
    rules: Annotated[str, typer.Option(help="Rule pack name or YAML path.")] = "kz",
    start: Annotated[
        str | None,
        typer.Option("--from", help="Period start: YYYY-MM-DD (local) or RFC 3339."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--to", help="Period end: YYYY-MM-DD (inclusive day) or RFC 3339 (exclusive)."
        ),
    ] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Report format.")] = (
        OutputFormat.TABLE
    ),
    input_format: Annotated[
        str | None,
        typer.Option(help="jsonl (bxf, itx, nielsen-nl, csv: later). Default: detected."),
    ] = None,
    flag: Annotated[
        list[str] | None,
        typer.Option(help="Channel flag (repeatable). Default: domestic."),
    ] = None,
    mourning: Annotated[
        list[str] | None, typer.Option(help="National mourning date YYYY-MM-DD (repeatable).")
    ] = None,
    enable: Annotated[
        list[str] | None, typer.Option(help="Enable a rule disabled by default (repeatable).")
    ] = None,
    disable: Annotated[list[str] | None, typer.Option(help="Disable a rule (repeatable).")] = None,
    violations_only: Annotated[
        bool, typer.Option("--violations-only", help="Table: list only violating windows.")
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report to a file.")
    ] = None,
    single_process: Annotated[
        bool,
        typer.Option(
            "--single-process",
            help="Read with this process only (by default a second one reads part of inputs "
            "of 16 MB and more).",
        ),
    ] = False,
) -> None:
    """Evaluate a closed period of as-run events against a rule pack.

    Exit code 0: every window complies; 1: a violation was found; 2: unusable input or arguments.
    """
    # An audit allocates millions of long-lived objects and no reference cycles.
    # The cyclic collector would re-scan that growing heap again and again (it
    # doubled the run time), and once more at exit: pause it for the command
    # and freeze what the audit built.
    gc.disable()
    try:
        _audit_command(
            files,
            channel,
            media,
            timezone,
            rules,
            start,
            end,
            output_format,
            input_format,
            flag,
            mourning,
            enable,
            disable,
            violations_only=violations_only,
            output=output,
            split=not single_process,
        )
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
    output_format: OutputFormat,
    input_format: str | None,
    flag: list[str] | None,
    mourning: list[str] | None,
    enable: list[str] | None,
    disable: list[str] | None,
    *,
    violations_only: bool,
    output: Path | None,
    split: bool,
) -> None:
    try:
        pack = load_pack(rules)
        known = {r.id for r in pack.rules}
        unknown = sorted(set(enable or []) | set(disable or []) - known)
        if unknown:
            _fail(f"unknown rule id(s) {', '.join(unknown)} in pack {pack.name}")
        profile = ChannelProfile(
            id=channel or "channel",
            media=media,
            timezone=timezone,
            flags=frozenset(flag if flag is not None else ["domestic"]),
            rule_pack=rules,
            mourning_dates=frozenset(date.fromisoformat(d) for d in mourning or []),
            enable=frozenset(enable or []),
            disable=frozenset(disable or []),
        )
    except (PackError, ValueError) as exc:
        _fail(str(exc))
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
        )
    except (AuditInputError, FormatError) as exc:
        progress.close()
        _fail(str(exc))
    except SplitError as exc:
        progress.close()
        _fail(f"{exc}\nThe audit can be read by one process: --single-process")
    progress.close()
    for error in result.stats.errors[:20]:
        err.print(f"[yellow]skipped[/yellow] {error}", highlight=False, markup=False)
    if result.stats.rejected > 20:
        err.print(f"... and {result.stats.rejected - 20} more rejected lines (see --format json)")
    if output_format is OutputFormat.TABLE and output:
        with output.open("w", encoding="utf-8") as handle:
            print_table(result, Console(file=handle), violations_only=violations_only)
    elif output_format is OutputFormat.TABLE:
        print_table(result, Console(), violations_only=violations_only)
    else:
        text = (
            json.dumps(to_json(result), ensure_ascii=False, indent=2) + "\n"
            if output_format is OutputFormat.JSON
            else to_csv(result)
        )
        if output:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    _Exit.skip_teardown = True
    raise typer.Exit(EXIT_VIOLATION if result.violations else EXIT_OK)


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
    from efir.settings import ConfigError, load_settings  # noqa: PLC0415 - see the imports

    try:
        return load_settings(**({"config": config} if config else {}))
    except ConfigError as exc:
        for line in exc.errors:
            err.print(f"[bold red]config:[/bold red] {line}", highlight=False)
        raise typer.Exit(EXIT_UNUSABLE) from None


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Our own lines are enough; the libraries' INFO lines are per connection.
    for noisy in ("amqtt", "transitions", "uvicorn.access", "aiosqlite", "sqlalchemy", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


@app.command()
def run(
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration file (or EFIR_CONFIG).")
    ] = None,
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
    from efir.daemon.runner import run as run_service  # noqa: PLC0415
    from efir.daemon.runner import with_sim_channels  # noqa: PLC0415
    from efir.sim.publish import SimOptions  # noqa: PLC0415
    from efir.store import StoreUnavailableError  # noqa: PLC0415

    settings = _settings(config)
    _logging(settings.log_level)
    sim = SimOptions(scenario=scenario.value, speed=speed) if simulate else None
    if sim is not None:
        settings = with_sim_channels(settings, sim)
    if settings.embedded_broker and not port_free("127.0.0.1", settings.embedded_broker_port):
        _fail(port_in_use_message(settings.embedded_broker_port))
    console = None
    if simulate:
        console = Console()
        if not console.is_terminal:
            console = Console(width=150)
    try:
        asyncio.run(run_service(settings, sim=sim, console=console, seconds=seconds))
    except* BrokerPortInUseError as group:
        _fail(str(group.exceptions[0]))
    except* StoreUnavailableError as group:
        err.print(
            f"[bold red]efir:[/bold red] the database is unavailable: {group.exceptions[0]} "
            f"({settings.db_url.split('@')[-1]})",
            highlight=False,
        )
        raise typer.Exit(1) from None


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

    from efir.settings import parse_mqtt_url  # noqa: PLC0415
    from efir.sim.publish import SimOptions, simulate  # noqa: PLC0415

    settings = _settings(None)
    _logging(settings.log_level)
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
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration file (or EFIR_CONFIG).")
    ] = None,
) -> None:
    """Validate the configuration; print every error with its location (exit 2), or the settings."""
    from efir.settings import describe  # noqa: PLC0415 - see the imports

    settings = _settings(config)
    typer.echo(json.dumps(describe(settings), indent=2, ensure_ascii=False))


@app.command()
def migrate(
    config: Annotated[
        Path | None, typer.Option(help="YAML configuration file (or EFIR_CONFIG).")
    ] = None,
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
def version() -> None:
    """Print the version."""
    typer.echo(f"efir {__version__}")


def _fail(message: str) -> None:
    err.print(f"[bold red]efir:[/bold red] {message}", highlight=False)
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
    except SystemExit as done:
        if not _Exit.skip_teardown:
            raise
        code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
