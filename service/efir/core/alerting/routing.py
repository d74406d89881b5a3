"""Routes: which receivers hear about which alerts.

Every route whose criteria all match sends the alert to its receiver (an
empty criterion matches everything). A receiver that is disabled (its endpoint
answered ``410 Gone``) is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from efir.core.alerting.alert import Alert


@dataclass(frozen=True, slots=True)
class Route:
    """Send alerts matching every non-empty criterion to ``receiver``."""

    receiver: str
    channels: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    alertnames: frozenset[str] = frozenset()

    def matches(self, alert: Alert) -> bool:
        """Whether ``alert`` goes to this route's receiver."""
        return (
            (not self.channels or alert.channel in self.channels)
            and (not self.rules or alert.rule in self.rules)
            and (not self.severities or alert.severity.value in self.severities)
            and (not self.alertnames or alert.alertname in self.alertnames)
        )


def receivers_for(alert: Alert, routes: tuple[Route, ...], disabled: frozenset[str]) -> list[str]:
    """The receivers ``alert`` goes to, in route order, without repeats."""
    out: list[str] = []
    for route in routes:
        if route.receiver not in out and route.receiver not in disabled and route.matches(alert):
            out.append(route.receiver)
    return out
