"""The one base of every configuration section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A configuration section: unknown keys are errors, values are immutable once loaded.

    A misspelt key is refused rather than ignored, so a setting never
    silently falls back to its default.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
