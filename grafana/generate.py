"""Build Efir's Grafana dashboards from code and write them as JSON.

    python grafana/generate.py            # rewrite grafana/dashboards/*.json
    python grafana/generate.py --check    # exit 1 when a committed file is stale

Dashboards are built with Grafana Labs' typed builders (grafana-foundation-sdk,
the release that tracks the Grafana 11.6 dashboard schema), so a misspelt
option or a wrong type fails here rather than as a blank panel in Grafana.
The JSON is committed because that is what Grafana's file provisioning reads;
``tests/grafana/test_dashboards.py`` fails when it drifts from this file.

Every panel reads Prometheus through the ``datasource`` variable, so the same
JSON works when provisioned (``grafana/provisioning``) and when imported by
hand. Colours follow the status ranks of ``efir_rule_status_rank``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders.common import ReduceDataOptions, VizLegendOptions
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    DatasourceVariable,
    QueryVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueTextMode,
    GraphDrawStyle,
    LegendDisplayMode,
    LegendPlacement,
    TableCellDisplayMode,
    VizOrientation,
)
from grafana_foundation_sdk.models.dashboard import (
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
    VariableOption,
    VariableRefresh,
    VariableSort,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT = Path(__file__).parent / "dashboards"
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
TAGS = ["efir", "compliance"]

#: ``efir_rule_status_rank`` values: text and colour (worse is higher).
STATUS_RANKS = (
    ("not applicable", "text"),
    ("complies", "green"),
    ("secured", "green"),
    ("on track", "green"),
    ("partial", "blue"),
    ("at risk", "yellow"),
    ("exhausted", "orange"),
    ("critical", "orange"),
    ("unavoidable", "red"),
    ("violation", "dark-red"),
)
FEED_STATES = {"online": "green", "stale": "orange", "offline": "red", "unknown": "text"}


# ------------------------------------------------------------------ helpers
def query(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False) -> Dataquery:
    """A PromQL target; instant queries come back as one row per series."""
    q = Dataquery().expr(expr).ref_id(ref).datasource(DS)
    if legend:
        q = q.legend_format(legend)
    if instant:
        q = q.instant().format(PromQueryFormat.TABLE)
    return q


def steps(*pairs: tuple[float | None, str]) -> ThresholdsConfig:
    """Absolute threshold steps: ``(None, base colour), (value, colour), ...``."""
    return (
        ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=v, color=c) for v, c in pairs])
    )


def status_mappings() -> list[Any]:
    """Map a status rank to its name and colour."""
    return [
        ValueMap(
            options={
                str(i): ValueMappingResult(text=text, color=colour, index=i)
                for i, (text, colour) in enumerate(STATUS_RANKS)
            }
        )
    ]


def share_thresholds() -> ThresholdsConfig:
    """Red below 55 %, yellow below 60 % (fails from 1 January 2027), green above."""
    return steps((None, "red"), (0.55, "yellow"), (0.60, "green"))


def var_datasource() -> DatasourceVariable:
    """Pick the Prometheus that scrapes Efir."""
    return DatasourceVariable("datasource").label("Prometheus").type("prometheus")


def var_channel(*, multi: bool) -> QueryVariable:
    """Channels that Efir exports figures for."""
    v = (
        QueryVariable("channel")
        .label("Channel")
        .datasource(DS)
        .query("label_values(efir_rule_status_rank, channel)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(multi)
        .include_all(multi)
    )
    if multi:
        v = v.all_value(".*").current(VariableOption(text="All", value="$__all"))
    return v


def var_rule() -> QueryVariable:
    """Rules active on the chosen channels."""
    return (
        QueryVariable("rule")
        .label("Rule")
        .datasource(DS)
        .query('label_values(efir_rule_status_rank{channel=~"$channel"}, rule)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .current(VariableOption(text="All", value="$__all"))
    )


def links() -> list[DashboardLink]:
    """Every Efir dashboard links to the others."""
    return [
        DashboardLink("Efir dashboards")
        .type("dashboards")
        .tags(["efir"])
        .as_dropdown(False)
        .include_vars(True)
        .keep_time(True)
    ]


def dashboard(uid: str, title: str, description: str) -> Dashboard:
    """Common settings: browser time zone, one-minute refresh, links."""
    d = (
        Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .timezone("browser")
        .refresh("1m")
        .editable()
        .week_start("monday")
    )
    for link in links():
        d = d.link(link)
    return d


def rules_table(selector: str, title: str, description: str) -> table.Panel:
    """One row per (channel, rule): status, share, threshold, slack, budget, deadline."""
    columns = (
        ("A", f"efir_rule_status_rank{{{selector}}}", "Status"),
        ("B", f"efir_rule_share{{{selector}}}", "Share"),
        ("C", f"efir_rule_threshold{{{selector}}}", "Threshold"),
        ("D", f"efir_rule_slack_seconds{{{selector}}}", "Slack"),
        ("E", f"efir_rule_budget_seconds{{{selector}}}", "Budget left"),
        ("F", f"efir_rule_deadline_timestamp_seconds{{{selector}}} * 1000", "Deadline"),
    )
    panel = table.Panel().title(title).description(description).datasource(DS)
    for ref, expr, _ in columns:
        panel = panel.with_target(query(expr, ref=ref, instant=True))
    renames = {f"Value #{ref}": name for ref, _, name in columns}
    return (
        panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {
                        "Time": True,
                        "__name__": True,
                        "instance": True,
                        "job": True,
                    },
                    "indexByName": {
                        "channel": 0,
                        "rule": 1,
                        **{name: i + 2 for i, name in enumerate(renames)},
                    },
                    "renameByName": {"channel": "Channel", "rule": "Rule", **renames},
                },
            )
        )
        .override_by_name(
            "Status",
            [
                DynamicConfigValue(id_val="mappings", value=status_mappings()),
                DynamicConfigValue(
                    id_val="custom.cellOptions",
                    value={"type": TableCellDisplayMode.COLOR_BACKGROUND.value},
                ),
            ],
        )
        .override_by_name("Share", [DynamicConfigValue(id_val="unit", value="percentunit")])
        .override_by_name("Threshold", [DynamicConfigValue(id_val="unit", value="percentunit")])
        .override_by_name("Slack", [DynamicConfigValue(id_val="unit", value="s")])
        .override_by_name("Budget left", [DynamicConfigValue(id_val="unit", value="s")])
        .override_by_name("Deadline", [DynamicConfigValue(id_val="unit", value="dateTimeAsLocal")])
        .height(12)
        .span(24)
    )


def series(
    title: str,
    description: str,
    *targets: tuple[str, str],
    unit: str | None = None,
    height: int = 8,
    span: int = 12,
) -> timeseries.Panel:
    """A time series from ``(expr, legend)`` queries (refs A, B, ...): from 0, table legend."""
    panel = timeseries.Panel().title(title).description(description).datasource(DS)
    for ref, (expr, legend) in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(query(expr, legend, ref=ref))
    if unit is not None:
        panel = panel.unit(unit)
    return panel.min(0).legend(legend_table()).height(height).span(span)


def counter_stat(title: str, expr: str, description: str, colours: ThresholdsConfig) -> stat.Panel:
    """A big number with a background colour."""
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DS)
        .with_target(query(expr, instant=True))
        .color_mode(BigValueColorMode.BACKGROUND)
        .thresholds(colours)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )


def legend_table() -> VizLegendOptions:
    """A legend listing each series with its last value."""
    return (
        VizLegendOptions()
        .display_mode(LegendDisplayMode.TABLE)
        .placement(LegendPlacement.BOTTOM)
        .show_legend(True)
        .calcs(["lastNotNull"])
    )


# --------------------------------------------------------------- dashboards
def fleet() -> Dashboard:
    """Every channel and every rule at a glance."""
    sel = 'channel=~"$channel", rule=~"$rule"'
    d = dashboard(
        "efir-fleet",
        "Efir - fleet overview",
        "Every monitored channel and rule: status, share against threshold, slack, ad budget.",
    )
    d = d.with_variable(var_datasource()).with_variable(var_channel(multi=True))
    d = d.with_variable(var_rule())
    d = d.with_row(Row("Now"))
    d = d.with_panel(
        counter_stat(
            "Rules at risk or worse",
            # max by channel and rule: both instances of a pair export each status.
            f"count(max by (channel, rule) (efir_rule_status_rank{{{sel}}}) >= 5) or vector(0)",
            "Rules whose current window is at risk, exhausted, critical, unavoidable or lost.",
            steps((None, "green"), (1, "orange")),
        )
    )
    d = d.with_panel(
        counter_stat(
            "Feeds not online",
            # max by channel: both instances of a pair export a channel's feed state.
            'count(max by (channel) (efir_feed_state{channel=~"$channel", '
            'state!~"online|off_air"} == 1)) or vector(0)',
            "Channels whose as-run feed is stale, offline or never heard: their figures may "
            "be behind what went to air.",
            steps((None, "green"), (1, "red")),
        )
    )
    d = d.with_panel(
        counter_stat(
            "Alerts firing",
            'sum(efir_alerts{channel=~"$channel", state="firing"}) or vector(0)',
            "Efir's own alerts that are firing now (see /api/v1/alerts).",
            steps((None, "green"), (1, "orange")),
        )
    )
    d = d.with_panel(
        counter_stat(
            "Six-hour intervals under 60 % (2027), last four weeks",
            'count(last_over_time(efir_window_share{channel=~"$channel", rule="lang_6h"}[28d])'
            " < 0.6) or vector(0)",
            "Six-hour intervals of the last four weeks whose Kazakh share would fail the "
            "threshold in force from 1 January 2027 (60 %): each interval's last value, the "
            "current one as it stands. The channel dashboard lists them.",
            steps((None, "green"), (1, "orange")),
        )
    )
    d = d.with_panel(
        counter_stat(
            "Channels",
            'count(count by (channel) (efir_rule_status_rank{channel=~"$channel"}))',
            "Channels Efir monitors.",
            steps((None, "blue")),
        )
    )
    d = d.with_panel(
        rules_table(
            sel,
            "Every channel, every rule",
            "The current window of each rule. Slack: minutes that may still pass without "
            "qualifying content. Budget: seconds of advertising (or other capped content) "
            "still allowed. Deadline: latest start of qualifying content.",
        )
    )
    d = d.with_row(Row("Kazakh language and advertising"))
    d = d.with_panel(
        bargauge.Panel()
        .title("Six-hour Kazakh share now")
        .description(
            "Share of the current six-hour interval so far. Red below 55 % (the threshold "
            "in force), yellow below 60 % (the threshold from 1 January 2027)."
        )
        .datasource(DS)
        .with_target(query('efir_rule_share{channel=~"$channel", rule="lang_6h"}', "{{channel}}"))
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(share_thresholds())
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("Ad budget left this hour")
        .description(
            "Seconds of paid advertising still allowed in the current (or next) evening "
            "hour 18:00-23:00 (20 % of the hour = 720 s)."
        )
        .datasource(DS)
        .with_target(
            query(
                'efir_rule_budget_seconds{channel=~"$channel", rule="ads_evening_hour"}',
                "{{channel}}",
            )
        )
        .unit("s")
        .min(0)
        .max(720)
        .thresholds(steps((None, "red"), (120, "yellow"), (300, "green")))
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(8)
        .span(12)
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("Unclassified airtime, last seven days")
        .description(
            "Airtime without a language (or, for programmes and music, an origin): it counts "
            "against the shares. Catalogue the biggest items first: efir catalog unknown "
            "--channel ID, or GET /api/v1/channels/{id}/unclassified."
        )
        .datasource(DS)
        .with_target(query('efir_unclassified_seconds{channel=~"$channel"} / 3600', "{{channel}}"))
        .unit("h")
        .min(0)
        .thresholds(steps((None, "green"), (1, "yellow"), (6, "red")))
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(8)
        .span(12)
    )
    return d.with_panel(
        series(
            "Slack of the six-hour interval",
            "Minutes that may still pass without Kazakh content before the interval is lost; "
            "0 means every remaining minute must be in Kazakh.",
            ('efir_rule_slack_seconds{channel=~"$channel", rule="lang_6h"} / 60', "{{channel}}"),
            unit="m",
            span=24,
        )
    )


def channel() -> Dashboard:
    """One channel in depth."""
    ch = 'channel="$channel"'
    weekly = f'{ch}, rule=~"lang_week|domestic_.*_week"'
    d = dashboard(
        "efir-channel",
        "Efir - channel detail",
        "One channel: six-hour Kazakh shares of the last seven days, weekly shares against the "
        "thresholds (with the 2027 step), evening advertising, feed health, unknown content.",
    )
    d = d.with_variable(var_datasource()).with_variable(var_channel(multi=False))
    d = d.with_variable(var_rule())
    d = d.with_row(Row("$channel now"))
    d = d.with_panel(
        stat.Panel()
        .title("Worst status")
        .description("The worst status over the current windows of every rule.")
        .datasource(DS)
        .with_target(query(f"max(efir_rule_status_rank{{{ch}}})", instant=True))
        .mappings(status_mappings())
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )
    feed = (
        stat.Panel()
        .title("Feed")
        .description("State of the as-run feed: online, stale (silent too long), offline.")
        .datasource(DS)
        .with_target(
            query(f"max by (state) (efir_feed_state{{{ch}}}) == 1", "{{state}}", instant=True)
        )
        .text_mode(BigValueTextMode.NAME)
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )
    for state, colour in FEED_STATES.items():
        feed = feed.override_by_name(
            state,
            [DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": colour})],
        )
    d = d.with_panel(feed)
    d = d.with_panel(
        stat.Panel()
        .title("Six-hour Kazakh share")
        .description("Share of the current six-hour interval so far against 55 %.")
        .datasource(DS)
        .with_target(query(f'efir_rule_share{{{ch}, rule="lang_6h"}}', instant=True))
        .unit("percentunit")
        .thresholds(share_thresholds())
        .color_mode(BigValueColorMode.BACKGROUND)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )
    d = d.with_panel(
        stat.Panel()
        .title("Kazakh content needed by")
        .description("Latest start of Kazakh content that still saves the six-hour interval.")
        .datasource(DS)
        .with_target(
            query(
                f'efir_rule_deadline_timestamp_seconds{{{ch}, rule="lang_6h"}} * 1000',
                instant=True,
            )
        )
        .unit("dateTimeFromNow")
        .color_mode(BigValueColorMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(4)
        .span(6)
    )
    d = d.with_panel(
        rules_table(
            f'{ch}, rule=~"$rule"',
            "Rules of $channel",
            "The current window of each rule on this channel.",
        )
    )
    d = d.with_row(Row("Kazakh language"))
    d = d.with_panel(
        bargauge.Panel()
        .title("Six-hour Kazakh share per interval, last seven days")
        .description(
            "Each six-hour interval of the last seven days (the current one is still "
            "counting). Red: below 55 %, lost today. Yellow: legal today, below the 60 % "
            "that applies from 1 January 2027."
        )
        .datasource(DS)
        .with_target(
            query(
                f'efir_window_share{{{ch}, rule="lang_6h"}}',
                "{{window_start}}",
                instant=True,
            )
        )
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(share_thresholds())
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().values(True).calcs(["lastNotNull"]))
        .with_transformation(
            DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": "window_start"}]})
        )
        .height(14)
        .span(12)
    )
    d = d.with_panel(
        bargauge.Panel()
        .title("Under the 2027 thresholds: six-hour intervals, last four weeks")
        .description(
            "Each six-hour interval of the last four weeks against the 60 % that applies "
            "from 1 January 2027: red would fail, green would comply (the interval's last "
            "value; the current one as it stands). The board's 2027 view and "
            "GET /api/v1/channels/{id}/windows?as_of=2027-01-01 give the same from the store."
        )
        .datasource(DS)
        .with_target(
            query(
                f'last_over_time(efir_window_share{{{ch}, rule="lang_6h"}}[28d])',
                "{{window_start}}",
                instant=True,
            )
        )
        .unit("percentunit")
        .min(0)
        .max(1)
        .thresholds(steps((None, "red"), (0.6, "green")))
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().values(True).calcs(["lastNotNull"]))
        .with_transformation(
            DataTransformerConfig(id_val="sortBy", options={"sort": [{"field": "window_start"}]})
        )
        .height(20)
        .span(12)
    )
    d = d.with_panel(
        series(
            "Weekly shares against the thresholds",
            "Weekly shares so far (Kazakh language, domestic programmes or music) with the "
            "threshold in force and, dashed, the next one (60 % from 1 January 2027).",
            (f"efir_rule_share{{{weekly}}}", "{{rule}}"),
            (f"efir_rule_threshold{{{weekly}}}", "{{rule}} threshold"),
            (f"efir_rule_next_threshold{{{weekly}}}", "{{rule}} from 2027"),
            unit="percentunit",
            height=14,
        )
        .override_by_regexp(
            ".*(threshold|2027)$",
            [
                DynamicConfigValue(
                    id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}
                )
            ],
        )
        .max(1)
    )
    d = d.with_row(Row("Advertising"))
    d = d.with_panel(
        bargauge.Panel()
        .title("Ad minutes per evening hour, last seven days")
        .description(
            "Paid advertising in each evening hour 18:00-23:00 of the last seven days; "
            "the limit is 20 % of the hour (12 minutes)."
        )
        .datasource(DS)
        .with_target(
            query(
                f'efir_window_numerator_seconds{{{ch}, rule="ads_evening_hour"}} / 60',
                "{{window_start}}",
                instant=True,
            )
        )
        .unit("m")
        .min(0)
        .max(12)
        .thresholds(steps((None, "green"), (10, "yellow"), (12, "red")))
        .orientation(VizOrientation.HORIZONTAL)
        .reduce_options(ReduceDataOptions().values(True).calcs(["lastNotNull"]))
        .height(14)
        .span(12)
    )
    d = d.with_panel(
        series(
            "Advertising in the current hour and day",
            "Paid advertising so far in the current evening hour and the current day, minutes.",
            (
                f'efir_rule_numerator_seconds{{{ch}, rule=~"ads_evening_hour|ads_day"}} / 60',
                "{{rule}}",
            ),
            unit="m",
            height=14,
        ).draw_style(GraphDrawStyle.LINE)
    )
    d = d.with_row(Row("Feed health and data quality"))
    d = d.with_panel(
        series(
            "Seconds since the feed was last heard",
            "Time since the last as-run event or adapter heartbeat. A feed silent longer "
            "than stale_after_s turns stale and quota alerts are held back.",
            (f"time() - efir_feed_last_heard_timestamp_seconds{{{ch}}}", "last heard"),
            (f"time() - efir_feed_last_event_timestamp_seconds{{{ch}}}", "last event"),
            unit="s",
        )
    )
    d = d.with_panel(
        series(
            "Unclassified airtime, last seven days",
            "Airtime of the last seven days without a language (or, for programmes and music, "
            "an origin). The worklist (efir catalog unknown, GET /api/v1/channels/{id}/"
            "unclassified) ranks what to catalogue first; a fix recounts the windows it touches.",
            (f"efir_unclassified_seconds{{{ch}}} / 3600", "unclassified"),
            unit="h",
        )
    )
    return d.with_panel(
        series(
            "Unknown seconds per rule",
            "Base seconds whose deciding attribute (language, origin) is missing from the "
            "as-run data. They count against the share: fix the metadata at the source.",
            (f'efir_rule_unknown_seconds{{{ch}, rule=~"$rule"}}', "{{rule}}"),
            unit="s",
        )
    )


#: Without shards the shard label is empty, which Prometheus drops: name it.
_NO_SHARD = 'label_replace({}, "shard", "(no shards)", "shard", "")'


def operations() -> Dashboard:
    """Efir's own health: ingest, store, broker, notifications."""
    d = dashboard(
        "efir-operations",
        "Efir - operations",
        "Efir's own health: ingest rate and lag, dead letters, queue, store, broker, "
        "notification deliveries.",
    )
    d = d.with_variable(var_datasource())
    d = d.with_row(Row("Health"))
    for title, expr, desc in (
        ("Ready", "min(efir_ready)", "1 while /readyz answers ready on every instance."),
        ("Store", "min(efir_store_up)", "1 when the database accepts writes."),
        ("Broker", "min(efir_mqtt_connected)", "1 while connected to the MQTT broker."),
        (
            "Sender",
            "min(max by (shard) (efir_fleet_leaders))",
            (
                "Instances sending notifications, in the shard with the fewest: exactly 1 expected "
                "per shard (docs/scaling.md)."
            ),
        ),
    ):
        d = d.with_panel(
            counter_stat(title, expr, desc, steps((None, "red"), (1, "green"))).mappings(
                [ValueMap(options={"0": ValueMappingResult(text="down", color="red")})]
            )
        )
    d = d.with_row(Row("Fleet"))
    d = d.with_panel(
        series(
            "Instances per shard",
            "Instances of each shard that reported in the last 10 s, as the best-informed "
            "instance sees them. 0: nobody counts that shard's channels.",
            (_NO_SHARD.format("max by (shard) (efir_fleet_instances)"), "{{shard}}"),
        )
    )
    d = d.with_panel(
        series(
            "Senders per shard",
            "Instances holding each shard's sender lease: exactly 1 expected.",
            (_NO_SHARD.format("max by (shard) (efir_fleet_leaders)"), "{{shard}}"),
        )
    )
    d = d.with_row(Row("Ingest"))
    d = d.with_panel(
        series(
            "Events ingested per second",
            "As-run event versions committed to the store, per channel and source (both "
            "instances of a pair commit each one: the larger of their rates).",
            (
                "max by (channel, source) (rate(efir_events_ingested_total[$__rate_interval]))",
                "{{channel}} ({{source}})",
            ),
            unit="reqps",
        )
    )
    d = d.with_panel(
        series(
            "Ingest lag",
            "From receipt of an event to its commit and counter update.",
            *(
                (
                    (
                        f"histogram_quantile({q}, sum by (le) "
                        "(rate(efir_ingest_lag_seconds_bucket[$__rate_interval])))"
                    ),
                    name,
                )
                for q, name in (("0.5", "p50"), ("0.99", "p99"))
            ),
            unit="s",
        )
    )
    d = d.with_panel(
        series(
            "Dead letters per reason",
            "Payloads rejected into dead letters (GET /api/v1/dead-letters shows them); "
            "fix the cause, then replay.",
            (
                "sum by (reason) (increase(efir_events_rejected_total[$__rate_interval]))",
                "{{reason}}",
            ),
        ).draw_style(GraphDrawStyle.BARS)
    )
    d = d.with_panel(
        series(
            "Ingest queue",
            "Events waiting for the store, against the queue size (backpressure).",
            ("sum(efir_ingest_queue_depth)", "depth"),
            ("sum(efir_ingest_queue_capacity)", "capacity"),
        )
    )
    d = d.with_panel(
        series(
            "Store",
            "Write batches committed and store errors (retried) per second.",
            ("sum(rate(efir_store_batches_total[$__rate_interval]))", "batches"),
            ("sum(rate(efir_store_errors_total[$__rate_interval]))", "errors"),
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            "Broker connections",
            "Connected (1) or not, and reconnects.",
            ("min(efir_mqtt_connected)", "connected"),
            ("sum(increase(efir_mqtt_connects_total[$__rate_interval]))", "connects"),
        )
    )
    d = d.with_row(Row("Notifications"))
    d = d.with_panel(
        series(
            "Notification attempts",
            "Delivery attempts per receiver and outcome (delivered, retry, failed, gone).",
            (
                (
                    "sum by (receiver, outcome) "
                    "(increase(efir_notification_attempts_total[$__rate_interval]))"
                ),
                "{{receiver}} {{outcome}}",
            ),
        ).draw_style(GraphDrawStyle.BARS)
    )
    d = d.with_panel(
        series(
            "Outbox backlog",
            "Notifications waiting for delivery, per receiver.",
            ("sum by (receiver) (efir_outbox_pending)", "{{receiver}}"),
        )
    )
    d = d.with_panel(
        series(
            "Alerts by state and severity",
            "Efir's own alerts, pending and firing.",
            ("sum by (state, severity) (efir_alerts)", "{{state}} {{severity}}"),
        )
    )
    return d.with_panel(
        stat.Panel()
        .title("Version and uptime")
        .description("Running Efir version and time since the process started.")
        .datasource(DS)
        .with_target(
            query(
                "max by (version) (efir_build_info) * on () group_left () "
                "(time() - max(efir_start_time_seconds))",
                "{{version}}",
                instant=True,
            )
        )
        .unit("s")
        .text_mode(BigValueTextMode.VALUE_AND_NAME)
        .color_mode(BigValueColorMode.NONE)
        .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]))
        .height(8)
        .span(12)
    )


DASHBOARDS = {"efir-fleet": fleet, "efir-channel": channel, "efir-operations": operations}


def render() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    out = {}
    for uid, build in DASHBOARDS.items():
        model = json.loads(json.dumps(build().build(), cls=JSONEncoder))
        # Panel ids are unique per dashboard; Grafana links to a panel by id.
        for n, panel in enumerate(model["panels"], start=1):
            panel["id"] = n
        text = json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False)
        out[f"{uid}.json"] = text + "\n"
    return out


def main() -> int:
    """Write the dashboards, or with ``--check`` report stale files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    stale = []
    for name, text in render().items():
        path = OUT / name
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(name)
        else:
            path.write_text(text)
    if stale:
        sys.stderr.write(f"stale: {', '.join(stale)} (run python grafana/generate.py)\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
