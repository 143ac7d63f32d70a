"""The input data contract: one accounts table and three behavioural logs, plus optional tables.

All timestamps are UTC. Account and user ids are opaque strings compared exactly.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

SEGMENTS = ("enterprise", "mid_market", "smb")
CONTRACT_TYPES = ("monthly", "annual")
RECORD_ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class Table:
    """A contract table: its file stem, required columns with their logical types, optional columns."""

    name: str
    columns: dict[str, str]
    optional: dict[str, str]
    is_log: bool


ACCOUNTS = Table(
    name="accounts",
    columns={
        "account_id": "id",
        "account_name": "string",
        "segment": "string",
        "plan": "string",
        "seats": "int",
        "mrr": "float",
        "contract_type": "string",
        "contract_start": "date",
        "renewal_date": "date",
        "churn_date": "date",
    },
    optional={"owner": "string"},
    is_log=False,
)
LOGINS = Table(
    name="logins",
    columns={"account_id": "id", "user_id": "id", "timestamp": "timestamp"},
    optional={},
    is_log=True,
)
RECORD_EVENTS = Table(
    name="record_events",
    columns={
        "account_id": "id",
        "user_id": "id",
        "timestamp": "timestamp",
        "object_type": "string",
        "action": "string",
    },
    optional={},
    is_log=True,
)
FEATURE_EVENTS = Table(
    name="feature_events",
    columns={"account_id": "id", "user_id": "id", "timestamp": "timestamp", "feature": "string"},
    optional={},
    is_log=True,
)

# Seats, MRR and plan over time: a row at contract start and one per change. The accounts table holds only
# the current values, so point-in-time features ("seats at t") need this table.
ACCOUNT_HISTORY = Table(
    name="account_history",
    columns={"account_id": "id", "effective_date": "date", "seats": "int", "mrr": "float", "plan": "string"},
    optional={},
    is_log=False,
)

TABLES = (ACCOUNTS, LOGINS, RECORD_EVENTS, FEATURE_EVENTS)
LOGS = tuple(t for t in TABLES if t.is_log)
# Tables a source may supply; validation reads them when they are there.
OPTIONAL_TABLES = (ACCOUNT_HISTORY,)


def read_as_of(clean_dir: Path) -> dt.date:
    """The data cut-off the validate stage recorded in the clean directory's manifest.json."""
    with open(clean_dir / "manifest.json", encoding="utf-8") as fh:
        return dt.date.fromisoformat(json.load(fh)["as_of"])
