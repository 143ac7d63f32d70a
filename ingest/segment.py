"""Importer `segment`: product-analytics exports in the Segment track/group style (JSON lines or CSV).

A track call (userId, groupId or accountId, event, timestamp) becomes a log row through the mapping's
`event_types`. A track call without a group id takes the user's latest group call at or before the
event; with none it is quarantined (`missing_group`). Other call types (identify, page, ...) are counted
as ignored. Accounts come from a contract accounts file or from a subscriptions table.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ingest.contract import ACCOUNTS, TABLES
from ingest.errors import InputError, Problem
from ingest.events import GENERIC_COLUMNS, split_events
from ingest.mapping import SegmentMapping, load_mapping
from ingest.parse import is_missing, parse_id, parse_string, parse_timestamp
from ingest.read import find_table_file, read_table_file
from ingest.subscriptions import assign_lifetimes, import_accounts, infer_as_of_from_logs, read_source
from ingest.validate import ImportResult, RawTable, SourceTable, reason_code

log = logging.getLogger(__name__)

_GROUP_COLUMNS = ("groupid", "accountid")  # Segment writes groupId; some exports accountId


def import_segment(
    raw_dir: Path, mapping_path: Path, churn_gap_days: int, as_of: dt.date | None = None
) -> ImportResult:
    """Logs from track calls (groups resolved through group calls), accounts from the mapped source."""
    mapping = load_mapping(mapping_path, SegmentMapping)
    calls = read_calls(raw_dir, mapping)
    memberships = pd.concat([group_memberships(frame, file, kind) for frame, file, kind in calls])
    logs: dict[str, RawTable] = {}
    sources = []
    for frame, file, kind in calls:
        file_logs, source = split_calls(frame, file, kind, memberships, mapping)
        sources.append(source)
        if kind != "group":
            logs = file_logs
    resolved = as_of or infer_as_of_from_logs(logs)
    if mapping.subscriptions is not None:
        accounts, subs, lifetimes = import_accounts(raw_dir, mapping.subscriptions, churn_gap_days, resolved)
        logs = {name: assign_lifetimes(raw, lifetimes) for name, raw in logs.items()}
        sources.append(subs)
    else:
        path = find_table_file(raw_dir, mapping.accounts or "accounts")
        accounts = {ACCOUNTS.name: RawTable.from_frame(ACCOUNTS, path.name, read_table_file(path))}
    return ImportResult({**accounts, **logs}, tuple(sources), resolved)


def read_calls(raw_dir: Path, mapping: SegmentMapping) -> list[tuple[pd.DataFrame, str, str]]:
    """(frame, file name, call kind) per file: one mixed export ('mixed'), or 'track' and 'group' files."""
    src = mapping.segment
    if src.tracks or src.groups:
        if not (src.tracks and src.groups):
            raise InputError("mapping.yaml: segment.tracks and segment.groups go together")
        return [(*read_source(raw_dir, src.tracks), "track"), (*read_source(raw_dir, src.groups), "group")]
    frame, file = read_source(raw_dir, src.file or "segment")
    if "type" not in frame.columns:
        raise InputError(
            [Problem(file, "type", "missing: a mixed export needs the call type (track, group)")]
        )
    return [(frame, file, "mixed")]


def call_types(frame: pd.DataFrame, kind: str) -> pd.Series:
    if kind != "mixed":
        return pd.Series(kind, index=frame.index, dtype="str")
    return parse_string(frame["type"]).str.strip().str.lower()


def require(frame: pd.DataFrame, file: str, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns))
        names = ", ".join(f"'{c}'" for c in missing)
        raise InputError([Problem(file, None, f"missing Segment field(s) {names} (found: {found})")])


def group_id(frame: pd.DataFrame, file: str) -> pd.Series:
    """groupId, else accountId, as an id string (null when neither is present)."""
    present = [c for c in _GROUP_COLUMNS if c in frame.columns]
    if not present:
        return pd.Series(None, index=frame.index, dtype="str")
    ids = [parse_id(frame[c], file, c).where(~is_missing(frame[c])) for c in present]
    return ids[0].fillna(ids[1]) if len(ids) > 1 else ids[0]


def group_memberships(frame: pd.DataFrame, file: str, kind: str) -> pd.DataFrame:
    """(user, group, time) of every group call with all three readable."""
    types = call_types(frame, kind)
    is_group = (types == "group").to_numpy()
    if not is_group.any():
        return pd.DataFrame(
            {
                "user": pd.Series(dtype="str"),
                "group": pd.Series(dtype="str"),
                "time": pd.Series(dtype="datetime64[us, UTC]"),
            }
        )
    require(frame, file, ("userid", "timestamp"))
    sub = frame[is_group]
    time, _ = parse_timestamp(sub["timestamp"], file, "timestamp")
    out = pd.DataFrame(
        {"user": parse_id(sub["userid"], file, "userid"), "group": group_id(sub, file), "time": time}
    )
    return out.dropna().reset_index(drop=True)


def split_calls(
    frame: pd.DataFrame, file: str, kind: str, memberships: pd.DataFrame, mapping: SegmentMapping
) -> tuple[dict[str, RawTable], SourceTable]:
    """Track calls to the logs; group calls are used for membership; other calls are ignored."""
    types = call_types(frame, kind)
    track = (types == "track").to_numpy()
    if track.any():
        require(frame, file, ("userid", "event", "timestamp"))
    codes = np.zeros(len(frame), dtype=np.int8)
    account = group_id(frame, file) if len(frame) else pd.Series(dtype="str")
    if track.any():
        account, unresolved = fill_groups(frame, file, track, account, memberships)
        codes[unresolved] = reason_code("missing_group")
    events = pd.DataFrame(
        {
            "account_id": account,
            "user_id": frame.get("userid"),
            "timestamp": frame.get("timestamp"),
            "event_type": frame.get("event"),
        }
    )[list(GENERIC_COLUMNS)]
    rows = np.arange(1, len(frame) + 1, dtype=np.int64)
    other = ~track & (types != "group").to_numpy()
    # Sources are counted under their file stem (segment, or tracks and groups), apart from the logs.
    name = file.split(".")[0]
    name = f"source_{name}" if name in {t.name for t in TABLES} else name
    logs, source = split_events(events, rows, file, name, mapping.event_types, codes, frame, route=track)
    ignored = source.ignored | (other & (source.codes == 0))
    return logs, SourceTable(source.name, file, source.frame, rows, source.codes, ignored)


def fill_groups(
    frame: pd.DataFrame, file: str, track: np.ndarray, account: pd.Series, memberships: pd.DataFrame
) -> tuple[pd.Series, np.ndarray]:
    """A track call without a group takes the user's latest group call at or before it."""
    need = track & account.isna().to_numpy()
    unresolved = np.zeros(len(frame), dtype=bool)
    if not need.any():
        return account, unresolved
    time, bad = parse_timestamp(frame.loc[need, "timestamp"], file, "timestamp")
    calls = pd.DataFrame(
        {
            "user": parse_id(frame.loc[need, "userid"], file, "userid"),
            "time": time,
            "pos": np.flatnonzero(need),
        }
    ).dropna(subset=["user", "time"])
    found = pd.merge_asof(
        calls.sort_values("time", kind="stable"),
        memberships.sort_values("time", kind="stable"),
        on="time",
        by="user",
        direction="backward",
    )
    found = found.dropna(subset=["group"])
    account = account.copy()
    account.iloc[found["pos"].to_numpy()] = found["group"].to_numpy()
    # An unreadable timestamp is reported as such by validation, not as a missing group.
    unresolved[np.flatnonzero(need)[~bad]] = True
    unresolved[found["pos"].to_numpy()] = False
    return account, unresolved
