"""Featurize speed and memory at 1M, 10M and 50M events, against a pandas version and a DuckDB floor.

Each measurement is a whole fresh process (imports included): wall time and peak resident memory
(``ru_maxrss`` of that child). The child runs `benchmarks.featurize_contenders`, which imports only what
its contender needs (the floor: DuckDB alone). The contenders, on the same synthetic clean directory:

- featurize: ``pipeline.featurize.featurize`` on DuckDB (the production path, output written to Parquet);
- pandas: a straightforward pandas version of the same features (a loop over observation dates);
- floor: DuckDB reading and decoding every value of the three event files once (sum of hash per column);
- floor_minmax: the earlier floor, min/max per column (cheaper: it barely decodes dictionary columns).

With ``--repeat N`` the contenders other than pandas run N times each, interleaved (featurize, floor,
floor_minmax, featurize, floor, ...), so that a slow spell on the machine hits both sides of a ratio; the
report gives every wall time, the median and the largest peak. ``probe_s`` gauges the machine's speed
before and after each size's runs (see `machine_probe`).

Each log is written in chunks of 5M events, each chunk in time order with the accounts mixed (a log
exported as it grew). ``--layout validate`` sorts each log as the validate stage writes it (account,
time, user), in ``<root>/<n>M-validate``: the same events, laid out as the featurize stage reads them
in the pipeline.

Each account has 30 users, who log in about once a month at 2,000 events per account.
``--users-per-account N`` spreads the same events over N users (in ``<root>/<n>M-u<N>``): with 3, a user
logs in every three days or so, closer to a product used daily, and the per-user features have many
more days per user to go through.

Usage: python -m benchmarks.bench_featurize [--sizes 1 10 50] [--skip-pandas-above 10] [--repeat 1]
       [--root DIR] [--layout chunks|validate] [--users-per-account 30]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.featurize_contenders import CONTENDERS, LOGS

log = logging.getLogger(__name__)

START = dt.date(2023, 1, 1)
AS_OF = dt.date(2026, 1, 1)
SHARES = dict(zip(LOGS, (0.5, 0.3, 0.2), strict=True))
EVENTS_PER_ACCOUNT = 2000
USERS_PER_ACCOUNT = 30
CHUNK = 5_000_000
OBJECT_TYPES = ("contacts", "companies", "opportunities", "tasks", "notes", "reports")
FEATURES = ("dashboards", "reports", "email_sync", "workflows", "integrations", "mobile_app", "api")


def write_accounts(out: Path, n: int, rng: np.random.Generator) -> None:
    start = np.datetime64(START) + rng.integers(0, 365, n).astype("timedelta64[D]")
    churned = rng.random(n) < 0.3
    churn = start + rng.integers(200, 1000, n).astype("timedelta64[D]")
    churn_list = [
        d if c and d < np.datetime64(AS_OF) else None for d, c in zip(churn.tolist(), churned, strict=True)
    ]
    seats = rng.integers(1, 100, n)
    table = pa.table(
        {
            "account_id": [f"A{i:07d}" for i in range(n)],
            "account_name": [f"Account {i}" for i in range(n)],
            "segment": rng.choice(["enterprise", "mid_market", "smb"], n),
            "plan": rng.choice(["starter", "professional", "enterprise"], n),
            "seats": seats.astype("int64"),
            "mrr": (seats * 50.0).astype("float64"),
            "contract_type": rng.choice(["monthly", "annual"], n),
            "contract_start": pa.array(start.tolist(), pa.date32()),
            "renewal_date": pa.array((start + 365).tolist(), pa.date32()),
            "churn_date": pa.array(churn_list, pa.date32()),
        }
    )
    pq.write_table(table, out / "accounts.parquet")


def write_log(
    out: Path, name: str, n_events: int, n_accounts: int, users_per_account: int, rng: np.random.Generator
) -> None:
    accounts = pa.array([f"A{i:07d}" for i in range(n_accounts)])
    users = pa.array([f"U{i:09d}" for i in range(n_accounts * users_per_account)])
    lo = int(np.datetime64(START, "us").astype(np.int64))
    hi = int(np.datetime64(AS_OF, "us").astype(np.int64))
    writer = None
    for offset in range(0, n_events, CHUNK):
        k = min(CHUNK, n_events - offset)
        acct = rng.integers(0, n_accounts, k)
        cols = {
            "account_id": pa.DictionaryArray.from_arrays(pa.array(acct.astype("int32")), accounts),
            "user_id": pa.DictionaryArray.from_arrays(
                pa.array((acct * users_per_account + rng.integers(0, users_per_account, k)).astype("int32")),
                users,
            ),
            "timestamp": pa.array(np.sort(rng.integers(lo, hi, k)), pa.timestamp("us", tz="UTC")),
        }
        if name == "record_events":
            cols["object_type"] = _categorical(OBJECT_TYPES, k, rng)
            cols["action"] = _categorical(("create", "update", "delete"), k, rng)
        if name == "feature_events":
            cols["feature"] = _categorical(FEATURES, k, rng)
        chunk = pa.table(cols)
        chunk = chunk.cast(pa.schema([pa.field(f.name, _plain(f.type)) for f in chunk.schema]))
        writer = writer or pq.ParquetWriter(out / f"{name}.parquet", chunk.schema, compression="zstd")
        writer.write_table(chunk, row_group_size=1_000_000)
    writer.close()


def _categorical(values: tuple[str, ...], k: int, rng: np.random.Generator) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(rng.integers(0, len(values), k).astype("int32")), pa.array(values)
    )


def _plain(t: pa.DataType) -> pa.DataType:
    return pa.string() if pa.types.is_dictionary(t) else t


def generate(
    out: Path,
    n_events: int,
    seed: int = 0,
    layout: str = "chunks",
    users_per_account: int = USERS_PER_ACCOUNT,
) -> None:
    """A synthetic clean directory with `n_events` events across the three logs, laid out as `layout`
    says, each account's events spread over `users_per_account` users (see the module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_accounts = max(50, n_events // EVENTS_PER_ACCOUNT)
    write_accounts(out, n_accounts, rng)
    for name, share in SHARES.items():
        write_log(out, name, int(n_events * share), n_accounts, users_per_account, rng)
        if layout == "validate":
            sort_as_validate(out / f"{name}.parquet")
    (out / "manifest.json").write_text(json.dumps({"as_of": AS_OF.isoformat()}))


def sort_as_validate(path: Path) -> None:
    """Rewrite the log `path` in the validate stage's order and with its writer's settings (see
    `ingest.validate.log_order` and `ingest.write.write_parquet`)."""
    import duckdb

    from ingest.validate import log_order
    from ingest.write import write_parquet

    with duckdb.connect() as con:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
        quoted = ", ".join(f'"{c}"' for c in log_order(columns))
        table = con.sql(f"SELECT * FROM read_parquet('{path}') ORDER BY {quoted}").to_arrow_table()
    write_parquet(table, path)


def generate_apart(out: Path, n_events: int, layout: str, users_per_account: int) -> None:
    """`generate` in a child process, so that this one stays small.

    Linux carries a process's peak memory over into the program it starts, so a child's ``ru_maxrss``
    is at least this process's size when it started: after generating 50M events here, even the floor
    would report gigabytes.
    """
    child = multiprocessing.get_context("spawn").Process(
        target=generate, args=(out, n_events, 0, layout, users_per_account)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"generating {out} failed (exit code {child.exitcode})")


def measure(contender: str, clean: Path) -> dict[str, float]:
    """Wall seconds and peak RSS (GB) of one fresh process running `contender`."""
    (clean.parent / "out").mkdir(exist_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.featurize_contenders", contender, str(clean)])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        log.warning("%s failed with status %s", contender, status)
        return {"wall_s": float("nan"), "peak_gb": usage.ru_maxrss / 1e6}
    return {"wall_s": wall, "peak_gb": usage.ru_maxrss / 1e6}  # ru_maxrss is in KiB on Linux


def machine_probe() -> float:
    """Seconds to allocate and sum 800 MB with numpy: how fast the machine is at the moment.

    The project machine is a virtual machine on a shared host: the same probe takes about 0.5 s in a
    quiet spell and 2–3 s in a slow one, and featurize (1.4 GB resident at 10M) slows more than the
    floor. Each size's result records the probe before and after its runs, so that a table says which
    spell it was measured in. The probe runs in a process of its own: in this one, its 800 MB would
    count towards the peak memory of every contender started after it.
    """
    probe = (
        "import time, numpy as np; t = time.perf_counter(); np.ones(100_000_000).sum(); "
        "print(time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1, 10, 50], help="millions of events")
    parser.add_argument(
        "--skip-pandas-above", type=int, default=50, help="millions; pandas needs ~12 GB at 50M"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (pandas runs once)")
    parser.add_argument("--root", type=Path, default=None)
    parser.add_argument("--layout", choices=["chunks", "validate"], default="chunks")
    parser.add_argument("--users-per-account", type=int, default=USERS_PER_ACCOUNT)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="bench_featurize_"))
    rows = []
    for millions in args.sizes:
        suffix = "" if args.layout == "chunks" else f"-{args.layout}"
        if args.users_per_account != USERS_PER_ACCOUNT:
            suffix += f"-u{args.users_per_account}"
        clean = root / f"{millions}M{suffix}" / "clean"
        if not (clean / "manifest.json").exists():
            log.info("generating %dM events in %s", millions, clean)
            generate_apart(clean, millions * 1_000_000, args.layout, args.users_per_account)
        result = {
            "events_m": millions,
            "layout": args.layout,
            "users_per_account": args.users_per_account,
            "probe_s": [round(machine_probe(), 2)],
        }
        runs: dict[str, list[dict[str, float]]] = {}
        for _ in range(args.repeat):
            for contender in CONTENDERS:
                if contender == "pandas" and (millions > args.skip_pandas_above or "pandas" in runs):
                    continue
                runs.setdefault(contender, []).append(measure(contender, clean))
                log.info("%dM %s: %s", millions, contender, runs[contender][-1])
        result["probe_s"].append(round(machine_probe(), 2))
        for contender, measured in runs.items():
            walls = [m["wall_s"] for m in measured]
            result[contender] = {
                "wall_s": statistics.median(walls),
                "peak_gb": max(m["peak_gb"] for m in measured),
                "walls_s": [round(w, 2) for w in walls],
            }
        rows.append(result)
    sys.stdout.write(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
