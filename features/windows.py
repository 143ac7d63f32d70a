"""Point-in-time building blocks shared by the feature families.

The window convention, stated once: a window of w days at observation date t covers ``[t - w, t)``.
Events are bucketed into whole UTC days (``day`` = days since 1970-01-01) and t is a midnight, so
``timestamp < t`` is exactly ``day < t_day``; an event at t itself falls on ``t_day`` and never counts.
``age = t_day - day`` is therefore 1 for yesterday, and an event is in the w-day window when ``age <= w``.

History older than the longest window is summarised in fixed buckets of `span` days, so "ever" totals and
"days since the last event" never join a full event history onto every observation date.

Account-level totals are first summed over *runs* of days, cut at every window boundary of
every observation date (``t - w``) and at every bucket start. No run straddles a boundary, so a
run is wholly inside or outside each window and per-run sums add up to exact window totals,
with far fewer rows to join than one per day. In a run table ``day`` is the run's first day
(so ``age`` and the window tests read as for days) and ``last_day`` the last day with an event.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir

from features.registry import HEALTHY_WINDOW_DAYS, MAU_WINDOW_DAYS, Settings

KEYS = ("account_key", "t_day")  # account_key: see `number_accounts`


def number_accounts(accounts: ir.Table) -> ir.Table:
    """`accounts` with `account_key`, a dense integer per account_id, in account_id order.

    Features are grouped and joined on the integer key (32 bits, like day numbers: see `day_of`), which
    hashes and compares faster than the string id; the order makes the numbering deterministic wherever
    the expression is evaluated. (One window over the whole accounts table: on Spark a single
    partition, fine for a table of accounts.)
    """
    return accounts.mutate(account_key=ibis.dense_rank().over(order_by=accounts.account_id).cast("int32"))


def key_events(events: ir.Table, accounts: ir.Table) -> ir.Table:
    """`events` with account_id swapped for `account_key` (events of unknown accounts drop out)."""
    keys = accounts.select(_acct=accounts.account_id, account_key=accounts.account_key)
    return without(events.join(keys, events.account_id == keys._acct), "account_id", "_acct")


def without(table: ir.Table, *columns: str) -> ir.Table:
    """`table` less `columns`, as a plain projection.

    Unlike ``Table.drop``, a projection is something ibis's SQL compiler shares as one CTE when the
    result is used more than once; a dropped table is repeated, and recomputed, at every use.
    """
    return table.select(*[c for c in table.columns if c not in columns])


MICROS_PER_DAY = 86_400_000_000


@ibis.udf.scalar.builtin
def unix_micros(ts: dt.Timestamp(timezone="UTC")) -> dt.int64:  # type: ignore[empty-body]
    """Microseconds since 1970-01-01 UTC: the engine's own function (EPOCH_US on DuckDB, UNIX_MICROS
    on Spark; ibis names it per dialect)."""


def day_of(ts: ir.TimestampValue) -> ir.IntegerValue:
    """Whole UTC day number of a timestamp.

    Arithmetic on the epoch microseconds, which both engines read straight off the stored value:
    cheaper than ``ts.date().epoch_days()`` (a date cast and a date difference) on every event.
    ibis floors a float quotient, which is exact here: the quotient of two integers below 2**53 is
    correctly rounded, and no day number below 10**5 (the year 2243) rounds up to the next integer.
    The result is a 32-bit integer, as is `account_key`: day numbers are sort and hash keys throughout,
    and narrower keys make the windows and groups measurably faster.
    """
    return (unix_micros(ts) // MICROS_PER_DAY).cast("int32")


def span_days(s: Settings) -> int:
    """The longest look-back any windowed feature needs."""
    return max(*s.windows, *s.object_type_windows, 2 * s.trend_days, HEALTHY_WINDOW_DAYS, MAU_WINDOW_DAYS)


def boundary_offsets(s: Settings) -> tuple[int, ...]:
    """Every w for which some feature summed over runs asks whether a day is before ``t - w``.

    The healthy-user window is not among them: it is tested on user-day rows, never on runs. Every cut
    makes more, shorter runs; leaving out that one needless cut made the whole query 4 % faster.
    """
    windows = {*s.windows, s.trend_days, 2 * s.trend_days, MAU_WINDOW_DAYS}
    return tuple(sorted({0, *windows, *s.object_type_windows, span_days(s)}))


def run_starts(keys: ir.Table, days: ir.Table, s: Settings) -> ir.Table:
    """(day, start) for each day of `days`: the first day of the run holding it (see module doc).

    Cuts are ``t - w`` for each distinct t of `keys` and each boundary w, plus each day's bucket start,
    which also gives every day a cut less than `span` days before it.
    """
    span = span_days(s)
    t_days = keys.select("t_day").distinct()
    # ibis types int32 arithmetic int64; the union needs one type, and day numbers are int32 (`day_of`)
    cuts = ibis.union(
        *[t_days.select(cut=(t_days.t_day - w).cast("int32")) for w in boundary_offsets(s)],
        days.select(cut=(days.day - days.day % span).cast("int32")),
        distinct=True,
    )
    joined = days.join(cuts, [cuts.cut <= days.day, cuts.cut > days.day - span])
    return joined.group_by("day").aggregate(start=joined.cut.max())


def sum_by_run(keys: ir.Table, rows: ir.Table, s: Settings, **measures: ir.Value) -> ir.Table:
    """Per (account, run): the row count `n`, `last_day`, and for each of `measures` (expressions on
    `rows`) the rows where it holds, if boolean, or else its sum.

    `rows` has account_key and day. The result's `day` is the run's first day (see the module docstring).
    """
    starts = run_starts(keys, rows.select("day").distinct(), s)
    j = rows.mutate(**measures).join(starts, "day")
    totals = {
        name: j.count(where=j[name]) if j[name].type().is_boolean() else int64_sum(j[name])
        for name in measures
    }
    per_run = j.group_by(["account_key", "start"]).aggregate(n=j.count(), last_day=j.day.max(), **totals)
    return per_run.rename(day="start")


def join_recent(keys: ir.Table, rows: ir.Table, span: int, offset: int = 0, through: str = "") -> ir.Table:
    """Pair each observation date t of `keys` with the day (or run) `rows` in ``[end - span, end)``,
    where end is t (or ``t - offset``), and, given `through`, whose `through` column is on or after end;
    adding ``age``, the days from the row's day to end (1 for the day before).

    The range join is an equi-join on the day: the rows meet a small table of (day, t) pairs, one for
    each date t and each of the `span` days before its end (34 dates x 90 days = 3,060 at 10M events),
    which the engine hashes in place of the rows. (Joining the (account, t) keys to the rows on the
    account hashed every row, and tested each date against all of its account's rows near it: at 10M
    events the joins took 2.4 s of CPU, against 0.55 s now.)

    An account's rows are paired with every date of `keys`, including dates where the account itself is
    not in `keys` (before its contract started, or after it churned): the callers' per-(account, t)
    results are left-joined to the keys, which drops those.
    """
    t_days = keys.select("t_day").distinct()
    # The ages 1..span. On Spark the range must be constant (for computed bounds ibis writes
    # ``stop - start`` without its parentheses, and the range comes out empty) and the cast outside the
    # select that unnests (Spark refuses a cast around the unnest).
    pairs = t_days.select("t_day", _age=ibis.range(1, span + 1).unnest())
    pairs = pairs.select("t_day", _day=(pairs.t_day - offset - pairs._age).cast("int32"))
    conditions = [rows.day == pairs._day]
    if through:
        conditions.append(rows[through] >= pairs.t_day - offset)
    joined = without(rows.join(pairs, conditions), "_day")
    return joined.mutate(age=joined.t_day - offset - joined.day)


def sums_within(keys: ir.Table, runs: ir.Table, days: int, **columns: str) -> ir.Table:
    """Per (account, t) of `keys`, for each ``name=column``, the sum of `column` over the `runs` (from
    `sum_by_run`) of the last `days` days before t.

    A join of its own, to the runs of that one window, where a group over the longest window's runs
    would test each (run, date) pair's age for each sum. At 10M events the records' 18 counts per object
    type meet 476k pairs that way instead of 1.4M, the feature events' 7- and 30-day counts 162k and
    438k instead of 1.29M, and the query's CPU is 4 % lower.
    """
    r = join_recent(keys, runs.select("account_key", "day", *dict.fromkeys(columns.values())), days)
    return r.group_by(list(KEYS)).aggregate(**{name: int64_sum(r[c]) for name, c in columns.items()})


@ibis.udf.scalar.builtin
def user_hash(user_id: dt.string) -> dt.int64:  # type: ignore[empty-body]
    """A 64-bit hash of the user id: users are grouped and sorted on it instead of the id itself.

    The per-user windows sort every user-day (5M rows at 10M events) on the account and the user; on
    an integer in place of the id string the login-days window runs about a third faster, the whole
    query 7–9 % (10M events, two sets of six and eight alternations). Two users of one account with
    equal hashes would count as one: for an account of n users the chance is about n²/2⁶⁵, some 10⁻⁸
    with a million users.

    `features.engine.connect` defines the function on each engine: DuckDB's ``hash`` (unsigned) and
    Spark's ``xxhash64``. ibis's own ``hash`` will not do: on Spark it is 32 bits.
    """


NEVER = -(10**6)  # a day number before any event: "no earlier day" in `with_days_around`
NEVER_AGAIN = 10**6  # a day number after any event: "no later day"


def with_days_around(rows: ir.Table, per: str, **offsets: int) -> ir.Table:
    """`rows` (account_key, `per` and day: a user's days, say, or a feature's) with, for each ``name=k``,
    the day k rows back in the same account and `per`, or `NEVER` when there are fewer (``name=0`` is the
    row's own day); for ``name=-k``, the day k rows on, or `NEVER_AGAIN`.

    On one row per user and day, ``previous=1`` gives the user's previous active day, ``next=-1`` the
    next one, and ``kth=k - 1`` the k-th most recent of the user's days up to this one (see
    `join_last_days` for what they answer). Where rows repeat a day, a row's neighbour may be on the same
    day: the rows with ``next > day`` are then the last of each user and day, each with the user's next
    day.
    """
    order = ibis.window(group_by=["account_key", per], order_by="day")

    def around(k: int) -> ir.IntegerValue:
        if k == 0:
            return rows.day
        if k > 0:
            return rows.day.lag(k, NEVER).over(order)
        return rows.day.lead(-k, NEVER_AGAIN).over(order)

    return rows.mutate(**{name: around(k) for name, k in offsets.items()})


def join_last_days(keys: ir.Table, rows: ir.Table, days: int, offset: int = 0) -> ir.Table:
    """For each observation date t of `keys`, each user's last active day before ``p = t - offset`` if it
    is at most `days` days before p; with ``age`` (``p - day``: 1 for the day before).

    `rows` has one row per account, user and day, with `next`, the user's next day (see
    `with_days_around`; a feature's days, per `feature_code`, serve as well). The last day before p is
    the row with ``day < p <= next``, so there is exactly one row per user active in ``[p - days, p)``,
    and per-user questions become counts of rows:

    - the users active in ``[p - w, p)`` are the rows with ``age <= w``;
    - the users with at least k active days there are the rows whose k-th most recent day (``kth``)
      is on or after ``p - w``.

    That is one row per user and date, however many days the user was active: on logs where users come
    back most days, a small fraction of the rows that joining every day of the window to t gives. `next`
    only ever says that the user's next day is on or after p, so nothing at or after p changes a row.
    """
    return join_recent(keys, rows, days, offset, through="next")


def join_before(keys: ir.Table, per_key: ir.Table, day_col: str) -> ir.Table:
    """Pair each (account, t) with the account's rows whose `day_col` is before t (small tables only)."""
    right = per_key.rename(_acct="account_key")
    joined = keys.join(right, [keys.account_key == right._acct, right[day_col] < keys.t_day])
    return without(joined, "_acct")


def summarize_old_buckets(keys: ir.Table, runs: ir.Table, measure: str, span: int) -> ir.Table:
    """Sum of `measure` and the last day over span-day buckets that end before the bucket holding t.

    `runs` comes from `sum_by_run`; runs never straddle a bucket boundary.

    Days in t's own bucket are less than `span` days before t, so `join_recent` sees them; adding
    ``sum_if(in_current_bucket(...), ...)`` from the recent rows gives the exact total before t.
    """
    buckets = runs.mutate(bucket=runs.day - runs.day % span)
    buckets = buckets.group_by(["account_key", "bucket"]).aggregate(
        old_total=int64_sum(buckets[measure]), old_last_day=buckets.last_day.max()
    )
    right = buckets.rename(_acct="account_key")
    before_current = right.bucket < keys.t_day - keys.t_day % span
    joined = keys.join(right, [keys.account_key == right._acct, before_current])
    return joined.group_by(list(KEYS)).aggregate(
        old_total=int64_sum(joined.old_total), old_last_day=joined.old_last_day.max()
    )


def trend_sums(r: ir.Table, value: ir.NumericValue, name: str, s: Settings, span: int) -> dict[str, ir.Value]:
    """The sums of a family's main count that its derived features need, over recent runs `r` (from
    `join_recent`): ``_{name}_cur`` and ``_{name}_prev``, the last `trend_days` and the ones before (the
    trend); ``_{name}_max``, the longest window (the tenure-scaled rate); ``_{name}_partial``, t's own
    bucket (with `summarize_old_buckets`, the lifetime total)."""
    t = s.trend_days
    return {
        f"_{name}_cur": sum_if(r.age <= t, value),
        f"_{name}_prev": sum_if((r.age > t) & (r.age <= 2 * t), value),
        f"_{name}_max": sum_if(r.age <= s.max_window, value),
        f"_{name}_partial": sum_if(in_current_bucket(r.day, r.t_day, span), value),
    }


def in_current_bucket(day: ir.IntegerValue, t_day: ir.IntegerValue, span: int) -> ir.BooleanValue:
    return day >= t_day - t_day % span


def position_in(value: ir.StringValue, options: tuple[str, ...]) -> ir.IntegerValue:
    """1 where `value` is the first of `options`, 2 for the second, ...; 0 for anything else.

    Filters and groups on such small integers are cheaper than on the strings: the strings are compared
    once per row here, not once per feature that tests them.
    """
    if not options:
        return ibis.literal(0)
    return ibis.cases(*[(value == option, i) for i, option in enumerate(options, 1)], else_=0)


def int64_sum(value: ir.NumericValue) -> ir.IntegerScalar:
    """The sum of `value` as a 64-bit integer on every engine.

    DuckDB sums integers into 128-bit HUGEINTs, and an aggregate over such sums (a window's total over
    per-run totals) runs at half the speed of one over BIGINTs. ibis already types the sum int64, so
    ``.cast("int64")`` would be dropped as a no-op; the cast is built as an operation instead.
    """
    return ops.Cast(value.sum(), to=dt.int64).to_expr()


def sum_if(cond: ir.BooleanValue, value: ir.NumericValue) -> ir.IntegerScalar:
    """Sum of `value` where `cond` holds; 0 (not null) when it never does."""
    return int64_sum(ibis.ifelse(cond, value, 0))


def count_if(rows: ir.Table, cond: ir.BooleanValue) -> ir.IntegerScalar:
    """The number of `rows` where `cond` holds (``COUNT(*) FILTER (WHERE ...)`` on DuckDB)."""
    return rows.count(where=cond)


def left_join_keys(left: ir.Table, *rights: ir.Table) -> ir.Table:
    """`left` left-joined to each of `rights` on (account_key, t_day), keeping the keys once."""
    joined = left
    for right in rights:
        joined = joined.left_join(right, [left[k] == right[k] for k in KEYS])
    return joined.select(
        *[left[c] for c in left.columns],
        *[right[c] for right in rights for c in right.columns if c not in KEYS],
    )


def zero(value: ir.NumericValue) -> ir.NumericValue:
    """Accounts with no events in a window count 0, not null."""
    return value.fill_null(0)


def ratio(num: ir.NumericValue, den: ir.NumericValue) -> ir.FloatingValue:
    """num / den as float64; null when den is 0 (Spark's ANSI mode would raise, DuckDB gives null)."""
    return num.cast("float64") / den.cast("float64").nullif(0.0)


def pct_change(current: ir.NumericValue, previous: ir.NumericValue) -> ir.FloatingValue:
    """(current - previous) / previous; null when previous is 0 (a rise from nothing has no percentage)."""
    return ratio(current - previous, previous)


def days_since(t_day: ir.IntegerValue, last_day: ir.IntegerValue) -> ir.FloatingValue:
    """Days from the last event's day to t (1 = yesterday); null when there was never an event."""
    return (t_day - last_day).cast("float64")
