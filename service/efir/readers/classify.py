"""Classification: what a record is, when the log does not say (``--classify FILE``).

Logs rarely say an item's kind, language or origin. A YAML file of rules
fills them in::

    default: {kind: program}          # for records that give no kind
    rules:                            # first match wins; sets only fields the record lacks
      - when: {house_id: {prefix: COM}}
        set: {kind: advertising}
      - when: {raw.SpotType: {equals: NM}}
        set: {kind: advertising, language: kk}
      - when: {any: {regex: '(?i)commercial'}}   # any text field of the record
        set: {kind: advertising}

A condition names a canonical field (``house_id``, ``title`` ...), a source
field (``raw.<name>``) or ``any`` (every text field, canonical and raw), and
one operator: ``equals``, ``in`` (a list), ``prefix`` or ``regex`` (Python
syntax, searched). All conditions of a rule must hold. The first rule that
matches sets the fields the record lacks; ``default`` then fills what is
still missing. Counts per rule and for the default are kept for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from efir.core.errors import InputError
from efir.core.event import INHERITABLE
from efir.readers.base import Record, problems
from efir.schema.asrun import MAX_DEPTH, MAX_PAYLOAD_BYTES, nesting

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from efir.core.catalogue import Catalogue, Entry

#: Fields a rule may set: what an item is (the event's inheritable attributes),
#: not which item it is (its house number, title, artist, ISRC).
SETTABLE = frozenset(INHERITABLE) - {"house_id", "title", "artist", "isrc"}


_DECODE = msgspec.json.Decoder().decode
_ENCODE = msgspec.json.Encoder().encode


class ClassifyError(InputError):
    """The classification file cannot be used; the message names the rule and field."""


class _Test(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equals: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")
    prefix: str | None = None
    regex: str | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                msg = f"not a regular expression: {exc}"
                raise ValueError(msg) from None
        return value


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: Annotated[dict[str, _Test], Field(min_length=1)]
    set: Annotated[dict[str, Any], Field(min_length=1)]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    default: dict[str, Any] = {}
    rules: list[_Rule] = []


@dataclass(frozen=True, slots=True)
class _Condition:
    name: str  # canonical field, ``raw.<name>`` or ``any``
    test: Any  # a compiled predicate over one text

    def holds(self, record: Record) -> bool:
        if self.name == "any":
            texts = [v for v in record.fields.values() if isinstance(v, str)]
            texts.extend(record.raw.values())
            return any(self.test(t) for t in texts)
        if self.name.startswith("raw."):
            value = record.raw.get(self.name[4:])
        else:
            value = record.fields.get(self.name)
        return isinstance(value, str) and self.test(value)


def _predicate(test: _Test, where: str) -> Any:
    given = [k for k in ("equals", "in_", "prefix", "regex") if getattr(test, k) is not None]
    if len(given) != 1:
        msg = f"{where}: give exactly one of equals, in, prefix, regex"
        raise ClassifyError(msg)
    if test.equals is not None:
        wanted = test.equals
        return lambda text: text == wanted
    if test.in_ is not None:
        options = frozenset(test.in_)
        return lambda text: text in options
    if test.prefix is not None:
        start = test.prefix
        return lambda text: text.startswith(start)
    pattern = re.compile(test.regex or "")
    return lambda text: pattern.search(text) is not None


@dataclass
class Classifier:
    """Compiled rules and their counts (records classified by each rule, by the default)."""

    rules: list[tuple[list[_Condition], dict[str, Any]]]
    default: dict[str, Any]
    described: list[dict[str, Any]]
    counts: list[int] = field(default_factory=list)
    defaulted: int = 0

    def apply(self, record: Record) -> None:
        """Fill in the fields ``record`` lacks: the first matching rule's, then the default's."""
        fields = record.fields
        for i, (conditions, sets) in enumerate(self.rules):
            if all(c.holds(record) for c in conditions):
                if _fill(fields, sets):
                    self.counts[i] += 1
                break
        if self.default and _fill(fields, self.default):
            self.defaulted += 1

    def report(self) -> dict[str, Any]:
        """Records classified per rule and by the default (the report's ``classification``)."""
        return {
            "rules": [
                {**described, "records": n}
                for described, n in zip(self.described, self.counts, strict=True)
            ],
            "default": {"set": self.default, "records": self.defaulted},
        }


def classify_payload(classifiers: Mapping[str, Classifier], payload: bytes) -> bytes:
    """A live ``efir.asrun/1`` payload with what it lacks filled in by its channel's rules.

    ``classifiers`` maps a channel id to its classification; the payload's
    ``channel`` picks one.
    Only a ``start`` or ``complete`` is classified: the other phases inherit
    what the item is from its earlier versions, and a default filled into an
    ``end`` would overwrite it. ``raw.<name>`` conditions look at the
    payload's ``raw`` object. A payload that is not a JSON object within the
    size limit, or that no rule changes, is returned as it is (validation
    then says what is wrong with it).
    """
    return enrich_payload(payload, classifiers=classifiers).payload


@dataclass(frozen=True, slots=True)
class Enriched:
    """A payload after :func:`enrich_payload`: the bytes, and the catalogue entry that filled in."""

    payload: bytes
    entry: Entry | None = None
    filled: tuple[str, ...] = ()


def enrich_payload(
    payload: bytes,
    *,
    catalogue: Catalogue | None = None,
    classifiers: Mapping[str, Classifier] | None = None,
) -> Enriched:
    """``payload`` with what it lacks filled in: by the catalogue first, then the channel's rules.

    Decoded once and encoded again only when something was filled in; a
    payload that is not a JSON object within the limits comes back as it is
    (validation says what is wrong with it). Both apply to ``start`` and
    ``complete`` versions only (see :func:`classify_payload`).
    """
    if not (catalogue is not None and len(catalogue)) and not classifiers:
        return Enriched(payload)
    if len(payload) > MAX_PAYLOAD_BYTES or nesting(payload) > MAX_DEPTH:
        return Enriched(payload)
    try:
        doc = _DECODE(payload)
    except (msgspec.DecodeError, RecursionError):
        return Enriched(payload)
    if not isinstance(doc, dict) or doc.get("phase", "complete") not in {"start", "complete"}:
        return Enriched(payload)
    entry, filled = (None, []) if catalogue is None else catalogue.fill(doc)
    classified = _classify(classifiers or {}, doc)
    if not filled and classified is None:
        return Enriched(payload)
    return Enriched(_ENCODE(classified if classified is not None else doc), entry, tuple(filled))


def _classify(classifiers: Mapping[str, Classifier], doc: dict[str, Any]) -> dict[str, Any] | None:
    """``doc`` classified by its channel's rules, or ``None`` when they change nothing."""
    if doc.get("phase") not in {"start", "complete"}:
        return None
    classifier = classifiers.get(doc.get("channel"))  # type: ignore[arg-type]
    if classifier is None:
        return None
    given = doc.get("raw")
    raw = (
        {str(k): v for k, v in given.items() if isinstance(v, str)}
        if isinstance(given, dict)
        else {}
    )
    fields = {k: v for k, v in doc.items() if k != "raw"}
    record = Record(dict(fields), raw, 0)
    classifier.apply(record)
    if record.fields == fields:
        return None
    return {**record.fields, **({"raw": given} if "raw" in doc else {})}


def _fill(fields: dict[str, Any], sets: dict[str, Any]) -> bool:
    changed = False
    for name, value in sets.items():
        if fields.get(name) is None:
            fields[name] = value
            changed = True
    return changed


def load_classifier(path: Path, option: str = "--classify") -> Classifier:
    """Read and check a classification file (``option`` starts each message).

    Raises:
        ClassifyError: unreadable, not YAML, or a rule that cannot work (the
            message names the rule and field).
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        msg = f"{option}: cannot read {path}: {exc.strerror or exc}"
        raise ClassifyError(msg) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        msg = f"{option}: {path} is not valid YAML{where}"
        raise ClassifyError(msg) from None
    return build_classifier(data, f"{option}: {path}")


def build_classifier(data: object, where: str) -> Classifier:
    """Check classification rules already parsed (a file's YAML, a channel's ``classify:``).

    ``where`` starts each message (``--classify: FILE``, ``channels[0].classify``).

    Raises:
        ClassifyError: a rule that cannot work (the message names the rule and field).
    """
    try:
        parsed = _File.model_validate(data or {})
    except ValidationError as exc:
        msg = f"{where}: {problems(exc)}"
        raise ClassifyError(msg) from None
    rules = []
    for i, rule in enumerate(parsed.rules, start=1):
        bad = sorted(set(rule.set) - SETTABLE)
        if bad:
            msg = f"{where}: rule {i} sets {bad}; a rule sets only {sorted(SETTABLE)}"
            raise ClassifyError(msg)
        conditions = [
            _Condition(name, _predicate(test, f"{where}: rule {i}, {name}"))
            for name, test in rule.when.items()
        ]
        rules.append((conditions, dict(rule.set)))
    bad = sorted(set(parsed.default) - SETTABLE)
    if bad:
        msg = f"{where}: default sets {bad}; it sets only {sorted(SETTABLE)}"
        raise ClassifyError(msg)
    described = [rule.model_dump(by_alias=True, exclude_none=True) for rule in parsed.rules]
    return Classifier(rules, dict(parsed.default), described, [0] * len(rules))
