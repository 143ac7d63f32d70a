"""Split a generic event table into the three contract logs through the mapping's `event_types`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ingest.contract import FEATURE_EVENTS, LOGINS, RECORD_EVENTS
from ingest.errors import InputError, Problem
from ingest.mapping import EventTypes
from ingest.parse import is_missing, parse_string
from ingest.validate import RawTable, SourceTable, reason_code

GENERIC_COLUMNS = ("account_id", "user_id", "timestamp", "event_type")


def select_columns(frame: pd.DataFrame, columns: dict[str, str | None], file: str) -> pd.DataFrame:
    """Rename the user's columns (`columns`: contract name -> their name); name every missing one at once."""
    wanted = {ours: theirs.strip().lower() for ours, theirs in columns.items() if theirs is not None}
    missing = [
        f"'{theirs}' (mapped to {ours})" for ours, theirs in wanted.items() if theirs not in frame.columns
    ]
    if missing:
        found = ", ".join(map(str, frame.columns))
        message = (
            f"missing mapped column{'s' if len(missing) > 1 else ''} {', '.join(missing)} (found: {found})"
        )
        raise InputError([Problem(file, None, message)])
    return pd.DataFrame({ours: frame[theirs] for ours, theirs in wanted.items()})


def split_events(
    events: pd.DataFrame,
    rows: np.ndarray,
    file: str,
    name: str,
    types: EventTypes,
    codes: np.ndarray | None = None,
    original: pd.DataFrame | None = None,
    route: np.ndarray | None = None,
) -> tuple[dict[str, RawTable], SourceTable]:
    """Route each event to its log by event type; unmapped types are quarantined, `ignore`d ones counted.

    `events` holds raw values under GENERIC_COLUMNS; `codes` are reasons already found by the importer;
    `original` (the rows as the user wrote them) is what the quarantine shows for this source; `route`
    marks the rows that are events at all (a Segment group call is not): the others are used as they are.
    """
    codes = np.zeros(len(events), dtype=np.int8) if codes is None else codes.copy()
    route = np.ones(len(events), dtype=bool) if route is None else route
    event = parse_string(events["event_type"]).str.strip()
    missing = is_missing(events["event_type"]) & route
    codes[(codes == 0) & missing] = reason_code("missing_value")
    ignored = event.isin(types.ignore).to_numpy() & (codes == 0) & route
    log_of = {**dict.fromkeys(types.login, "logins"), **dict.fromkeys(types.record, "record_events")}
    log_of.update(dict.fromkeys(types.feature, "feature_events"))
    target = event.map(log_of)
    codes[(codes == 0) & ~ignored & route & target.isna().to_numpy()] = reason_code("unmapped_event_type")
    shown = (events if original is None else original).reset_index(drop=True)
    raws = {}
    for table in (LOGINS, RECORD_EVENTS, FEATURE_EVENTS):
        keep = (target == table.name).to_numpy() & (codes == 0) & route
        frame = events.loc[keep, ["account_id", "user_id", "timestamp"]].reset_index(drop=True)
        kinds = event[keep].reset_index(drop=True)
        if table is RECORD_EVENTS:
            frame["object_type"] = kinds.map({k: v.object_type for k, v in types.record.items()})
            frame["action"] = kinds.map({k: v.action for k, v in types.record.items()})
        if table is FEATURE_EVENTS:
            frame["feature"] = kinds.map(types.feature)
        raws[table.name] = RawTable(table, file, frame, rows[keep], shown, np.flatnonzero(keep))
    return raws, SourceTable(name, file, shown, rows, codes, ignored)
