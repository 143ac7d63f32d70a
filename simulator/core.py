"""Orchestration: accounts, latent process with truth, event chunks streamed to Parquet."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from ingest.atomic import atomic_dir
from pipeline.config import Featurize, Sample
from simulator import events as ev
from simulator import writer as wr
from simulator.accounts import PLANS, SEGMENTS, Accounts, draw_accounts, monthly_price
from simulator.calendar import month_start_days
from simulator.dynamics import History, Statics, simulate_accounts
from simulator.truth import TruthCollector

log = logging.getLogger(__name__)


@dataclass
class Summary:
    """Counts of what was written, for the stage's log line and the data card."""

    accounts: int = 0
    churned: int = 0
    downgrades: int = 0
    history_rows: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    truth_rows: int = 0
    truth_max_std_error: float = 0.0


def simulate_to_dir(cfg: Sample, featurize: Featurize, sample_dir: Path, truth_dir: Path) -> Summary:
    """Simulate the sample described by `cfg` and write it atomically (each directory replaced whole).

    `sample_dir` receives accounts, account_history, logins, record_events and feature_events Parquet
    files; `truth_dir`
    receives truth.parquet with p_churn for every (account, observation date) of the grid that `featurize`
    defines, assuming as_of is the day after the last simulated day.
    """
    with atomic_dir(Path(sample_dir)) as sample_tmp, atomic_dir(Path(truth_dir)) as truth_tmp:
        return write_simulation(cfg, featurize, sample_tmp, truth_tmp)


def write_simulation(cfg: Sample, featurize: Featurize, sample_dir: Path, truth_dir: Path) -> Summary:
    """Non-atomic core of `simulate_to_dir`: write into existing directories."""
    seeds = np.random.SeedSequence(cfg.seed).spawn(3)
    months = cfg.months
    month0 = cfg.start.replace(day=1)
    acc = draw_accounts(
        cfg.n_accounts, months, cfg.burn_in_months, cfg.initial_share, np.random.default_rng(seeds[0])
    )
    truth = _truth_collector(cfg, featurize, acc, seeds[1])
    hist = simulate_accounts(
        acc, months, cfg.burn_in_months, _renewal_day(acc, month0), np.random.default_rng(seeds[0]), truth
    )
    summary = Summary(
        accounts=len(acc.seats0), churned=int((hist.churn_day >= 0).sum()), downgrades=hist.downgrades
    )
    wr.write_table(sample_dir / "accounts.parquet", _accounts_table(acc, hist, month0, months))
    history = _history_table(acc, hist, month0)
    wr.write_table(sample_dir / "account_history.parquet", history)
    summary.history_rows = history.num_rows
    summary.rows = _write_events(cfg, acc, hist, month0, sample_dir, seeds[2])
    summary.truth_rows, summary.truth_max_std_error = _write_truth(truth, acc, month0, truth_dir)
    log.info(
        "simulated %d accounts, %d churned, %d downgrades (%d history rows), events %s",
        summary.accounts,
        summary.churned,
        summary.downgrades,
        summary.history_rows,
        summary.rows,
    )
    return summary


def _renewal_day(acc: Accounts, month0):
    def renewal_day(idx: np.ndarray, month: np.ndarray) -> np.ndarray:
        return month_start_days(month0, month) + acc.start_dom[idx] - 1

    return renewal_day


def _truth_collector(
    cfg: Sample, featurize: Featurize, acc: Accounts, seed: np.random.SeedSequence
) -> TruthCollector:
    month0 = cfg.start.replace(day=1)
    first = featurize.first_observation
    observe_from = (first.year - month0.year) * 12 + first.month - month0.month + (first.day > 1)
    return TruthCollector(
        statics=Statics(mu=acc.mu, segment=acc.segment, annual=acc.annual, signup_month=acc.signup_month),
        start_dom=acc.start_dom,
        month_days=lambda m: month_start_days(month0, m),
        lead_days=featurize.lead_days,
        horizon_days=featurize.horizon_days,
        observe_from=observe_from,
        paths=cfg.truth_paths,
        rng=np.random.default_rng(seed),
    )


def _contract_start_day(acc: Accounts, month0) -> np.ndarray:
    return month_start_days(month0, acc.signup_month) + acc.start_dom - 1


def _mrr(acc: Accounts, idx: np.ndarray, seats: np.ndarray) -> pa.Array:
    """MRR of accounts `idx` at `seats`; one formula so history and accounts agree to the cent."""
    return pa.array(np.round(seats * monthly_price(acc.plan[idx], acc.annual[idx]), 2), pa.float64())


def _accounts_table(acc: Accounts, hist: History, month0, months: int) -> pa.Table:
    """One row per account; seats, mrr and plan are the current values (at the data end or at churn)."""
    churned = hist.churn_day >= 0
    start_day = _contract_start_day(acc, month0)
    # Active accounts: the first renewal on or after the data end (as_of); churned: the renewal they left at.
    next_month = np.where(acc.annual, months + (acc.signup_month - months) % 12, months)
    renewal = np.where(churned, hist.churn_day, month_start_days(month0, next_month) + acc.start_dom - 1)
    return pa.Table.from_arrays(
        [
            pa.array(acc.account_id, pa.string()),
            pa.array(acc.account_name, pa.string()),
            wr.decode(acc.segment, SEGMENTS),
            wr.decode(acc.plan, PLANS),
            pa.array(hist.seats, pa.int64()),
            _mrr(acc, np.arange(len(acc.seats0)), hist.seats),
            wr.decode(acc.annual.astype(np.int8), ("monthly", "annual")),
            wr.days_to_date32(start_day),
            wr.days_to_date32(renewal),
            wr.days_to_date32(np.where(churned, hist.churn_day, 0), null=~churned),
            pa.array(acc.owner, pa.string()),
        ],
        schema=wr.ACCOUNTS_SCHEMA,
    )


def _history_table(acc: Accounts, hist: History, month0) -> pa.Table:
    """Seats, MRR and plan over time: a row at contract start, then one per change (the plan never changes
    in the simulator), sorted by account and effective date; ids sort like indices (zero-padded)."""
    account = np.concatenate([np.arange(len(acc.seats0)), *hist.change_account])
    day = np.concatenate([_contract_start_day(acc, month0), *hist.change_day])
    seats = np.concatenate([acc.seats0, *hist.change_seats])
    order = np.lexsort((day, account))
    account, day, seats = account[order], day[order], seats[order]
    return pa.Table.from_arrays(
        [
            wr.decode(account, acc.account_id),
            wr.days_to_date32(day),
            pa.array(seats, pa.int64()),
            _mrr(acc, account, seats),
            wr.decode(acc.plan[account], PLANS),
        ],
        schema=wr.HISTORY_SCHEMA,
    )


def _write_events(
    cfg: Sample, acc: Accounts, hist: History, month0, out: Path, seed: np.random.SeedSequence
) -> dict[str, int]:
    """Generate events chunk by chunk and append each chunk to the three log files."""
    names = ("logins", "record_events", "feature_events")
    writers = {name: wr.open_writer(out / f"{name}.parquet", wr.LOG_SCHEMAS[name]) for name in names}
    rows = dict.fromkeys(names, 0)
    chunk_seeds = seed.spawn((len(acc.seats0) + cfg.chunk_accounts - 1) // cfg.chunk_accounts)
    try:
        for i, chunk_seed in enumerate(chunk_seeds):
            idx = np.arange(i * cfg.chunk_accounts, min((i + 1) * cfg.chunk_accounts, len(acc.seats0)))
            logs = ev.generate_chunk(_chunk(cfg, acc, hist, month0, idx), np.random.default_rng(chunk_seed))
            for name, cols in zip(names, (logs.logins, logs.records, logs.features), strict=True):
                table = _log_table(name, cols, acc.account_id[idx])
                writers[name].write_table(table, row_group_size=wr.ROW_GROUP_ROWS)
                rows[name] += table.num_rows
            log.debug("chunk %d/%d done", i + 1, len(chunk_seeds))
    finally:
        for w in writers.values():
            w.close()
    return rows


def _chunk(cfg: Sample, acc: Accounts, hist: History, month0, idx: np.ndarray) -> ev.Chunk:
    month_days = month_start_days(month0, np.arange(cfg.months + 1))
    churn = hist.churn_day[idx]
    return ev.Chunk(
        months=cfg.months,
        month_days=month_days,
        first_day=month_start_days(month0, acc.signup_month[idx]) + acc.start_dom[idx] - 1,
        end_day=np.where(churn >= 0, churn, month_days[-1]),
        segment=acc.segment[idx],
        seats0=acc.seats0[idx],
        activity=acc.activity[idx],
        record_rate=acc.record_rate[idx],
        health=hist.health[:, idx],
        breadth=hist.breadth[:, idx],
        active_users=hist.active_users[:, idx],
        champion=hist.champion[:, idx],
        champion_left=hist.champion_left[:, idx],
        scale=cfg.activity_scale,
    )


def _log_table(name: str, cols: dict[str, np.ndarray], account_ids: np.ndarray) -> pa.Table:
    schema = wr.LOG_SCHEMAS[name]
    if not cols:
        return schema.empty_table()
    user_key = (cols["account"] << ev.USER_BITS) | cols["user"]
    uniq, inverse = np.unique(user_key, return_inverse=True)
    user_ids = [
        f"{account_ids[k >> ev.USER_BITS]}-U{k & ((1 << ev.USER_BITS) - 1):06d}" for k in uniq.tolist()
    ]
    arrays = [
        wr.decode(cols["account"], account_ids),
        wr.decode(inverse, np.array(user_ids, dtype=object)),
        wr.seconds_to_timestamp(cols["time"]),
    ]
    if name == "record_events":
        arrays += [wr.decode(cols["object_type"], ev.OBJECT_TYPES), wr.decode(cols["action"], ev.ACTIONS)]
    if name == "feature_events":
        arrays.append(wr.decode(cols["feature"], ev.FEATURES))
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_truth(truth: TruthCollector, acc: Accounts, month0, out: Path) -> tuple[int, float]:
    account, month, p, se = truth.rows()
    order = np.lexsort((month, account))
    table = pa.Table.from_arrays(
        [
            wr.decode(account[order], acc.account_id),
            wr.days_to_date32(month_start_days(month0, month[order])),
            pa.array(p[order], pa.float64()),
        ],
        schema=wr.TRUTH_SCHEMA,
    )
    wr.write_table(out / "truth.parquet", table)
    return table.num_rows, float(se.max()) if len(se) else 0.0
