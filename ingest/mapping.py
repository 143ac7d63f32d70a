"""The importer mapping file (`<raw>/mapping.yaml`): which of the user's columns and event types mean what.

Validated with pydantic (unknown keys rejected) so that a typo fails at start-up with its name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingest.errors import InputError, Problem


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


M = TypeVar("M", bound=_Model)


class SubscriptionColumns(_Model):
    """Your column names. Optional ones left out are derived (see docs/bring_your_own_data.md)."""

    account_id: str
    start_date: str
    end_date: str  # empty value = still running
    mrr: str
    seats: str  # quantity or seats
    plan: str
    segment: str | None = None
    account_name: str | None = None
    contract_type: str | None = None
    owner: str | None = None


class SubscriptionsSource(_Model):
    file: str = "subscriptions"  # file stem in the raw directory (.csv, .parquet or .jsonl)
    columns: SubscriptionColumns
    segment_values: dict[str, str] = Field(default_factory=dict)  # your segment label -> contract segment
    # Without a segment column: MRR at or above these thresholds makes mid_market / enterprise.
    segment_by_mrr: dict[str, float] = Field(
        default_factory=lambda: {"mid_market": 1000.0, "enterprise": 10000.0}
    )
    contract_type_values: dict[str, str] = Field(default_factory=dict)  # e.g. {yearly: annual}


class EventColumns(_Model):
    account_id: str
    user_id: str
    timestamp: str
    event_type: str


class EventsSource(_Model):
    file: str = "events"
    columns: EventColumns


class RecordTarget(_Model):
    object_type: str
    action: str


class EventTypes(_Model):
    """Event type -> log. Every event type in the data must be mapped or listed under `ignore`."""

    login: tuple[str, ...] = ()
    record: dict[str, RecordTarget] = Field(default_factory=dict)
    feature: dict[str, str] = Field(default_factory=dict)  # event type -> feature name
    ignore: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _each_type_once(self) -> EventTypes:
        seen: dict[str, str] = {}
        for section, names in [
            ("login", self.login),
            ("record", self.record),
            ("feature", self.feature),
            ("ignore", self.ignore),
        ]:
            for name in names:
                if name in seen:
                    raise ValueError(f"event type '{name}' is under both '{seen[name]}' and '{section}'")
                seen[name] = section
        return self


class SubscriptionsMapping(_Model):
    subscriptions: SubscriptionsSource
    events: EventsSource
    event_types: EventTypes


class SegmentSource(_Model):
    """A Segment-style export: track and group calls in one file (with `type`) or in two files."""

    file: str | None = "segment"  # one file holding both, told apart by the `type` field
    tracks: str | None = None  # or: file stem of track calls ...
    groups: str | None = None  # ... and of group calls


class SegmentMapping(_Model):
    segment: SegmentSource = SegmentSource()
    # Accounts from a contract accounts file (default) or derived from a subscriptions table.
    accounts: str | None = "accounts"
    subscriptions: SubscriptionsSource | None = None
    event_types: EventTypes

    @model_validator(mode="after")
    def _one_account_source(self) -> SegmentMapping:
        if self.subscriptions is not None and self.accounts == "accounts":
            return self.model_copy(update={"accounts": None})
        return self


def load_mapping(path: Path, model: type[M]) -> M:
    """Read and validate a mapping file; a missing file or a bad key is an InputError naming it."""
    if not path.is_file():
        raise InputError([Problem(str(path), None, "mapping file not found (the importer needs one)")])
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return model.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        first = str(exc).strip().splitlines()
        raise InputError([Problem(path.name, None, " ".join(line.strip() for line in first[:6]))]) from exc
