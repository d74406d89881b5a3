"""Rules: what the law asks of a channel, as data (DESIGN section 4).

Rule types:

* ``min_share`` / ``max_share``: seconds of a numerator selector over seconds
  of a base selector, per window of a scheme, against a threshold.
* ``min_count``: number of aired items matching a selector that *start*
  inside each window (optionally clipped to a daypart).
* ``forbidden``: an item matching a selector inside the scheme's windows
  (optionally only on listed dates, or only between two parts of one
  protected programme) is a violation the moment it airs.

Thresholds are effective-dated. A window spanning a change is
``transitional`` and uses, by policy, the strictest value in force during
the window (default), the value at its start, or at its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from efir.core.selector import ANY, Selector, Weight, weight_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from datetime import date

    from efir.core.calendar import Scheme
    from efir.core.profile import Profile


class RuleType(StrEnum):
    """Kinds of rule."""

    MIN_SHARE = "min_share"
    MAX_SHARE = "max_share"
    MIN_COUNT = "min_count"
    FORBIDDEN = "forbidden"


class Severity(StrEnum):
    """How serious a breach is (drives alert severity later)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class RiskDegree(StrEnum):
    """How a breach weighs in the state's risk criteria (a self-assessment, per rule).

    One ``gross`` breach puts a broadcaster at the top degree of risk;
    ``major`` and ``minor`` breaches are weighted by how many of the
    requirements of that degree were breached (``efir.reports.risk``).
    """

    GROSS = "gross"
    MAJOR = "major"
    MINOR = "minor"


class TransitionalPolicy(StrEnum):
    """Which threshold a window spanning a threshold change uses."""

    STRICTEST = "strictest"
    START = "start"
    END = "end"


class Media(StrEnum):
    """Channel media."""

    TV = "tv"
    RADIO = "radio"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A threshold value in force from local midnight of ``effective_from`` (``None`` = always)."""

    value: float
    effective_from: date | None = None


@dataclass(frozen=True, slots=True)
class Applicability:
    """Which channels a rule applies to."""

    media: frozenset[Media] = frozenset(Media)
    flags: frozenset[str] = frozenset()
    not_flags: frozenset[str] = frozenset()

    def covers(self, media: Media, flags: frozenset[str]) -> bool:
        """Return whether a channel of ``media`` with ``flags`` is subject to the rule."""
        return media in self.media and self.flags <= flags and self.not_flags.isdisjoint(flags)


@dataclass(frozen=True, slots=True)
class ShareWeights:
    """Per-profile weights of a share rule: numerator (0..1), base and unknown (0 or 1)."""

    numerator: float
    base: float
    unknown: float


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule of a rule pack. See the module docstring for the types.

    Attributes:
        id: stable identifier (``lang_6h``).
        type: rule type.
        title: one-line human title.
        legal_ref: legal source (article and law).
        severity: severity of a breach.
        verified: whether the legal text was confirmed; unverified rules are
            disabled unless explicitly enabled.
        enabled: whether the rule is evaluated by default.
        applies_to: which channels the rule applies to.
        scheme: window scheme (all types).
        thresholds: effective-dated thresholds, oldest first (share, or item count).
        transitional: policy for windows spanning a threshold change.
        numerator: share numerator selector (intersected with ``base``).
        weight: numerator weight (``kazakh_share`` for language rules).
        base: share base selector.
        unknown: base items whose deciding attribute is unknown (reported as ``unknown_s``).
        select: items counted (``min_count``) or forbidden (``forbidden``).
        dates: ``forbidden`` only on these local dates; the string ``"mourning"``
            means the channel's configured mourning dates.
        between_parts_of: ``forbidden`` only between two parts of the same
            programme matching this selector (same ``house_id``, else same title).
        critical_ratio: ``min_share`` status turns ``critical`` above this needed/remaining ratio.
        margin_s: ``max_share`` turns ``at_risk`` when the budget falls below this
            (seconds); ``min_count`` turns ``at_risk`` when less than this remains.
        sanction: penalty text (Administrative Code article), informative.
        note: interpretation notes and open ambiguities.
        risk: the breach's degree in the risk criteria (``None``: not rated).
    """

    id: str
    type: RuleType
    title: str
    legal_ref: str
    scheme: Scheme
    severity: Severity = Severity.WARNING
    verified: bool = True
    enabled: bool = True
    applies_to: Applicability = field(default_factory=Applicability)
    thresholds: tuple[Threshold, ...] = ()
    transitional: TransitionalPolicy = TransitionalPolicy.STRICTEST
    numerator: Selector = ANY
    weight: Weight = Weight.ONE
    base: Selector = ANY
    unknown: Selector | None = None
    select: Selector = ANY
    dates: tuple[date, ...] | str = ()
    between_parts_of: Selector | None = None
    critical_ratio: float = 0.9
    margin_s: float = 120.0
    sanction: str = ""
    note: str = ""
    risk: RiskDegree | None = None

    def __post_init__(self) -> None:
        """Validate type-specific requirements."""
        needs_threshold = self.type is not RuleType.FORBIDDEN
        if needs_threshold and not self.thresholds:
            msg = f"rule {self.id}: {self.type} needs at least one threshold"
            raise ValueError(msg)
        dated = [t.effective_from for t in self.thresholds]
        if any(d is None for d in dated[1:]):
            msg = f"rule {self.id}: only the first threshold may lack effective_from"
            raise ValueError(msg)
        real = [d for d in dated if d is not None]
        if real != sorted(real) or len(set(real)) != len(real):
            msg = f"rule {self.id}: thresholds must be in increasing effective_from order"
            raise ValueError(msg)
        if not 0 < self.critical_ratio <= 1:
            msg = f"rule {self.id}: critical_ratio must be in (0, 1]"
            raise ValueError(msg)

    @property
    def is_share(self) -> bool:
        """Whether this is a ``min_share`` or ``max_share`` rule."""
        return self.type in (RuleType.MIN_SHARE, RuleType.MAX_SHARE)

    def share_weights(self, p: Profile) -> ShareWeights:
        """Return the weights of profile ``p`` for this (share) rule."""
        base = 1.0 if self.base.matches(p) else 0.0
        num = weight_of(self.weight, p) * base if self.numerator.matches(p) else 0.0
        unknown = base if self.unknown is not None and self.unknown.matches(p) else 0.0
        return ShareWeights(num, base, unknown)

    def threshold_for(
        self, start_us: int, end_us: int, midnight_us: Callable[[date], int]
    ) -> tuple[float | None, bool]:
        """Return ``(threshold, transitional)`` for the window ``[start_us, end_us)``.

        ``midnight_us`` resolves an effective date to the instant of its local
        midnight in the channel's zone. ``None`` when no threshold is in force.
        """
        in_force: list[float] = []
        for t in self.thresholds:
            begins = midnight_us(t.effective_from) if t.effective_from is not None else None
            if begins is None or begins <= start_us:
                in_force = [t.value]
            elif begins < end_us:
                in_force.append(t.value)
        if not in_force:
            return None, False
        transitional = len(set(in_force)) > 1
        if self.transitional is TransitionalPolicy.START:
            return in_force[0], transitional
        if self.transitional is TransitionalPolicy.END:
            return in_force[-1], transitional
        strict = min(in_force) if self.type is RuleType.MAX_SHARE else max(in_force)
        return strict, transitional


def threshold_on(rule: Rule, day: date) -> float | None:
    """The threshold of ``rule`` in force on the local date ``day`` (``None``: none yet)."""
    value = None
    for t in rule.thresholds:
        if t.effective_from is None or t.effective_from <= day:
            value = t.value
    return value


def what_if(
    rules: Iterable[Rule],
    *,
    as_of: date | None = None,
    overrides: Mapping[str, float] | None = None,
) -> tuple[Rule, ...]:
    """``rules`` judged under other thresholds: the what-if of a change in the law.

    ``as_of``: every rule keeps the one threshold in force on that date, for
    every window (``efir audit --as-of 2027-01-01``: last month under the
    2027 thresholds); a rule with no threshold in force yet on that date is
    left out (it was not law then). ``overrides``: rule id to threshold,
    applied instead. Rules without thresholds (item rules) are unchanged.
    """
    out = []
    for rule in rules:
        if overrides and rule.id in overrides:
            rule = replace(rule, thresholds=(Threshold(overrides[rule.id]),))  # noqa: PLW2901 - the rule, revised
        elif as_of is not None and rule.thresholds:
            value = threshold_on(rule, as_of)
            if value is None:
                continue
            rule = replace(rule, thresholds=(Threshold(value),))  # noqa: PLW2901
        out.append(rule)
    return tuple(out)
