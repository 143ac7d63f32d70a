"""Validate raw tables against the input contract: clean tables, a quarantine with reasons, and counts.

Accounts are authoritative and small: any bad value stops the run (exact duplicate rows are set aside and
counted). Log rows with a problem are quarantined with a reason; no row is dropped without being counted:
read == used + quarantined, per table.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ingest import contract
from ingest.contract import ACCOUNT_HISTORY, ACCOUNTS, LOGS, RECORD_ACTIONS, Table
from ingest.errors import N_EXAMPLES, InputError, Problem, format_examples, raise_if_any
from ingest.parse import (
    is_missing,
    parse_date,
    parse_id,
    parse_label,
    parse_number,
    parse_string,
    parse_timestamp,
)
from ingest.schema import ShowRow, check_accounts_schema, check_history_schema

log = logging.getLogger(__name__)

# A row gets the first reason that applies, in this order; code 0 means the row is used.
REASONS = (
    "missing_value",
    "unparseable_timestamp",
    "invalid_value",
    "negative_count",
    "future_timestamp",
    "unknown_account",
    "after_churn",
    "duplicate",
    # Reasons for rows of source files that importers reshape (events, subscriptions, Segment exports).
    "unmapped_event_type",
    "missing_group",
    "unparseable_date",
    "end_not_after_start",
)
QUARANTINE_COLUMNS = ("table", "file", "row", "reason", "raw")
_ID_COLUMNS = ("account_id", "user_id")
_LABEL_VALUES = {"action": RECORD_ACTIONS}


def reason_code(reason: str) -> int:
    return REASONS.index(reason) + 1


@dataclass(frozen=True)
class RawTable:
    """A table as read: raw values under contract column names, and where each row came from.

    An importer that reshaped a user's file into this table passes that file's rows as read (`source`,
    its own column names) and each row's position in it (`source_positions`): a quarantined row is
    shown as the user wrote it ('"ts": "yesterday"'), not under our names.
    """

    table: Table
    file: str
    frame: pd.DataFrame
    rows: np.ndarray  # 1-based row number of each row in `file` (header not counted)
    source: pd.DataFrame | None = None
    source_positions: np.ndarray | None = None

    def as_written(self, positions: np.ndarray) -> pd.DataFrame:
        """The rows at `positions` as the user's file has them."""
        if self.source is None or self.source_positions is None:
            return self.frame.iloc[positions]
        return self.source.iloc[self.source_positions[positions]]

    @classmethod
    def from_frame(cls, table: Table, file: str, frame: pd.DataFrame) -> RawTable:
        frame = frame.reset_index(drop=True)
        return cls(table, file, frame, np.arange(1, len(frame) + 1, dtype=np.int64))


@dataclass(frozen=True)
class SourceTable:
    """A user file that an importer reshaped into contract tables, with the fate of each of its rows.

    `codes` is a reason code per row (0 = passed on to a contract table); `ignored` marks rows the
    mapping deliberately skips (event types listed under `ignore`): counted, not quarantined.
    """

    name: str
    file: str
    frame: pd.DataFrame
    rows: np.ndarray
    codes: np.ndarray
    ignored: np.ndarray


@dataclass(frozen=True)
class ImportResult:
    """What an importer hands to validation: raw contract tables, the source files they came from, and
    the as-of date it resolved (None: validation infers it)."""

    raws: dict[str, RawTable]
    sources: tuple[SourceTable, ...] = ()
    as_of: dt.date | None = None


@dataclass(frozen=True)
class CleanData:
    """Validated contract tables plus everything set aside, the counts, and the resolved as-of date."""

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    counts: dict[str, dict]
    as_of: dt.date
    files: dict[str, str]


def check_columns(raw: RawTable) -> list[Problem]:
    """Every required column present; all missing columns of a file are named in one problem."""
    missing = [c for c in raw.table.columns if c not in raw.frame.columns]
    if not missing:
        return []
    found = ", ".join(map(str, raw.frame.columns)) or "none"
    names = ", ".join(f"'{c}'" for c in missing)
    word = "column" if len(missing) == 1 else "columns"
    return [Problem(raw.file, None, f"missing required {word} {names} (found: {found})")]


def validate_tables(
    raws: dict[str, RawTable],
    as_of: dt.date | None,
    max_quarantine_share: float,
    sources: tuple[SourceTable, ...] = (),
) -> CleanData:
    """Validate the accounts table and the three logs; raise InputError listing every problem found.

    `sources` are the files an importer read, with rows it could not pass on; they are counted and
    quarantined alongside the contract tables.
    """
    missing_tables = [t.name for t in contract.TABLES if t.name not in raws]
    if missing_tables:
        raise InputError(f"missing input tables: {', '.join(missing_tables)}")
    raise_if_any([p for raw in raws.values() for p in check_columns(raw)])

    problems: list[Problem] = []
    accounts, account_codes = _collect(problems, clean_accounts, raws[ACCOUNTS.name])
    parsed = {t.name: _collect(problems, parse_log, raws[t.name]) for t in LOGS}
    history = (
        _collect(problems, clean_history, raws[ACCOUNT_HISTORY.name])
        if ACCOUNT_HISTORY.name in raws
        else None
    )
    if history is None:
        log.warning(
            "no %s table: seats, MRR and plan at every observation date are the accounts table's current "
            "values, so a downgrade before a churn also shows at earlier dates (docs/bring_your_own_data.md)",
            ACCOUNT_HISTORY.name,
        )
    raise_if_any(problems)

    resolved = as_of or infer_as_of([frame["timestamp"][codes == 0] for frame, codes in parsed.values()])
    usable_accounts = (
        accounts[account_codes == 0].sort_values("account_id", kind="stable").reset_index(drop=True)
    )
    tables, codes = {ACCOUNTS.name: usable_accounts}, {ACCOUNTS.name: account_codes}
    for name, (frame, log_codes) in parsed.items():
        tables[name], codes[name] = flag_log_rows(frame, log_codes, usable_accounts, resolved)
    if history is not None:
        tables[ACCOUNT_HISTORY.name], codes[ACCOUNT_HISTORY.name] = flag_history_rows(
            *history, usable_accounts
        )

    shares = [
        (share_label(raws[n]), codes[n], raws[n].frame, raws[n].rows) for n in codes if raws[n].table.is_log
    ]
    shares += [(s.file, s.codes[~s.ignored], s.frame[~s.ignored], s.rows[~s.ignored]) for s in sources]
    raise_if_any([p for share in shares for p in check_quarantine_share(*share, max_quarantine_share)])
    data = assemble(raws, tables, codes, resolved)
    return add_sources(data, sources) if sources else data


def share_label(raw: RawTable) -> str:
    """The file name, plus the log when an importer split one file into several logs."""
    stem = raw.file.split(".")[0]
    return raw.file if stem == raw.table.name else f"{raw.file} ({raw.table.name})"


def _collect(problems: list[Problem], step: Callable, raw: RawTable) -> tuple:
    # Gather problems of every table before stopping, so the user sees them all in one run.
    try:
        return step(raw)
    except InputError as exc:
        problems.extend(exc.problems)
        return None, None


def clean_accounts(raw: RawTable) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse the accounts table; any bad value raises. Exact duplicate rows get the 'duplicate' code."""
    if raw.frame.empty:
        raise InputError([Problem(raw.file, None, "has no rows; every event would have an unknown account")])
    frame, problems, unparseable = parse_accounts(raw)
    duplicate = frame.duplicated(keep="first").to_numpy()
    problems += check_accounts_schema(frame[~duplicate], raw.file, unparseable, row_as_read(raw))
    problems += check_churn_after_start(frame[~duplicate], raw.file)
    raise_if_any(problems)
    codes = np.where(duplicate, reason_code("duplicate"), 0).astype(np.int8)
    return frame.astype({"seats": "int64"}), codes


def parse_accounts(raw: RawTable) -> tuple[pd.DataFrame, list[Problem], set[str]]:
    f, problems, unparseable = raw.frame, [], set()
    # A blank id is missing here as in the logs (pandera then reports it); otherwise ids are kept as is.
    out = {
        "account_id": parse_id(f["account_id"], raw.file, "account_id").where(~is_missing(f["account_id"]))
    }
    for column in ("account_name", "plan", "owner"):
        out[column] = parse_string(f[column]) if column in f else pd.Series(None, index=f.index, dtype="str")
    for column in ("segment", "contract_type"):
        out[column] = parse_label(f[column])
    for column in ("seats", "mrr"):
        out[column], bad = parse_number(f[column])
        problems += _bad_values(raw, column, bad, "not a number")
        unparseable |= {column} if bad.any() else set()
    for column in ("contract_start", "renewal_date", "churn_date"):
        out[column], bad = parse_date(f[column], raw.file, column)
        problems += _bad_values(raw, column, bad, "not an ISO 8601 date (YYYY-MM-DD)")
        unparseable |= {column} if bad.any() else set()
    columns = [*ACCOUNTS.columns, *ACCOUNTS.optional]
    return pd.DataFrame(out)[columns], problems, unparseable


def clean_history(raw: RawTable) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse the optional account history; bad values stop the run like the accounts table's do."""
    f, problems, unparseable = raw.frame, [], set()
    out = {
        "account_id": parse_id(f["account_id"], raw.file, "account_id").where(~is_missing(f["account_id"]))
    }
    out["effective_date"], bad = parse_date(f["effective_date"], raw.file, "effective_date")
    problems += _bad_values(raw, "effective_date", bad, "not an ISO 8601 date (YYYY-MM-DD)")
    unparseable |= {"effective_date"} if bad.any() else set()
    for column in ("seats", "mrr"):
        out[column], bad = parse_number(f[column])
        problems += _bad_values(raw, column, bad, "not a number")
        unparseable |= {column} if bad.any() else set()
    out["plan"] = parse_string(f["plan"])
    frame = pd.DataFrame(out)[list(ACCOUNT_HISTORY.columns)]
    duplicate = frame.duplicated(keep="first").to_numpy()
    problems += check_history_schema(frame[~duplicate], raw.file, unparseable, row_as_read(raw))
    raise_if_any(problems)
    codes = np.where(duplicate, reason_code("duplicate"), 0).astype(np.int8)
    return frame.astype({"seats": "int64"}), codes


def flag_history_rows(
    frame: pd.DataFrame, codes: np.ndarray, accounts: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """Quarantine history rows of unknown accounts; return the used rows sorted by account and date."""
    codes = codes.copy()
    _flag(codes, ~frame["account_id"].isin(accounts["account_id"]).to_numpy(), "unknown_account")
    used = frame[codes == 0].sort_values(["account_id", "effective_date"], kind="stable")
    return used.reset_index(drop=True), codes


def row_as_read(raw: RawTable) -> ShowRow:
    """For an error message: a row's number in the file, its account and its raw value in `column`."""

    def show(i: int, column: str) -> str:
        value = raw.frame[column].iloc[i] if column in raw.frame else None
        if column == "account_id":
            return f"row {raw.rows[i]}: {value!r}"
        return f"row {raw.rows[i]} ({raw.frame['account_id'].iloc[i]}): {value!r}"

    return show


def _bad_values(raw: RawTable, column: str, bad: np.ndarray, message: str) -> list[Problem]:
    if not bad.any():
        return []
    show = row_as_read(raw)
    examples = tuple(show(int(i), column) for i in np.flatnonzero(bad)[:N_EXAMPLES])
    return [Problem(raw.file, column, message, int(bad.sum()), examples)]


def check_churn_after_start(accounts: pd.DataFrame, file: str) -> list[Problem]:
    before = (accounts["churn_date"] < accounts["contract_start"]).to_numpy()
    if not before.any():
        return []
    examples = format_examples(accounts["account_id"][before])
    return [Problem(file, "churn_date", "churn date before contract start", int(before.sum()), examples)]


def parse_log(raw: RawTable) -> tuple[pd.DataFrame, np.ndarray]:
    """Parse a log to contract types; rows that cannot be used get a reason code (0 = usable)."""
    f, problems = raw.frame, []
    out, codes = {}, np.zeros(len(f), dtype=np.int8)
    missing = np.zeros(len(f), dtype=bool)
    for column in raw.table.columns:
        missing |= is_missing(f[column])
    _flag(codes, missing, "missing_value")
    for column in raw.table.columns:
        try:
            out[column] = _parse_log_column(raw, column, codes)
        except InputError as exc:
            problems += exc.problems
    raise_if_any(problems)
    return pd.DataFrame(out), codes


def _parse_log_column(raw: RawTable, column: str, codes: np.ndarray) -> pd.Series:
    values = raw.frame[column]
    if column in _ID_COLUMNS:
        return parse_id(values, raw.file, column)
    if column == "timestamp":
        parsed, bad = parse_timestamp(values, raw.file, column)
        _flag(codes, bad, "unparseable_timestamp")
        return parsed
    if column in _LABEL_VALUES:
        parsed = parse_label(values)
        _flag(codes, ~parsed.isin(_LABEL_VALUES[column]).to_numpy(), "invalid_value")
        return parsed
    return parse_string(values)


def _flag(codes: np.ndarray, mask: np.ndarray, reason: str) -> None:
    codes[(codes == 0) & mask] = reason_code(reason)


def infer_as_of(timestamps: list[pd.Series], now: pd.Timestamp | None = None) -> dt.date:
    """The day after the latest usable event; the run's data cut-off when none is configured.

    Events dated after `now` (the clock, by default) cannot have happened: they do not set the date, so
    one mistyped year cannot add years of empty months, and `flag_log_rows` quarantines them as
    `future_timestamp`. For logs of the past, the result depends on the data alone.
    """
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    later = sum(int((s > now).sum()) for s in timestamps)
    if later:
        log.warning(
            "%d event(s) are dated after now (%s): they do not set the as-of date and are quarantined as "
            "future_timestamp",
            later,
            now.isoformat(timespec="seconds"),
        )
    past = [s[s <= now] for s in timestamps]
    latest = max((s.max() for s in past if len(s) and pd.notna(s.max())), default=None)
    if latest is None:
        raise InputError("no usable events in any log, so the as-of date cannot be inferred; set data.as_of")
    as_of = latest.date() + dt.timedelta(days=1)
    log.info("as_of inferred from the latest event (%s): %s", latest, as_of)
    return as_of


def flag_log_rows(
    frame: pd.DataFrame, codes: np.ndarray, accounts: pd.DataFrame, as_of: dt.date
) -> tuple[pd.DataFrame, np.ndarray]:
    """Flag future, unknown-account, after-churn and duplicate rows; return the used rows, sorted.

    The codes come back in the original row order. An event at or after as_of (midnight UTC) is in the
    future. An event whose UTC date is after the account's churn date is after churn; an event on the
    churn date counts. Events before contract start (trial use) are kept.
    """
    codes = codes.copy()
    cutoff = pd.Timestamp(as_of, tz="UTC")
    _flag(codes, (frame["timestamp"] >= cutoff).to_numpy(), "future_timestamp")
    # Arrow's hash lookup: an order of magnitude faster than Series.map on millions of string ids.
    position = pc.fill_null(pc.index_in(pa.array(frame["account_id"]), pa.array(accounts["account_id"])), -1)
    position = position.to_numpy(zero_copy_only=False)
    _flag(codes, position < 0, "unknown_account")
    churn = accounts["churn_date"].to_numpy("datetime64[D]")
    day = frame["timestamp"].dt.tz_convert(None).to_numpy().astype("datetime64[D]")
    after = np.zeros(len(frame), dtype=bool)
    known = position >= 0
    after[known] = day[known] > churn[position[known]]  # NaT (no churn) compares False
    _flag(codes, after, "after_churn")
    order, duplicate = sort_and_find_duplicates(frame, np.flatnonzero(codes == 0))
    codes[duplicate] = reason_code("duplicate")
    return frame.iloc[order].reset_index(drop=True), codes


def log_order(columns: Iterable[str]) -> list[str]:
    """The sort keys of a clean log: account, time, user, then its other columns in file order."""
    head = ["account_id", "timestamp", "user_id"]
    return [*head, *[c for c in columns if c not in head]]


def sort_and_find_duplicates(frame: pd.DataFrame, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the usable rows in output order (account, time, user, then the other columns) with
    later exact copies left out, and the positions of those copies (the first in file order is kept).

    DuckDB sorts a few million rows with string keys several times faster than pandas' lexsort.
    """
    keys = log_order(frame.columns)
    table = pa.Table.from_pandas(frame.iloc[usable][keys], preserve_index=False)
    table = table.append_column("pos", pa.array(usable, pa.int64()))
    quoted = ", ".join(f'"{k}"' for k in keys)
    query = (
        f"SELECT pos, row_number() OVER (PARTITION BY {quoted} ORDER BY pos) > 1 AS dup "
        f"FROM rows ORDER BY {quoted}, pos"
    )
    with duckdb.connect() as con:
        con.register("rows", table)
        result = con.execute(query).fetchnumpy()
    pos, dup = np.asarray(result["pos"], dtype=np.int64), np.asarray(result["dup"], dtype=bool)
    return pos[~dup], pos[dup]


def check_quarantine_share(
    file: str, codes: np.ndarray, frame: pd.DataFrame, rows: np.ndarray, max_share: float
) -> list[Problem]:
    """A file with most rows unusable is probably in the wrong format: stop rather than quarantine it.

    The message shows the first rows of the commonest reason as read (`frame`, row-aligned with
    `codes`; `rows` their row numbers): a US date or an epoch number is plain to see there.
    """
    n_bad = int((codes != 0).sum())
    if len(codes) == 0 or n_bad / len(codes) <= max_share:
        return []
    by_reason = pd.Series(codes[codes != 0]).map(lambda c: REASONS[c - 1]).value_counts()
    detail = ", ".join(f"{reason} {n}" for reason, n in by_reason.items())
    message = (
        f"{n_bad} of {len(codes)} rows ({n_bad / len(codes):.0%}) would be quarantined, more than "
        f"validate.max_quarantine_share={max_share:.0%}; wrong format or wrong file? ({detail})"
    )
    commonest = np.flatnonzero(codes == reason_code(by_reason.index[0]))[:N_EXAMPLES]
    examples = tuple(
        f"row {rows[i]} ({by_reason.index[0]}): " + " | ".join(map(str, frame.iloc[i].tolist()))[:100]
        for i in commonest
    )
    return [Problem(file, None, message, examples=examples)]


def assemble(
    raws: dict[str, RawTable], tables: dict[str, pd.DataFrame], codes: dict[str, np.ndarray], as_of: dt.date
) -> CleanData:
    """Gather used rows (`tables`) and quarantined rows (`codes`, file order); check nothing is lost."""
    used, parts, counts = {}, [], {}
    for name, frame in tables.items():
        raw, table_codes = raws[name], codes[name]
        used[name] = frame
        positions = np.flatnonzero(table_codes != 0)
        parts.append(quarantine_rows(raw, positions, table_codes[positions]))
        counts[name] = count_rows(len(raw.frame), len(frame), table_codes)
    quarantine = pd.concat(parts, ignore_index=True).sort_values(["table", "row"], kind="stable")
    return CleanData(
        tables=used,
        quarantine=quarantine.reset_index(drop=True),
        counts=counts,
        as_of=as_of,
        files={name: raw.file for name, raw in raws.items()},
    )


def add_sources(data: CleanData, sources: tuple[SourceTable, ...]) -> CleanData:
    """Add importer source files to quarantine and counts: read = used + ignored + quarantined."""
    parts, counts = [data.quarantine], dict(data.counts)
    for source in sources:
        bad = np.flatnonzero(source.codes != 0)
        parts.append(quarantine_rows(source, bad, source.codes[bad], table_name=source.name))
        n_used = int(((source.codes == 0) & ~source.ignored).sum())
        entry = count_rows(
            len(source.frame) - int(source.ignored.sum()), n_used, source.codes[~source.ignored]
        )
        counts[source.name] = {**entry, "read": len(source.frame), "ignored": int(source.ignored.sum())}
    quarantine = pd.concat(parts, ignore_index=True).sort_values(["table", "row"], kind="stable")
    files = {**data.files, **{s.name: s.file for s in sources}}
    return CleanData(data.tables, quarantine.reset_index(drop=True), counts, data.as_of, files)


def quarantine_rows(
    raw: RawTable | SourceTable, positions: np.ndarray, codes: np.ndarray, table_name: str | None = None
) -> pd.DataFrame:
    """Quarantined rows with their source row number, reason and raw values as one JSON object each."""
    name = table_name or raw.table.name
    original = raw.as_written(positions) if isinstance(raw, RawTable) else raw.frame.iloc[positions]
    # One vectorised to_json call; JSON escapes newlines inside values, so splitting lines is safe.
    text = original.to_json(orient="records", lines=True, date_format="iso", double_precision=15)
    raw_json = text.splitlines() if len(original) else []
    return pd.DataFrame(
        {
            "table": pd.Series([name] * len(positions), dtype="str"),
            "file": pd.Series([raw.file] * len(positions), dtype="str"),
            "row": raw.rows[positions].astype(np.int64),
            "reason": pd.Series(np.asarray(REASONS, dtype=object)[codes.astype(np.int64) - 1], dtype="str"),
            "raw": pd.Series(raw_json, dtype="str"),
        },
        columns=list(QUARANTINE_COLUMNS),
    )


def count_rows(n_read: int, n_used: int, codes: np.ndarray) -> dict:
    reasons = pd.Series(codes[codes != 0]).map(lambda c: REASONS[c - 1]).value_counts().sort_index()
    quarantined = {str(reason): int(n) for reason, n in reasons.items()}
    if n_read != n_used + sum(quarantined.values()):
        raise AssertionError(f"row accounting broken: read {n_read} != used {n_used} + {quarantined}")
    return {"read": n_read, "used": n_used, "quarantined": quarantined}


def describe_quarantine(data: CleanData) -> list[str]:
    """One line per table with quarantined rows: the rows per reason, each with its first row number, e.g.
    'logins.csv: quarantined 367 rows: duplicate 365 (first: row 12), unknown_account 2 (first: row 4)'."""
    lines = []
    for name, entry in sorted(data.counts.items()):
        if not entry["quarantined"]:
            continue
        rows = data.quarantine.loc[data.quarantine["table"] == name, ["row", "reason"]]
        first = rows.groupby("reason", sort=False)["row"].min()
        total = sum(entry["quarantined"].values())
        reasons = ", ".join(
            f"{reason} {n} (first: row {first[reason]})" for reason, n in entry["quarantined"].items()
        )
        table = "" if data.files[name].split(".")[0] == name else f" ({name})"  # importers rename
        lines.append(
            f"{data.files[name]}{table}: quarantined {total} row{'s' if total != 1 else ''}: {reasons}"
        )
    return lines
