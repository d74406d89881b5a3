"""Load and validate rule packs (YAML) into core :class:`~efir.core.rules.Rule` values.

A pack is either a shipped name (``kz``, ``kz-2018``) or a path to a YAML file.
An operator's pack may ``extends: kz`` and then list rules: a rule whose ``id``
exists in the parent is merged field by field (so ``{id: lang_6h,
transitional: end}`` changes one setting), a new id adds a rule. Unverified
rules (``verified: false``) are disabled unless the rule sets ``enabled: true``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from efir.core.calendar import WEEKDAYS, Daypart, Grid, Scheme, parse_clock
from efir.core.errors import ConfigurationError
from efir.core.rules import (
    Applicability,
    Media,
    RiskDegree,
    Rule,
    RuleType,
    Severity,
    Threshold,
    TransitionalPolicy,
    what_if,
)
from efir.core.selector import Selector, Weight

_MAX_EXTENDS_DEPTH = 4


class PackError(ConfigurationError):
    """A rule pack could not be loaded; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SelectorSpec(_Strict):
    """Selector conditions (all optional; lists may contain null for unknown)."""

    kind: list[str | None] | None = None
    not_kind: list[str | None] | None = None
    layer: list[Literal["primary", "secondary"]] | None = None
    language: list[str | None] | None = None
    not_language: list[str | None] | None = None
    origin: list[str | None] | None = None
    not_origin: list[str | None] | None = None
    retransmission: bool | None = None
    tags_any: list[str] | None = None
    tags_all: list[str] | None = None
    not_tags: list[str] | None = None
    ad_category: list[str | None] | None = None
    any_of: list[SelectorSpec] | None = None
    none_of: list[SelectorSpec] | None = None

    def build(self) -> Selector:
        """Return the core selector."""

        def fs(values: list[Any] | None) -> frozenset[Any] | None:
            return frozenset(values) if values is not None else None

        return Selector(
            kind=fs(self.kind),
            not_kind=fs(self.not_kind),
            layer=fs(self.layer),
            language=fs(self.language),
            not_language=fs(self.not_language),
            origin=fs(self.origin),
            not_origin=fs(self.not_origin),
            retransmission=self.retransmission,
            tags_any=fs(self.tags_any),
            tags_all=fs(self.tags_all),
            not_tags=fs(self.not_tags),
            ad_category=fs(self.ad_category),
            any_of=tuple(s.build() for s in self.any_of) if self.any_of is not None else None,
            none_of=tuple(s.build() for s in self.none_of) if self.none_of is not None else None,
        )


class ThresholdSpec(_Strict):
    """``{value, from}``: value in force from local midnight of ``from``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    value: float = Field(ge=0)
    effective_from: date | None = Field(default=None, alias="from")


class DaypartSpec(_Strict):
    """``{from: "HH:MM", to: "HH:MM"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    start: str = Field(alias="from")
    end: str = Field(alias="to")


class ApplicabilitySpec(_Strict):
    """Which channels a rule applies to."""

    media: list[Media] = Field(default_factory=lambda: list(Media))
    flags: list[str] = Field(default_factory=list)
    not_flags: list[str] = Field(default_factory=list)


class RuleSpec(_Strict):
    """One rule as written in YAML."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    type: RuleType
    title: str
    legal_ref: str
    sanction: str = ""
    risk: RiskDegree | None = None
    note: str = ""
    severity: Severity = Severity.WARNING
    verified: bool = True
    enabled: bool | None = None
    applies_to: ApplicabilitySpec = Field(default_factory=ApplicabilitySpec)
    grid: Literal["hour", "six_hour", "day", "week"]
    week_start: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    day_start: str = "00:00"
    daypart: DaypartSpec | None = None
    thresholds: list[ThresholdSpec] = Field(default_factory=list)
    transitional: TransitionalPolicy = TransitionalPolicy.STRICTEST
    numerator: SelectorSpec = Field(default_factory=SelectorSpec)
    weight: Weight = Weight.ONE
    base: SelectorSpec = Field(default_factory=SelectorSpec)
    unknown: SelectorSpec | None = None
    select: SelectorSpec = Field(default_factory=SelectorSpec)
    dates: Literal["mourning"] | list[date] = Field(default_factory=list)
    between_parts_of: SelectorSpec | None = None
    critical_ratio: float = Field(default=0.9, gt=0, le=1)
    margin_s: float = Field(default=120.0, ge=0)

    def build(self) -> Rule:
        """Return the core rule (raises ``ValueError`` on inconsistent settings)."""
        daypart = Daypart.parse(self.daypart.start, self.daypart.end) if self.daypart else None
        scheme = Scheme(
            Grid(self.grid),
            week_start=WEEKDAYS.index(self.week_start),
            day_start=parse_clock(self.day_start),
            daypart=daypart,
        )
        return Rule(
            id=self.id,
            type=self.type,
            title=self.title,
            legal_ref=self.legal_ref,
            scheme=scheme,
            severity=self.severity,
            verified=self.verified,
            enabled=self.verified if self.enabled is None else self.enabled,
            applies_to=Applicability(
                media=frozenset(self.applies_to.media),
                flags=frozenset(self.applies_to.flags),
                not_flags=frozenset(self.applies_to.not_flags),
            ),
            thresholds=tuple(Threshold(t.value, t.effective_from) for t in self.thresholds),
            transitional=self.transitional,
            numerator=self.numerator.build(),
            weight=self.weight,
            base=self.base.build(),
            unknown=self.unknown.build() if self.unknown is not None else None,
            select=self.select.build(),
            dates=self.dates if isinstance(self.dates, str) else tuple(self.dates),
            between_parts_of=(
                self.between_parts_of.build() if self.between_parts_of is not None else None
            ),
            critical_ratio=self.critical_ratio,
            margin_s=self.margin_s,
            sanction=self.sanction,
            risk=self.risk,
            note=self.note,
        )


class PackSpec(_Strict):
    """A pack file."""

    pack: str
    version: str
    title: str
    extends: str | None = None
    selectors: dict[str, Any] = Field(default_factory=dict, description="YAML anchors only")
    rules: list[dict[str, Any]] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RulePack:
    """A loaded pack: its name, version, title and rules (in file order)."""

    name: str
    version: str
    title: str
    rules: tuple[Rule, ...]
    #: The thresholds are not the pack's own: ``as_of`` (ISO date) and/or
    #: ``overrides`` (rule id to value), see :func:`efir.core.rules.what_if`.
    what_if: dict[str, Any] | None = None

    def under(
        self, *, as_of: date | None = None, overrides: dict[str, float] | None = None
    ) -> RulePack:
        """This pack judged under the thresholds in force on ``as_of`` and/or ``overrides``."""
        if as_of is None and not overrides:
            return self
        return replace(
            self,
            rules=what_if(self.rules, as_of=as_of, overrides=overrides),
            what_if={
                "as_of": None if as_of is None else as_of.isoformat(),
                "overrides": dict(overrides or {}),
            },
        )

    def rule(self, rule_id: str) -> Rule:
        """Return the rule with ``rule_id`` (``KeyError`` if absent)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def available_packs() -> list[str]:
    """Names of the packs shipped in the package."""
    root = resources.files("efir.rulepacks")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_pack(name_or_path: str) -> RulePack:
    """Load a shipped pack by name or a pack file by path.

    Raises:
        PackError: unreadable file, bad YAML, or an invalid field (named).
    """
    hit = _LOADED.get(name_or_path)
    if hit is not None and all(_stamp(path) == stamp for path, stamp in hit[0]):
        return hit[1]
    files: list[str] = []
    specs, meta = _load_specs(name_or_path, 0, files)
    rules: list[Rule] = []
    for spec_data in specs:
        where = f"{meta.pack}: rule {spec_data.get('id', '?')}"
        try:
            rules.append(RuleSpec.model_validate(spec_data).build())
        except ValidationError as exc:
            raise PackError(_describe(where, exc)) from None
        except ValueError as exc:
            msg = f"{where}: {exc}"
            raise PackError(msg) from None
    pack = RulePack(meta.pack, meta.version, meta.title, tuple(rules))
    _LOADED[name_or_path] = (tuple((f, _stamp(f)) for f in files), pack)
    return pack


#: Packs loaded, with the files read for each and their stamps when read: every
#: channel names a pack, and a configuration of 300 channels validated it 300
#: times (seconds of start-up). A pack file changed since is read again.
_LOADED: dict[str, tuple[tuple[tuple[str, tuple[int, int] | None], ...], RulePack]] = {}


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _read(name_or_path: str, files: list[str]) -> tuple[str, str]:
    if name_or_path in available_packs():
        text = resources.files("efir.rulepacks").joinpath(f"{name_or_path}.yaml").read_text("utf-8")
        return name_or_path, text
    path = Path(name_or_path)
    if not path.is_file():
        msg = (
            f"rule pack {name_or_path!r} is neither a shipped pack "
            f"({', '.join(available_packs())}) nor a readable file"
        )
        raise PackError(msg)
    files.append(str(path))
    return str(path), path.read_text("utf-8")


def _load_specs(
    name_or_path: str, depth: int, files: list[str]
) -> tuple[list[dict[str, Any]], PackSpec]:
    if depth > _MAX_EXTENDS_DEPTH:
        msg = f"{name_or_path}: 'extends' nests deeper than {_MAX_EXTENDS_DEPTH} levels"
        raise PackError(msg)
    where, text = _read(name_or_path, files)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{where}: not valid YAML: {exc}"
        raise PackError(msg) from None
    try:
        meta = PackSpec.model_validate(data)
    except ValidationError as exc:
        raise PackError(_describe(where, exc)) from None
    if meta.extends is None:
        return [dict(r) for r in meta.rules], meta
    parent, _ = _load_specs(meta.extends, depth + 1, files)
    merged = {r["id"]: r for r in parent}
    for rule in meta.rules:
        rule_id = rule.get("id")
        if rule_id in merged:
            merged[rule_id] = {**merged[rule_id], **rule}
        else:
            merged[str(rule_id)] = dict(rule)
    return list(merged.values()), meta


def _describe(where: str, exc: ValidationError) -> str:
    lines = [f"{where}: invalid"]
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)
