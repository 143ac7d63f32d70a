"""The feature registry: every feature column with its family, a plain-words description and a unit.

Names are templates over the configurable lists (windows, core features, object types), so
`feature_specs(cfg)` lists the columns in the order `build_features` returns them, and `describe` also
recognises names built from non-default settings (for example `logins_count_14d`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pipeline.config import Featurize

Family = Literal["account", "logins", "records", "adoption", "rates"]
DType = Literal["int64", "float64", "string"]
# Which way a feature is healthy: "high" (more logins), "low" (more days since the last login), or None
# where practice gives no prior (segment, ARR, days to renewal, deletes). Training can hold the model to
# it (`train.monotone`), so that a reason never reads "fell 100%" as lowering the risk.
HealthyWhen = Literal["high", "low"] | None

HEALTHY_WINDOW_DAYS = 28  # "healthy user": at least N login days in the last 28
MAU_WINDOW_DAYS = 30  # DAU/MAU stickiness uses a 30-day month
ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class FeatureSpec:
    """One feature column: what a customer-success manager would read in a risk list's reasons."""

    name: str
    family: Family
    description: str
    unit: str
    dtype: DType = "float64"
    healthy_when: HealthyWhen = None
    missing: str = "no data"  # what an empty value means, in the reasons' words
    compared: bool = True  # whether reasons say where the value stands among the accounts
    # a fact about the account or its contract (segment, ARR, days to renewal), not its behaviour: the
    # risk list names it under "context", and keeps the reasons for what a CS manager can act on
    context: bool = False


@dataclass(frozen=True)
class _Template:
    name: str  # may contain {w}, {t}, {core}, {type}, {action}
    family: Family
    description: str
    unit: str
    dtype: DType
    healthy_when: HealthyWhen
    over: tuple[str, ...] = ()  # which placeholders the template expands over
    missing: str = "no data"
    compared: bool = True
    context: bool = False


@dataclass(frozen=True)
class Settings:
    """The parts of the featurize config that feature names depend on."""

    windows: tuple[int, ...] = (7, 30, 90)
    trend_days: int = 30
    core_features: tuple[str, ...] = ("dashboards", "reports", "workflows", "integrations")
    object_types: tuple[str, ...] = ("contacts", "companies", "opportunities", "tasks", "notes", "reports")
    object_type_windows: tuple[int, ...] = (30,)

    @classmethod
    def of(cls, cfg: Featurize | Settings) -> Settings:
        return cls(
            windows=tuple(cfg.windows),
            trend_days=cfg.trend_days,
            core_features=tuple(cfg.core_features),
            object_types=tuple(cfg.object_types),
            object_type_windows=tuple(cfg.object_type_windows),
        )

    @property
    def max_window(self) -> int:
        return max(self.windows)


def _t(
    name: str,
    family: Family,
    description: str,
    unit: str,
    dtype: DType,
    healthy_when: HealthyWhen,
    *over: str,
    missing: str = "no data",
    compared: bool = True,
    context: bool = False,
) -> _Template:
    return _Template(name, family, description, unit, dtype, healthy_when, over, missing, compared, context)


# Order here is column order in the feature table. {w} = each window, {t} = trend_days,
# {m} = the largest window, {o} = each of object_type_windows.
TEMPLATES: tuple[_Template, ...] = (
    _t("tenure_days", "account", "Days since the contract started", "days", "int64", None, context=True),
    _t(
        "segment",
        "account",
        "Customer segment (enterprise, mid-market, SMB)",
        "category",
        "string",
        None,
        context=True,
    ),
    _t("plan", "account", "Subscription plan", "category", "string", None, context=True),
    _t(
        "contract_type",
        "account",
        "Contract type (monthly or annual)",
        "category",
        "string",
        None,
        context=True,
    ),
    _t("seats", "account", "Licensed seats", "count", "int64", None, context=True),
    _t("mrr", "account", "Monthly recurring revenue", "currency", "float64", None, context=True),
    _t("arr", "account", "Annual recurring revenue (12 x MRR)", "currency", "float64", None, context=True),
    _t(
        "mrr_per_seat",
        "account",
        "Monthly revenue per licensed seat",
        "currency",
        "float64",
        None,
        context=True,
    ),
    # a date on the calendar: 'near the median of accounts' would say nothing about the account
    _t(
        "days_to_renewal",
        "account",
        "Days until the next contract renewal",
        "days",
        "int64",
        None,
        compared=False,
        context=True,
    ),
    _t(
        "seats_change_90d",
        "account",
        "Change in licensed seats over the last 90 days",
        "count",
        "float64",
        "high",
    ),
    _t(
        "mrr_change_pct_90d",
        "account",
        "Monthly revenue against 90 days before",
        "percent change",
        "float64",
        "high",
    ),
    _t("logins_count_{w}d", "logins", "Logins in the last {w} days", "count", "int64", "high", "w"),
    _t(
        "login_days_distinct_{w}d",
        "logins",
        "Days with at least one login, last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "active_users_distinct_{w}d",
        "logins",
        "Users who logged in during the last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "active_users_ratio_{w}d",
        "logins",
        "Share of licensed seats whose users logged in during the last {w} days",
        "ratio",
        "float64",
        "high",
        "w",
    ),
    _t("users_activated_count", "logins", "Users who have ever logged in", "count", "int64", "high"),
    _t(
        "seats_activated_ratio",
        "logins",
        # not a share: with people leaving and joining, a third of the sample's accounts have had more
        # users than seats ('Share of seats activated: 113%' read as an error)
        "Users who have ever logged in, per licensed seat",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "stickiness_dau_mau_30d",
        "logins",
        "Stickiness: average daily active users over monthly active users (30 days)",
        "ratio",
        "float64",
        "high",
        missing="no active users in the last 30 days",
    ),
    _t(
        "healthy_users_count_28d",
        "logins",
        "Users who logged in on enough days of the last 28 to count as healthy",
        "count",
        "int64",
        "high",
    ),
    _t(
        "healthy_users_share_28d",
        "logins",
        "Share of the last 28 days' active users who are healthy",
        "ratio",
        "float64",
        "high",
        missing="no active users in the last 28 days",
    ),
    _t(
        "days_since_last_login",
        "logins",
        "Days since anyone last logged in",
        "days",
        "float64",
        "low",
        missing="no login ever",
    ),
    _t(
        "logins_change_pct_{t}d",
        "logins",
        "Logins in the last {t} days against the {t} days before",
        "percent change",
        "float64",
        "high",
        missing="no logins in the {t} days before",
    ),
    _t(
        "active_users_change_pct_{t}d",
        "logins",
        "Active users in the last {t} days against the {t} days before",
        "percent change",
        "float64",
        "high",
        missing="no active users in the {t} days before",
    ),
    _t(
        "weekend_logins_share_{m}d",
        "logins",
        "Share of logins on weekends, last {m} days",
        "ratio",
        "float64",
        None,
        missing="no logins in the last {m} days",
    ),
    _t(
        "records_{action}_count_{w}d",
        "records",
        "Records {action}d in the last {w} days",
        "count",
        "int64",
        "high",
        "action",
        "w",
    ),
    _t(
        "records_net_created_{w}d",
        "records",
        "Net records created (created minus deleted), last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "record_editors_distinct_{w}d",
        "records",
        "Users who created, updated or deleted records in the last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "records_{type}_{action}_count_{o}d",
        "records",
        "{type_words} records {action}d in the last {o} days",
        "count",
        "int64",
        "high",
        "type",
        "action",
        "o",
    ),
    _t(
        "days_since_last_record_event",
        "records",
        "Days since anyone last changed a record",
        "days",
        "float64",
        "low",
        missing="no record changed ever",
    ),
    _t(
        "records_change_pct_{t}d",
        "records",
        "Record activity in the last {t} days against the {t} days before",
        "percent change",
        "float64",
        "high",
        missing="no record changes in the {t} days before",
    ),
    _t(
        "features_used_distinct_{w}d",
        "adoption",
        "Different product features used in the last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "feature_events_count_{w}d",
        "adoption",
        "Feature uses in the last {w} days",
        "count",
        "int64",
        "high",
        "w",
    ),
    _t(
        "feature_{core}_uses_{w}d",
        "adoption",
        "Uses of the {core_words} feature in the last {w} days",
        "count",
        "int64",
        "high",
        "core",
        "w",
    ),
    _t(
        "core_features_used_distinct_{t}d",
        "adoption",
        "Core features used in the last {t} days",
        "count",
        "int64",
        "high",
    ),
    _t(
        "features_adopted_count", "adoption", "Different product features ever used", "count", "int64", "high"
    ),
    _t(
        "features_adopted_new_{t}d",
        "adoption",
        "Features used for the first time in the last {t} days",
        "count",
        "int64",
        "high",
    ),
    _t(
        "features_abandoned_{t}d",
        "adoption",
        "Features used in the {t} days before the last {t} but not since",
        "count",
        "int64",
        "low",
    ),
    _t(
        "days_to_first_{core}",
        "adoption",
        "Days from contract start to the first use of {core_words} (time to value)",
        "days",
        "float64",
        "low",
        "core",
        missing="not used yet",
    ),
    _t(
        "days_since_last_feature_event",
        "adoption",
        "Days since anyone last used a feature",
        "days",
        "float64",
        "low",
        missing="no feature used ever",
    ),
    _t(
        "feature_events_change_pct_{t}d",
        "adoption",
        "Feature use in the last {t} days against the {t} days before",
        "percent change",
        "float64",
        "high",
        missing="no feature use in the {t} days before",
    ),
    _t(
        "logins_per_day_{m}d",
        "rates",
        "Logins per day over the last {m} days, or since the start for younger accounts",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "login_days_share_{m}d",
        "rates",
        "Share of days with a login over the last {m} days, or since the start for younger accounts",
        "ratio",
        "float64",
        "high",
    ),
    _t(
        "records_per_day_{m}d",
        "rates",
        "Record changes per day over the last {m} days, or since the start for younger accounts",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "feature_events_per_day_{m}d",
        "rates",
        "Feature uses per day over the last {m} days, or since the start for younger accounts",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "logins_per_day_lifetime",
        "rates",
        "Logins per day since the contract started",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "records_per_day_lifetime",
        "rates",
        "Record changes per day since the contract started",
        "rate",
        "float64",
        "high",
    ),
    _t(
        "feature_events_per_day_lifetime",
        "rates",
        "Feature uses per day since the contract started",
        "rate",
        "float64",
        "high",
    ),
)


def _words(token: str) -> str:
    return token.replace("_", " ")


def _expand(template: _Template, s: Settings) -> list[FeatureSpec]:
    choices = {
        "w": [{"w": w} for w in s.windows],
        "action": [{"action": a} for a in ACTIONS],
        "core": [{"core": c, "core_words": _words(c)} for c in s.core_features],
        "type": [{"type": o, "type_words": _words(o).capitalize()} for o in s.object_types],
        "o": [{"o": o} for o in s.object_type_windows],
    }
    combos: list[dict[str, object]] = [{"t": s.trend_days, "m": s.max_window}]
    for key in template.over:
        combos = [{**base, **extra} for base in combos for extra in choices[key]]
    return [_spec(template, template.name.format(**c), c) for c in combos]


def _spec(template: _Template, name: str, fill: dict[str, object]) -> FeatureSpec:
    """The column `name` of `template`, its words filled from `fill` (window, core feature, action, ...).

    The direction is the template's, except for deletes: clearing out old records is as much a sign of
    use as of leaving, so a count of deletes has no prior direction.
    """
    return FeatureSpec(
        name,
        template.family,
        template.description.format(**fill),
        template.unit,
        template.dtype,
        None if fill.get("action") == "delete" else template.healthy_when,
        template.missing.format(**fill),
        template.compared,
        template.context,
    )


def feature_specs(cfg: Featurize | Settings | None = None) -> list[FeatureSpec]:
    """Every feature column for this config, in output order (defaults when `cfg` is None)."""
    settings = Settings() if cfg is None else Settings.of(cfg)
    return [spec for template in TEMPLATES for spec in _expand(template, settings)]


FEATURES: dict[str, FeatureSpec] = {spec.name: spec for spec in feature_specs()}


class AnyFeatures(Mapping[str, FeatureSpec]):
    """`describe` as a mapping: every column of any settings by name (``.get`` gives None for a column
    the registry does not know). Iterating lists the default columns, as `FEATURES` does; unlike it,
    ``featurize.windows: [14, 60]`` columns are found too."""

    def __getitem__(self, name: str) -> FeatureSpec:
        return describe(name)

    def __iter__(self) -> Iterator[str]:
        return iter(FEATURES)

    def __len__(self) -> int:
        return len(FEATURES)


@functools.cache
def describe(name: str) -> FeatureSpec:
    """The spec of a feature column; names built from non-default windows or lists are recognised too."""
    if name in FEATURES:
        return FEATURES[name]
    for template in TEMPLATES:
        match = re.fullmatch(_pattern(template.name), name)
        if match:
            values = {k: (int(v) if v.isdigit() else v) for k, v in match.groupdict().items()}
            words = {f"{k}_words": _words(str(v)) for k, v in values.items() if k in ("core", "type")}
            if "type_words" in words:
                words["type_words"] = words["type_words"].capitalize()
            return _spec(template, name, {"t": "?", "m": "?", "o": "?", "w": "?", **values, **words})
    raise KeyError(f"unknown feature column {name!r}: not in the feature registry")


def _pattern(template_name: str) -> str:
    pattern = re.escape(template_name)
    for key in ("w", "t", "m", "o"):
        pattern = pattern.replace(re.escape("{" + key + "}"), rf"(?P<{key}>\d+)", 1)
    # an action is one of ACTIONS, so "records_invoices_delete_count_30d" is an object type's count
    pattern = pattern.replace(re.escape("{action}"), rf"(?P<action>{'|'.join(ACTIONS)})", 1)
    for key in ("core", "type"):
        pattern = pattern.replace(re.escape("{" + key + "}"), rf"(?P<{key}>[a-z0-9_]+?)", 1)
    return pattern
